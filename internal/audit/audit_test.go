package audit_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/clientip"
	"github.com/gatehouse-dev/gatehouse/internal/logbatch"
	"github.com/gatehouse-dev/gatehouse/internal/requestid"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// fakeStore is a Store whose methods are funcs; a nil add stores no counts.
type fakeStore struct {
	append func(events []storage.AuditEvent) error
	add    func(counts []storage.TokenCount) error
}

func (f fakeStore) AppendAudit(_ context.Context, events ...storage.AuditEvent) error {
	return f.append(events)
}

func (f fakeStore) AddTokenCounts(_ context.Context, counts ...storage.TokenCount) error {
	if f.add == nil {
		return nil
	}
	return f.add(counts)
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))

func issued(i int) audit.Event {
	return audit.Event{Time: t0.Add(time.Duration(i) * time.Second), Actor: "client-1", Action: storage.AuditTokenIssued,
		Target: "https://api.example.com/", Outcome: storage.OutcomeSuccess, RemoteAddr: netip.MustParseAddr("192.0.2.1"),
		RequestID: "req-1", Audience: "https://api.example.com/", Scope: "read write", JTI: "jti-1"}
}

func TestQueueIsBoundedAndCountsDrops(t *testing.T) {
	var dropped atomic.Int64
	r := audit.New(audit.Config{Store: openStore(t), QueueSize: 3, BatchSize: 100, Dropped: func(n int) { dropped.Add(int64(n)) }})
	for i := range 5 {
		ok := r.Enqueue(issued(i))
		if want := i < 3; ok != want {
			t.Errorf("Enqueue #%d = %v, want %v", i, ok, want)
		}
	}
	if r.Dropped() != 2 || dropped.Load() != 2 {
		t.Errorf("dropped = %d (callback %d), want 2", r.Dropped(), dropped.Load())
	}
}

func TestEnqueueAllocatesNothing(t *testing.T) {
	r := audit.New(audit.Config{Store: openStore(t), QueueSize: 10, BatchSize: 100})
	e := issued(0)
	allocs := testing.AllocsPerRun(100, func() {
		r.Enqueue(e) // the queue fills and then drops: both paths measured
	})
	if allocs != 0 {
		t.Errorf("Enqueue allocates %v times, want 0", allocs)
	}
}

func TestFlushStoresAndLogs(t *testing.T) {
	store := openStore(t)
	var logs bytes.Buffer
	r := audit.New(audit.Config{Store: store, Logger: slog.New(slog.NewTextHandler(&logs, nil)), BatchSize: 2})
	for i := range 5 {
		r.Enqueue(issued(i))
	}
	failed := issued(9)
	failed.Action, failed.Outcome, failed.Target, failed.Reason = storage.AuditAuthFailed, storage.OutcomeFailure, "client-1", "invalid_secret"
	failed.Audience, failed.Scope, failed.JTI = "", "", ""
	r.Enqueue(failed)
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, err := store.ListAudit(t.Context(), storage.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 {
		t.Fatalf("stored %d events, want 6", len(got))
	}
	if e := got[0]; e.Action != storage.AuditAuthFailed || e.Details["reason"] != "invalid_secret" || len(e.Details) != 1 {
		t.Errorf("newest = %+v, want auth.failed with only a reason", e)
	}
	e := got[1]
	want := map[string]string{"client_id": "client-1", "audience": "https://api.example.com/", "scope": "read write", "jti": "jti-1"}
	if e.RemoteAddr != "192.0.2.1" || e.RequestID != "req-1" || !e.Time.Equal(t0.Add(4*time.Second)) || len(e.Details) != len(want) {
		t.Errorf("token.issued stored as %+v", e)
	}
	for k, v := range want {
		if e.Details[k] != v {
			t.Errorf("details[%s] = %q, want %q", k, e.Details[k], v)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d log lines, want 6:\n%s", len(lines), logs.String())
	}
	for _, w := range []string{"msg=audit", "action=token.issued", "actor=client-1", "outcome=success", "remote_addr=192.0.2.1",
		"request_id=req-1", "details.jti=jti-1", "details.scope=\"read write\""} {
		if !strings.Contains(lines[0], w) {
			t.Errorf("log line lacks %s: %s", w, lines[0])
		}
	}
}

func TestAuditFillsFromContext(t *testing.T) {
	store := openStore(t)
	var logs bytes.Buffer
	r := audit.New(audit.Config{Store: store, Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Now: func() time.Time { return t0 }})
	ctx := clientip.NewContext(requestid.NewContext(t.Context(), "rid-7"), netip.MustParseAddr("2001:db8::1"))
	if err := r.Audit(ctx, storage.AuditEvent{Actor: "admin", Action: storage.AuditClientCreated, Target: "c9"}); err != nil {
		t.Fatal(err)
	}
	got, _ := store.ListAudit(t.Context(), storage.AuditFilter{ClientID: "c9"})
	if len(got) != 1 || got[0].RemoteAddr != "2001:db8::1" || got[0].RequestID != "rid-7" || got[0].Outcome != storage.OutcomeSuccess || !got[0].Time.Equal(t0) {
		t.Errorf("stored %+v", got)
	}
	if !strings.Contains(logs.String(), `"action":"client.created"`) {
		t.Errorf("no JSON log line: %s", logs.String())
	}
}

// countingWriter counts the writes it is given.
type countingWriter struct {
	writes int
	bytes.Buffer
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// TestBatchLogsInOneWrite: with a LogBatch, the lines of a batch of queued
// events reach the log in one write, not one system call per token.
func TestBatchLogsInOneWrite(t *testing.T) {
	var out countingWriter
	lb := logbatch.New(&out)
	r := audit.New(audit.Config{Store: fakeStore{append: func([]storage.AuditEvent) error { return nil }},
		Logger: slog.New(slog.NewTextHandler(lb, nil)), LogBatch: lb, BatchSize: 100})
	for i := range 250 {
		r.Enqueue(issued(i))
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "msg=audit"); n != 250 || out.writes != 3 {
		t.Errorf("%d audit lines in %d writes, want 250 in 3 (batches of 100)", n, out.writes)
	}
	// Events recorded one at a time (Audit) are logged at once.
	if err := r.Audit(t.Context(), storage.AuditEvent{Time: t0, Actor: "admin", Action: storage.AuditClientCreated,
		Target: "client-1", Outcome: storage.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	if out.writes != 4 {
		t.Errorf("%d writes after Audit, want 4", out.writes)
	}
}

// ctxStore is a Store whose AppendAudit is a func given the write's context.
type ctxStore struct {
	append func(ctx context.Context, events []storage.AuditEvent) error
}

func (f ctxStore) AppendAudit(ctx context.Context, events ...storage.AuditEvent) error {
	return f.append(ctx, events)
}

func (ctxStore) AddTokenCounts(context.Context, ...storage.TokenCount) error { return nil }

// TestShutdownDuringAWrite: a write cut short by the shutdown is neither a
// failure (no warning, no FlushFailed) nor a loss: the shutdown's own drain
// stores the batch.
func TestShutdownDuringAWrite(t *testing.T) {
	var (
		stored  atomic.Int64
		failed  atomic.Int64
		calls   atomic.Int64
		started = make(chan struct{}, 1)
	)
	store := ctxStore{append: func(ctx context.Context, events []storage.AuditEvent) error {
		if calls.Add(1) == 1 { // the first write waits for the shutdown
			started <- struct{}{}
			<-ctx.Done()
			return fmt.Errorf("append audit: %w", ctx.Err())
		}
		stored.Add(int64(len(events)))
		return nil
	}}
	var logs bytes.Buffer
	warnings := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r := audit.New(audit.Config{Store: store, Logger: warnings, BatchSize: 10, FlushFailed: func(error) { failed.Add(1) }})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.Run(ctx, time.Hour); close(done) }()
	for i := range 10 { // a full batch wakes the writer
		r.Enqueue(issued(i))
	}
	<-started
	cancel()
	<-done
	if stored.Load() != 10 || r.Dropped() != 0 || failed.Load() != 0 {
		t.Errorf("stored %d, dropped %d, failed writes %d; want 10, 0, 0", stored.Load(), r.Dropped(), failed.Load())
	}
	if logs.Len() > 0 {
		t.Errorf("a shutdown warned: %s", logs.String())
	}
}

func TestRunRetriesAFailedBatch(t *testing.T) {
	var (
		fail   atomic.Bool
		stored atomic.Int64
		calls  = make(chan int, 100)
	)
	fail.Store(true)
	store := fakeStore{append: func(events []storage.AuditEvent) error {
		failing := fail.Load()
		calls <- len(events)
		if failing {
			return errors.New("database is gone")
		}
		stored.Add(int64(len(events)))
		return nil
	}}
	var logs bytes.Buffer
	r := audit.New(audit.Config{Store: store, Logger: slog.New(slog.NewTextHandler(&logs, nil)), BatchSize: 10})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.Run(ctx, time.Hour); close(done) }()
	for i := range 10 { // a full batch wakes the writer
		r.Enqueue(issued(i))
	}
	if n := <-calls; n != 10 {
		t.Fatalf("first write of %d events, want 10", n)
	}
	fail.Store(false)
	cancel() // the shutdown flush writes the kept batch
	<-done
	if stored.Load() != 10 || r.Dropped() != 0 {
		t.Errorf("stored %d, dropped %d; want 10 and 0", stored.Load(), r.Dropped())
	}
	if !strings.Contains(logs.String(), "could not store audit events") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
}

func TestRetentionUnderLease(t *testing.T) {
	store := openStore(t)
	now := t0.Add(100 * 24 * time.Hour)
	ctx := t.Context()
	for _, age := range []time.Duration{91 * 24 * time.Hour, 90*24*time.Hour + time.Second, 89 * 24 * time.Hour} {
		if err := store.AppendAudit(ctx, storage.AuditEvent{Time: now.Add(-age), Actor: "cli", Action: storage.AuditClientCreated, Outcome: storage.OutcomeSuccess}); err != nil {
			t.Fatal(err)
		}
	}
	rec := audit.New(audit.Config{Store: store})
	c := &audit.Retention{Store: store, Keep: 90 * 24 * time.Hour, Now: func() time.Time { return now }, Holder: "A", Recorder: rec}
	// Another instance holds the lease: nothing happens.
	if ok, err := store.AcquireLease(ctx, audit.RetentionLease, "B", time.Minute, now); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if n, ran, err := c.Clean(ctx); err != nil || ran || n != 0 {
		t.Errorf("Clean while B holds the lease = %d, %v, %v; want 0, false", n, ran, err)
	}
	if err := store.ReleaseLease(ctx, audit.RetentionLease, "B"); err != nil {
		t.Fatal(err)
	}
	if n, ran, err := c.Clean(ctx); err != nil || !ran || n != 2 {
		t.Errorf("Clean = %d, %v, %v; want 2, true", n, ran, err)
	}
	left, _ := store.ListAudit(ctx, storage.AuditFilter{})
	if len(left) != 2 || left[0].Action != storage.AuditRetentionCleanup || left[0].Details["deleted"] != "2" {
		t.Errorf("left %+v, want the cleanup's own event and the young event", left)
	}
	// The lease was released: B may clean next.
	if ok, _ := store.AcquireLease(ctx, audit.RetentionLease, "B", time.Minute, now); !ok {
		t.Error("the lease was not released after the cleanup")
	}
}

func TestKeysRotated(t *testing.T) {
	store := openStore(t)
	r := audit.New(audit.Config{Store: store, Now: func() time.Time { return t0 }})
	r.KeysRotated(t.Context(), storage.ActorSystem, []storage.SigningKey{
		{KID: "old", Alg: "RS256", State: storage.KeyPrevious}, {KID: "cur", Alg: "RS256", State: storage.KeyCurrent},
		{KID: "nxt", Alg: "RS256", State: storage.KeyNext}, {KID: "gone", Alg: "RS256", State: storage.KeyRetired},
		{KID: "e1", Alg: "ES256", State: storage.KeyCurrent},
	})
	got, _ := store.ListAudit(t.Context(), storage.AuditFilter{})
	if len(got) != 2 {
		t.Fatalf("%d events, want one per algorithm: %+v", len(got), got)
	}
	rs := got[0]
	if rs.Details["alg"] != "RS256" { // same time: the later append (RS256 after ES256) comes first
		rs = got[1]
	}
	if rs.Action != storage.AuditKeyRotated || rs.Actor != storage.ActorSystem || rs.Target != "cur" ||
		rs.Details["previous_kid"] != "old" || rs.Details["next_kid"] != "nxt" {
		t.Errorf("RS256 event = %+v", rs)
	}
}

func TestJTIFromTheToken(t *testing.T) {
	store := openStore(t)
	var logs bytes.Buffer
	r := audit.New(audit.Config{Store: store, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	tok := "eyJhbGciOiJFUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"c","jti":"the-jti"}`)) + ".c2lnbmF0dXJl"
	e := issued(0)
	e.JTI, e.Reused = "", true
	e.SetToken(tok)
	r.Enqueue(e)
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, _ := store.ListAudit(t.Context(), storage.AuditFilter{})
	if len(got) != 1 || got[0].Details["jti"] != "the-jti" || got[0].Details["reused"] != "true" {
		t.Fatalf("stored %+v", got)
	}
	if strings.Contains(logs.String(), tok) || strings.Contains(fmt.Sprint(got), tok) {
		t.Error("the token itself was recorded")
	}
}

// TestTokenCounts: the written token events are counted per hour, client
// and audience — issued, reused and refused (auth.failed, audience "") —
// and admin events are not; counts that could not be added are kept and
// added with the next ones.
func TestTokenCounts(t *testing.T) {
	var stored []storage.TokenCount
	failAdd := true
	store := fakeStore{append: func([]storage.AuditEvent) error { return nil }, add: func(c []storage.TokenCount) error {
		if failAdd {
			return errors.New("database is gone")
		}
		stored = append(stored, c...)
		return nil
	}}
	r := audit.New(audit.Config{Store: store})
	hour := t0.UTC().Truncate(time.Hour)
	reused := issued(1)
	reused.Reused = true
	other := issued(2)
	other.Audience, other.Target = "https://other.example.com/", "https://other.example.com/"
	later := issued(3)
	later.Time = hour.Add(time.Hour)
	failed := audit.Event{Time: t0, Actor: "unknown", Action: storage.AuditAuthFailed, Target: "unknown", Outcome: storage.OutcomeFailure, Reason: "unknown_client"}
	admin := audit.Event{Time: t0, Actor: "cli", Action: storage.AuditClientCreated, Target: "client-1", Outcome: storage.OutcomeSuccess}
	for _, e := range []audit.Event{issued(0), reused, other, later, failed, failed, admin} {
		r.Enqueue(e)
	}
	if err := r.Flush(t.Context()); err == nil {
		t.Fatal("Flush with a failing AddTokenCounts: no error")
	}
	failAdd = false
	r.Enqueue(issued(4))
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []storage.TokenCount{
		{Hour: hour, ClientID: "client-1", Audience: "https://api.example.com/", Issued: 3, Reused: 1},
		{Hour: hour, ClientID: "client-1", Audience: "https://other.example.com/", Issued: 1},
		{Hour: hour, ClientID: "unknown", Refused: 2},
		{Hour: hour.Add(time.Hour), ClientID: "client-1", Audience: "https://api.example.com/", Issued: 1},
	}
	if got := storage.SortTokenCounts(stored); !slices.Equal(got, want) {
		t.Errorf("token counts\n got %v\nwant %v", got, want)
	}
}

// TestRetentionKeepsTokenEventsShort: with a token retention of 7 days
// and a retention of 90, an 8-day-old token.issued and auth.failed go, an
// 8-day-old admin change and a 6-day-old token event stay, and hourly
// counts go only after 90 days.
func TestRetentionKeepsTokenEventsShort(t *testing.T) {
	store := openStore(t)
	now := t0.Add(100 * 24 * time.Hour)
	ctx := t.Context()
	day := 24 * time.Hour
	ev := func(age time.Duration, action string) storage.AuditEvent {
		return storage.AuditEvent{Time: now.Add(-age), Actor: "c1", Action: action, Target: "x", Outcome: storage.OutcomeSuccess}
	}
	if err := store.AppendAudit(ctx, ev(8*day, storage.AuditTokenIssued), ev(8*day, storage.AuditAuthFailed),
		ev(8*day, storage.AuditClientCreated), ev(6*day, storage.AuditTokenIssued)); err != nil {
		t.Fatal(err)
	}
	hour := func(age time.Duration) time.Time { return now.Add(-age).UTC().Truncate(time.Hour) }
	if err := store.AddTokenCounts(ctx, storage.TokenCount{Hour: hour(91 * day), ClientID: "c1", Audience: "x", Issued: 5},
		storage.TokenCount{Hour: hour(8 * day), ClientID: "c1", Audience: "x", Issued: 1}); err != nil {
		t.Fatal(err)
	}
	c := &audit.Retention{Store: store, Keep: 90 * day, TokenKeep: 7 * day, Now: func() time.Time { return now }, Holder: "A"}
	if n, ran, err := c.Clean(ctx); err != nil || !ran || n != 2 {
		t.Fatalf("Clean = %d, %v, %v; want the 2 old token events", n, ran, err)
	}
	var left []string
	events, _ := store.ListAudit(ctx, storage.AuditFilter{})
	for _, e := range events {
		left = append(left, e.Action)
	}
	if !slices.Equal(left, []string{storage.AuditTokenIssued, storage.AuditClientCreated}) {
		t.Errorf("left %v, want the young token event and the old admin change", left)
	}
	counts, _ := store.ListTokenCounts(ctx, storage.TokenCountFilter{})
	if len(counts) != 1 || !counts[0].Hour.Equal(hour(8*day)) {
		t.Errorf("counts left %v, want the 8-day-old hour only", counts)
	}
}
