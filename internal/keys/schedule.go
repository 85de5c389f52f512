package keys

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// RotationLease is the name of the lease (storage.Storage.AcquireLease) that
// an instance holds while it rotates keys on schedule: of many instances on
// one database only one rotates at a time (ARCHITECTURE.md).
const RotationLease = "key-rotation"

// DefaultRotationLeaseTTL is how long the rotation lease is taken for: ample
// for one rotation, short enough that a crashed holder blocks the others
// for a few minutes only.
const DefaultRotationLeaseTTL = 5 * time.Minute

// Leaser is the part of storage.Storage the scheduler needs: the database
// lock among instances.
type Leaser interface {
	// AcquireLease takes or renews name for holder until now+ttl, and
	// reports false while another holder's lease runs.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error)
	// ReleaseLease gives up holder's lease; a no-op for a non-holder.
	ReleaseLease(ctx context.Context, name, holder string) error
}

var _ Leaser = storage.Storage(nil)

// ScheduleConfig configures a Scheduler. Keys, Leases, Period and
// MaxTokenLifetime are required.
type ScheduleConfig struct {
	// Keys is the instance's key manager; the Scheduler rotates through it.
	Keys *Manager
	// Leases is the store that holds RotationLease.
	Leases Leaser
	// Period is how long a key signs: an algorithm whose current key became
	// current (ActivatedAt) at least Period ago is due. It must be longer
	// than the manager's JWKS max-age, so that the next key (created at the
	// previous rotation) has been published a full cache lifetime when it
	// starts signing.
	Period time.Duration
	// Interval is how often Run checks; default CheckInterval(Period).
	Interval time.Duration
	// LeaseTTL is how long the lease is taken for; default
	// DefaultRotationLeaseTTL.
	LeaseTTL time.Duration
	// Holder names this instance in the lease; default the host name, the
	// process ID and random hex, unique per Scheduler.
	Holder string
	// MaxTokenLifetime returns, at rotation time, how long the outgoing key
	// stays published (RotateOptions.MaxTokenLifetime): the longest token
	// lifetime of any API plus a margin for the other instances to notice.
	MaxTokenLifetime func(ctx context.Context) (time.Duration, error)
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// Rand is the source of the default Holder; default crypto/rand.Reader.
	Rand io.Reader
	// Logger receives rotations and failures (kids and algorithms, never key
	// material); default discard.
	Logger *slog.Logger
}

// CheckInterval is the default interval between checks for a rotation
// period: a tenth of it, at least 100ms and at most a minute, so that a
// rotation happens within a minute of falling due.
func CheckInterval(period time.Duration) time.Duration {
	return min(time.Minute, max(period/10, 100*time.Millisecond))
}

// Scheduler rotates the signing keys of every algorithm whose current key
// has signed for a full period. Every instance runs one; the rotation lease
// makes sure only one of them rotates at a time, and a check under the
// lease, on keys freshly loaded from the store, that only one rotates per
// period. The next key that a rotation promotes was published by the
// previous rotation, a period earlier, so verifiers have it cached; Rotate's
// own guard (ErrRotateTooSoon) refuses a next key younger than the JWKS
// max-age, and the Scheduler waits for it instead.
type Scheduler struct {
	keys     *Manager
	leases   Leaser
	period   time.Duration
	interval time.Duration
	ttl      time.Duration
	holder   string
	lifetime func(ctx context.Context) (time.Duration, error)
	now      func() time.Time
	log      *slog.Logger

	heldMu sync.Mutex
	held   map[string]string // alg → the kid of the oldest previous key it waits for, as last logged
}

// NewScheduler checks cfg and returns a Scheduler; call Run, or Check.
func NewScheduler(cfg ScheduleConfig) (*Scheduler, error) {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if cfg.Keys == nil {
		bad("Keys is required")
	}
	if cfg.Leases == nil {
		bad("Leases is required")
	}
	if cfg.MaxTokenLifetime == nil {
		bad("MaxTokenLifetime is required")
	}
	if cfg.Period <= 0 {
		bad("period %s must be positive", cfg.Period)
	} else if cfg.Keys != nil && cfg.Period <= cfg.Keys.JWKSMaxAge() {
		bad("period %s must be longer than the JWKS max-age %s", cfg.Period, cfg.Keys.JWKSMaxAge())
	}
	if cfg.Interval < 0 || cfg.LeaseTTL < 0 {
		bad("interval %s and lease ttl %s must not be negative", cfg.Interval, cfg.LeaseTTL)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("key rotation schedule: %w", errors.Join(problems...))
	}
	s := &Scheduler{
		keys:     cfg.Keys,
		leases:   cfg.Leases,
		period:   cfg.Period,
		interval: cfg.Interval,
		ttl:      cfg.LeaseTTL,
		holder:   cfg.Holder,
		lifetime: cfg.MaxTokenLifetime,
		now:      cfg.Now,
		log:      cfg.Logger,
	}
	if s.interval == 0 {
		s.interval = CheckInterval(s.period)
	}
	if s.ttl == 0 {
		s.ttl = DefaultRotationLeaseTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.holder == "" {
		r := cfg.Rand
		if r == nil {
			r = rand.Reader
		}
		b := make([]byte, 8)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("key rotation schedule: lease holder name: %w", err)
		}
		host, _ := os.Hostname()
		s.holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	return s, nil
}

// Holder returns the name this Scheduler takes the rotation lease under.
func (s *Scheduler) Holder() string { return s.holder }

// Interval returns how often Run checks.
func (s *Scheduler) Interval() time.Duration { return s.interval }

// Run checks at once and then every Interval until ctx is done, logging
// what Check rotated and any failure (a failed check is tried again at the
// next interval).
func (s *Scheduler) Run(ctx context.Context) {
	s.log.Info("key rotation scheduled", "period", s.period.String(), "check_interval", s.interval.String())
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		if _, err := s.Check(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("scheduled key rotation failed; trying again later", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check rotates the algorithms that are due and returns the keys it created
// or changed (without private keys); nothing when none is due or another
// instance holds the rotation lease. Deciding that none is due takes the
// loaded key set only and touches no database. When one is, Check takes the
// lease, loads the keys from the store, checks again (another instance may
// have rotated in the meantime), rotates the due algorithms whose next key
// has been published for the JWKS max-age, and releases the lease. It gives
// up when the lease's ttl has passed since it began.
func (s *Scheduler) Check(ctx context.Context) ([]storage.SigningKey, error) {
	if len(s.due(s.keys.Keys(), s.now())) == 0 {
		return nil, nil
	}
	// The work must end before the lease does, or another instance could
	// take over while this one still writes; a database that stops
	// answering fails the check instead of stalling Run.
	ctx, cancel := context.WithTimeout(ctx, s.ttl)
	defer cancel()
	took, err := s.leases.AcquireLease(ctx, RotationLease, s.holder, s.ttl, s.now())
	if err != nil {
		return nil, fmt.Errorf("scheduled key rotation: %w", err)
	}
	if !took {
		s.log.Debug("keys due for rotation; another instance holds the rotation lease")
		return nil, nil
	}
	defer func() {
		// Release even when ctx ended mid-rotation (shutdown), or the other
		// instances would wait for the lease to expire.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.leases.ReleaseLease(rctx, RotationLease, s.holder); err != nil {
			s.log.Warn("release the key rotation lease; it expires by itself", "err", err, "ttl", s.ttl.String())
		}
	}()

	if err := s.keys.Load(ctx); err != nil {
		return nil, fmt.Errorf("scheduled key rotation: %w", err)
	}
	wait, err := s.keys.CacheWait(ctx)
	if err != nil {
		return nil, fmt.Errorf("scheduled key rotation: %w", err)
	}
	rows := s.keys.Keys()
	now := s.now()
	var ready, unpublished []string
	for _, alg := range s.due(rows, now) {
		next, ok := findKey(rows, alg, storage.KeyNext)
		switch {
		case !ok:
			unpublished = append(unpublished, alg)
		case now.Sub(next.CreatedAt) < wait:
			s.log.Info("key rotation due; waiting until the next key has been published for the longest JWKS max-age of the instances",
				"alg", alg, "next_kid", next.KID, "published_at", next.CreatedAt, "jwks_max_age", wait.String())
		default:
			ready = append(ready, alg)
		}
	}
	if len(unpublished) > 0 {
		// Promoting no next key would sign with a key no verifier has: publish
		// one now, and rotate once it has been published long enough.
		s.log.Warn("key rotation due but no next key is published; publishing one first", "algs", unpublished)
		if err := s.keys.Ensure(ctx, unpublished...); err != nil {
			return nil, fmt.Errorf("scheduled key rotation: %w", err)
		}
	}
	if len(ready) == 0 {
		return nil, nil
	}
	lifetime, err := s.lifetime(ctx)
	if err != nil {
		return nil, fmt.Errorf("scheduled key rotation: max token lifetime: %w", err)
	}
	changed, err := s.keys.Rotate(ctx, RotateOptions{Algs: ready, MaxTokenLifetime: lifetime})
	if err != nil {
		return changed, fmt.Errorf("scheduled key rotation: %w", err)
	}
	for _, alg := range ready {
		attrs := []any{"alg", alg, "period", s.period.String()}
		for _, k := range changed {
			if k.Alg != alg {
				continue
			}
			switch k.State {
			case storage.KeyCurrent:
				attrs = append(attrs, "current_kid", k.KID)
			case storage.KeyNext:
				attrs = append(attrs, "next_kid", k.KID)
			case storage.KeyPrevious:
				attrs = append(attrs, "previous_kid", k.KID, "previous_until", k.RetireAt)
			}
		}
		s.log.Info("signing keys rotated on schedule", attrs...)
	}
	return changed, nil
}

// due returns, in SupportedAlgs order, the algorithms whose current key in
// rows became current at least a period before now. An algorithm whose
// JWKS carries MaxPreviousKeys previous keys is held, not due, until the
// oldest retires: the period is then effectively the longest token
// lifetime divided by MaxPreviousKeys.
func (s *Scheduler) due(rows []storage.SigningKey, now time.Time) []string {
	var out []string
	for _, k := range rows {
		if k.State != storage.KeyCurrent || slices.Contains(out, k.Alg) || checkAlg(k.Alg) != nil {
			continue
		}
		since := k.ActivatedAt
		if since.IsZero() {
			since = k.CreatedAt
		}
		if now.Before(since.Add(s.period)) {
			continue
		}
		if live := livePrevious(rows, k.Alg, now); len(live) >= MaxPreviousKeys {
			s.hold(k.Alg, live[0])
			continue
		}
		s.hold(k.Alg, storage.SigningKey{})
		out = append(out, k.Alg)
	}
	slices.SortFunc(out, func(a, b string) int {
		return slices.Index(SupportedAlgs, a) - slices.Index(SupportedAlgs, b)
	})
	return out
}

// hold logs, once per oldest key, that alg's rotation waits for oldest to
// retire; a zero oldest ends the hold.
func (s *Scheduler) hold(alg string, oldest storage.SigningKey) {
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	if s.held[alg] == oldest.KID {
		return
	}
	if s.held == nil {
		s.held = map[string]string{}
	}
	s.held[alg] = oldest.KID
	if oldest.KID != "" {
		s.log.Warn("key rotation due but held: the JWKS carries the most previous keys it may; it rotates when the oldest retires (lengthen --key-rotation-period, or shorten the longest token lifetime)",
			"alg", alg, "period", s.period.String(), "max_previous_keys", MaxPreviousKeys, "oldest_kid", oldest.KID, "retire_at", oldest.RetireAt)
	}
}

// findKey returns the first of rows of alg in state.
func findKey(rows []storage.SigningKey, alg, state string) (storage.SigningKey, bool) {
	for _, r := range rows {
		if r.Alg == alg && r.State == state {
			return r, true
		}
	}
	return storage.SigningKey{}, false
}
