package audit

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/clientip"
	"github.com/gatehouse-dev/gatehouse/internal/requestid"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Store is where a Recorder writes events and the hourly token counts.
type Store interface {
	AppendAudit(ctx context.Context, events ...storage.AuditEvent) error
	AddTokenCounts(ctx context.Context, counts ...storage.TokenCount) error
}

var _ Store = storage.Storage(nil)

// Defaults of Config.
const (
	DefaultQueueSize     = 8192
	DefaultBatchSize     = 512
	DefaultFlushInterval = time.Second
	// flushTimeout bounds each batch write, so that a database that stops
	// answering holds neither the queue nor the shutdown forever.
	flushTimeout = 5 * time.Second
	// yieldEvery is how many events take converts between pauses: 16 keep
	// each slice of a batch's conversion and logging near 0.1 ms on one
	// core (64 made the tail at half load about a quarter longer:
	// docs/performance.md).
	yieldEvery = 16
	// DefaultCountInterval is how often the hourly token counts gathered
	// from the written events are added to the store: one upsert per
	// client and API per interval, whatever the token rate.
	DefaultCountInterval = 10 * time.Second
)

// Config configures a Recorder. Store is required.
type Config struct {
	Store  Store
	Logger *slog.Logger
	Now    func() time.Time
	// QueueSize bounds the events waiting to be written (DefaultQueueSize).
	QueueSize int
	// BatchSize is the most events written in one transaction
	// (DefaultBatchSize); a queue this full is written without waiting for
	// the next tick.
	BatchSize int
	// Dropped, if set, is told of every event dropped because the queue was
	// full or a batch could not be written (a metrics counter).
	Dropped func(n int)
	// FlushFailed, if set, is told of every failed batch write.
	FlushFailed func(error)
	// LogBatch, if set, is held while the writer logs a batch of queued
	// events, so that their lines reach the log in one write instead of a
	// system call per token (a *logbatch.Writer under Logger's handler).
	LogBatch LineBatcher
	// CountInterval is how often Run adds the token counts
	// (DefaultCountInterval).
	CountInterval time.Duration
}

// LineBatcher gathers the lines written between Hold and Release.
type LineBatcher interface {
	Hold()
	Release()
}

// Event is one audit event as the hot path records it: plain values, no
// map, so that queueing it allocates nothing. Scope, JTI and Reason become
// the stored event's details (with client_id and audience for an issued
// token); Details adds further non-secret facts.
type Event struct {
	Time       time.Time
	Actor      string
	Action     string
	Target     string
	Outcome    string
	RemoteAddr netip.Addr
	RequestID  string
	// Audience and Scope are an issued token's (token.issued).
	Audience string
	Scope    string
	// JTI is an issued token's jti claim (not a secret: it names the token
	// without granting anything).
	JTI string
	// Reason is a failure's reason class (auth.failed).
	Reason string
	// Reused marks a token.issued that handed out a token issued before
	// (token reuse).
	Reused  bool
	Details map[string]string

	// token is the issued access token, held in memory only until the
	// writer reads its jti (SetToken); it is never stored or logged.
	token string
}

// SetToken lets the writer take the jti from the issued token tok, so that
// the hot path need not make a string of it; tok itself is never recorded.
func (e *Event) SetToken(tok string) { e.token = tok }

// Recorder queues, logs and stores audit events. Its methods are safe for
// concurrent use.
type Recorder struct {
	cfg     Config
	queue   chan Event
	wake    chan struct{}
	dropped atomic.Int64

	countsMu sync.Mutex
	counts   map[countKey]storage.TokenCount // written events not yet counted in the store
}

// countKey is the hour, client and audience of a storage.TokenCount.
type countKey struct {
	hour             time.Time
	client, audience string
}

// New returns a Recorder for cfg; call Run to write queued events.
func New(cfg Config) *Recorder {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.CountInterval <= 0 {
		cfg.CountInterval = DefaultCountInterval
	}
	return &Recorder{cfg: cfg, queue: make(chan Event, cfg.QueueSize), wake: make(chan struct{}, 1)}
}

// Enqueue queues e for the background writer without blocking and reports
// whether it did: when the queue is full the event is dropped and counted
// (Config.Dropped, Dropped). It is the token hot path's way to record.
func (r *Recorder) Enqueue(e Event) bool {
	select {
	case r.queue <- e:
		if len(r.queue) >= r.cfg.BatchSize {
			select {
			case r.wake <- struct{}{}:
			default:
			}
		}
		return true
	default:
		r.drop(1)
		return false
	}
}

// Dropped returns how many events were dropped so far.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

func (r *Recorder) drop(n int) {
	r.dropped.Add(int64(n))
	if r.cfg.Dropped != nil {
		r.cfg.Dropped(n)
	}
}

// Audit records an admin change at once: the event's time (now when zero),
// remote address and request ID (from ctx, as the HTTP middleware stored
// them) are filled in, the log line written and the event stored. A failed
// write is logged (the log line still records the event) and returned.
func (r *Recorder) Audit(ctx context.Context, e storage.AuditEvent) error {
	if e.Time.IsZero() {
		e.Time = r.cfg.Now()
	}
	if e.RemoteAddr == "" {
		if a, ok := clientip.FromContext(ctx); ok && a.IsValid() {
			e.RemoteAddr = a.String()
		}
	}
	if e.RequestID == "" {
		e.RequestID = requestid.FromContext(ctx)
	}
	if e.Outcome == "" {
		e.Outcome = storage.OutcomeSuccess
	}
	r.log(ctx, e)
	if err := r.cfg.Store.AppendAudit(ctx, e); err != nil {
		r.cfg.Logger.Warn("could not store an audit event", "action", e.Action, "error", err)
		return err
	}
	return nil
}

// Stored converts a queued event into the stored form.
func (e *Event) Stored() storage.AuditEvent {
	s := storage.AuditEvent{
		Time: e.Time.UTC(), Actor: e.Actor, Action: e.Action, Target: e.Target, Outcome: e.Outcome,
		RequestID: e.RequestID,
	}
	if e.RemoteAddr.IsValid() {
		s.RemoteAddr = e.RemoteAddr.String()
	}
	n := len(e.Details)
	if n > 0 || e.Action == storage.AuditTokenIssued || e.JTI != "" || e.token != "" || e.Reason != "" {
		s.Details = make(map[string]string, n+5)
		for k, v := range e.Details {
			s.Details[k] = v
		}
	}
	if e.Action == storage.AuditTokenIssued {
		s.Details["client_id"] = e.Actor
		s.Details["audience"] = e.Audience
		s.Details["scope"] = e.Scope
	}
	if e.JTI == "" && e.token != "" {
		e.JTI = jtiOf(e.token)
	}
	if e.JTI != "" {
		s.Details["jti"] = e.JTI
	}
	if e.Reused {
		s.Details["reused"] = "true"
	}
	if e.Reason != "" {
		s.Details["reason"] = e.Reason
	}
	return s
}

// log writes e as one structured line (msg=audit), its details as a group.
func (r *Recorder) log(ctx context.Context, e storage.AuditEvent) {
	if !r.cfg.Logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs,
		slog.String("action", e.Action), slog.String("actor", e.Actor), slog.String("target", e.Target),
		slog.String("outcome", e.Outcome), slog.Time("event_time", e.Time.UTC()))
	if e.RemoteAddr != "" {
		attrs = append(attrs, slog.String("remote_addr", e.RemoteAddr))
	}
	if e.RequestID != "" {
		attrs = append(attrs, slog.String("request_id", e.RequestID))
	}
	if len(e.Details) > 0 {
		d := make([]any, 0, 2*len(e.Details))
		for _, k := range sortedKeys(e.Details) {
			d = append(d, slog.String(k, e.Details[k]))
		}
		attrs = append(attrs, slog.Group("details", d...))
	}
	r.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "audit", attrs...)
}

// Flush writes every queued event now, in batches, and adds their token
// counts.
func (r *Recorder) Flush(ctx context.Context) error {
	for {
		batch := r.take()
		if len(batch) == 0 {
			return r.addCounts(ctx)
		}
		if err := r.write(ctx, batch); err != nil {
			return err
		}
	}
}

// take removes up to BatchSize queued events, logging each under one
// LogBatch hold. It pauses for waiting requests every yieldEvery events
// (storage.YieldCPU): converting a full batch takes milliseconds on one core.
func (r *Recorder) take() []storage.AuditEvent {
	if r.cfg.LogBatch != nil {
		r.cfg.LogBatch.Hold()
		defer r.cfg.LogBatch.Release()
	}
	var batch []storage.AuditEvent
	for len(batch) < r.cfg.BatchSize {
		select {
		case e := <-r.queue:
			s := e.Stored()
			r.log(context.Background(), s)
			batch = append(batch, s)
			if len(batch)%yieldEvery == 0 {
				storage.YieldCPU()
			}
		default:
			return batch
		}
	}
	return batch
}

func (r *Recorder) write(ctx context.Context, batch []storage.AuditEvent) error {
	wctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	if err := r.cfg.Store.AppendAudit(wctx, batch...); err != nil {
		return err
	}
	r.count(batch)
	return nil
}

// count adds the token events of a written batch to the hourly counts:
// token.issued (and reused) per client and audience, auth.failed as
// refused per client.
func (r *Recorder) count(batch []storage.AuditEvent) {
	r.countsMu.Lock()
	defer r.countsMu.Unlock()
	for i := range batch {
		e := &batch[i]
		var k countKey
		switch e.Action {
		case storage.AuditTokenIssued:
			k = countKey{e.Time.UTC().Truncate(time.Hour), e.Actor, e.Target}
		case storage.AuditAuthFailed:
			k = countKey{e.Time.UTC().Truncate(time.Hour), e.Actor, ""}
		default:
			continue
		}
		if r.counts == nil {
			r.counts = map[countKey]storage.TokenCount{}
		}
		c, ok := r.counts[k]
		if !ok {
			c = storage.TokenCount{Hour: k.hour, ClientID: k.client, Audience: k.audience}
		}
		switch {
		case e.Action == storage.AuditAuthFailed:
			c.Refused++
		case e.Details["reused"] == "true":
			c.Issued++
			c.Reused++
		default:
			c.Issued++
		}
		r.counts[k] = c
	}
}

// addCounts adds the gathered token counts to the store in one call; on
// failure they are kept, to be added with the next ones.
func (r *Recorder) addCounts(ctx context.Context) error {
	r.countsMu.Lock()
	pending := r.counts
	r.counts = nil
	r.countsMu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	list := make([]storage.TokenCount, 0, len(pending))
	for _, c := range pending {
		list = append(list, c)
	}
	wctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	err := r.cfg.Store.AddTokenCounts(wctx, list...)
	if err == nil {
		return nil
	}
	r.countsMu.Lock()
	defer r.countsMu.Unlock()
	for k, c := range r.counts { // counted meanwhile
		p, ok := pending[k]
		if ok {
			c.Issued, c.Reused, c.Refused = c.Issued+p.Issued, c.Reused+p.Reused, c.Refused+p.Refused
		}
		pending[k] = c
	}
	r.counts = pending
	return fmt.Errorf("add token counts: %w", err)
}

// Run writes queued events every interval (DefaultFlushInterval when not
// positive), and at once when a batch is full, until ctx is done; then it
// writes what is left with a short deadline, so that a graceful shutdown
// loses nothing. A batch that cannot be written is kept for the next tick,
// up to QueueSize events; beyond that the oldest are dropped and counted.
// Failures are logged once per outage.
func (r *Recorder) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	counted := time.NewTicker(r.cfg.CountInterval)
	defer counted.Stop()
	countsFailing := false
	addCounts := func(ctx context.Context) {
		err := r.addCounts(ctx)
		switch {
		case err != nil && !countsFailing && ctx.Err() == nil:
			countsFailing = true
			r.cfg.Logger.Warn("could not store the hourly token counts; will retry", "error", err)
		case err == nil && countsFailing:
			countsFailing = false
			r.cfg.Logger.Info("storing the hourly token counts again")
		}
	}
	var pending []storage.AuditEvent // failed batches, oldest first
	failing := false
	drain := func(ctx context.Context) {
		for {
			if len(pending) < r.cfg.BatchSize {
				pending = append(pending, r.take()...)
			}
			if len(pending) == 0 {
				return
			}
			n := min(len(pending), r.cfg.BatchSize)
			if err := r.write(ctx, pending[:n]); err != nil {
				if ctx.Err() != nil {
					// Shutting down: the last drain, with a deadline
					// of its own, writes the batch.
					return
				}
				if r.cfg.FlushFailed != nil {
					r.cfg.FlushFailed(err)
				}
				if !failing {
					failing = true
					r.cfg.Logger.Warn("could not store audit events; will retry", "error", err)
				}
				if over := len(pending) - r.cfg.QueueSize; over > 0 {
					r.drop(over)
					pending = pending[over:]
				}
				return
			}
			if failing {
				failing = false
				r.cfg.Logger.Info("storing audit events again")
			}
			pending = pending[n:]
		}
	}
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
			drain(fctx)
			addCounts(fctx)
			cancel()
			if len(pending) > 0 {
				r.cfg.Logger.Warn("audit events lost at shutdown", "count", len(pending))
				r.drop(len(pending))
			}
			return
		case <-t.C:
			drain(ctx)
		case <-r.wake:
			drain(ctx)
		case <-counted.C:
			addCounts(ctx)
		}
	}
}

// KeysRotated records one key.rotated event per key that a rotation made
// current (its target the new kid, with the algorithm and the kids of the
// key it replaced and of the next key), by actor.
func (r *Recorder) KeysRotated(ctx context.Context, actor string, changed []storage.SigningKey) {
	byAlg := map[string]map[string]string{}
	for _, k := range changed {
		d := byAlg[k.Alg]
		if d == nil {
			d = map[string]string{"alg": k.Alg}
			byAlg[k.Alg] = d
		}
		switch k.State {
		case storage.KeyCurrent:
			d["kid"] = k.KID
		case storage.KeyPrevious:
			d["previous_kid"] = k.KID
		case storage.KeyNext:
			d["next_kid"] = k.KID
		}
	}
	algs := make([]string, 0, len(byAlg))
	for alg := range byAlg {
		algs = append(algs, alg)
	}
	slices.Sort(algs)
	for _, alg := range algs {
		d := byAlg[alg]
		_ = r.Audit(ctx, storage.AuditEvent{Actor: actor, Action: storage.AuditKeyRotated, Target: d["kid"], Outcome: storage.OutcomeSuccess, Details: d})
	}
}
