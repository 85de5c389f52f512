package keys

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// Schedule of the tests: a key signs for 30 days; verifiers cache the JWKS
// for an hour; the outgoing key stays published for 25 hours.
const (
	testPeriod   = 30 * 24 * time.Hour
	testMaxAge   = time.Hour
	testLifetime = 25 * time.Hour
)

// schedEnv is a real SQLite store, a clock and a key generator that the
// managers and schedulers of one test share, as the instances of one
// deployment share a database.
type schedEnv struct {
	store *sqlite.Store
	clock *fakeClock
	gen   func(string) (crypto.Signer, error)
}

func newSchedEnv(t *testing.T) *schedEnv {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &schedEnv{store: s, clock: newClock(), gen: poolGenerator()}
}

// instance is one gatehouse instance's manager and scheduler, and its log.
type instance struct {
	keys  *Manager
	sched *Scheduler
	log   *testutil.Buffer
}

// instance returns a manager with the keys loaded and a scheduler on the
// store, logging JSON to its own buffer; leases, if not nil, stands
// between the scheduler and the store.
func (e *schedEnv) instance(t *testing.T, holder string, leases Leaser) *instance {
	t.Helper()
	buf := &testutil.Buffer{}
	log := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := New(Config{Store: e.store, MasterKey: testMasterKey, Now: e.clock.Now, Generate: e.gen, JWKSMaxAge: testMaxAge, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if leases == nil {
		leases = e.store
	}
	s, err := NewScheduler(ScheduleConfig{
		Keys: m, Leases: leases, Period: testPeriod, Holder: holder, Now: e.clock.Now, Logger: log,
		MaxTokenLifetime: func(context.Context) (time.Duration, error) { return testLifetime, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return &instance{keys: m, sched: s, log: buf}
}

// ensure creates the keys of algs now, as the first start does.
func (e *schedEnv) ensure(t *testing.T, algs ...string) {
	t.Helper()
	if err := e.instance(t, "setup", nil).keys.Ensure(t.Context(), algs...); err != nil {
		t.Fatal(err)
	}
}

func (e *schedEnv) keys(t *testing.T) []storage.SigningKey {
	t.Helper()
	ks, err := e.store.ListKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// leaseFree reports whether another holder could take the rotation lease
// now (and releases it again).
func (e *schedEnv) leaseFree(t *testing.T) bool {
	t.Helper()
	took, err := e.store.AcquireLease(t.Context(), RotationLease, "probe", time.Minute, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if took {
		if err := e.store.ReleaseLease(t.Context(), RotationLease, "probe"); err != nil {
			t.Fatal(err)
		}
	}
	return took
}

// check runs one Check and fails on error.
func (in *instance) check(t *testing.T) []storage.SigningKey {
	t.Helper()
	changed, err := in.sched.Check(t.Context())
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return changed
}

// logged returns the JSON log records with message msg.
func (in *instance) logged(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(in.log.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

const rotatedMsg = "signing keys rotated on schedule"

// wantRotated checks that alg went through exactly one rotation from
// before (its keys as they were) at now: the old next key signs, the old
// current key is previous for testLifetime, a new next key is published.
func wantRotated(t *testing.T, after, before []storage.SigningKey, alg string, now time.Time) {
	t.Helper()
	oldCur, oldNext := only(t, before, alg, storage.KeyCurrent), only(t, before, alg, storage.KeyNext)
	cur, next := only(t, after, alg, storage.KeyCurrent), only(t, after, alg, storage.KeyNext)
	if cur.KID != oldNext.KID || !cur.ActivatedAt.Equal(now) {
		t.Errorf("%s current key %s activated %v, want the old next key %s activated %v", alg, cur.KID, cur.ActivatedAt, oldNext.KID, now)
	}
	var kept []string // previous keys of before still published at now
	for _, k := range byState(before, alg, storage.KeyPrevious) {
		if now.Before(k.RetireAt) {
			kept = append(kept, k.KID)
		}
	}
	var prev []string
	for _, k := range byState(after, alg, storage.KeyPrevious) {
		prev = append(prev, k.KID)
		if k.KID == oldCur.KID && !k.RetireAt.Equal(now.Add(testLifetime)) {
			t.Errorf("%s previous key %s published until %v, want %v", alg, k.KID, k.RetireAt, now.Add(testLifetime))
		}
	}
	if want := append(kept, oldCur.KID); !slices.Equal(prev, want) {
		t.Errorf("%s previous keys %v, want %v", alg, prev, want)
	}
	if next.KID == oldNext.KID || !next.CreatedAt.Equal(now) {
		t.Errorf("%s next key %s created %v, want a new key created %v", alg, next.KID, next.CreatedAt, now)
	}
}

func TestScheduleRotatesWhenDue(t *testing.T) {
	e := newSchedEnv(t)
	e.ensure(t, RS256, ES256)
	in := e.instance(t, "A", nil)
	before := e.keys(t)

	e.clock.Advance(testPeriod)
	changed := in.check(t)
	now := e.clock.Now()
	after := e.keys(t)
	for _, alg := range []string{RS256, ES256} {
		wantRotated(t, after, before, alg, now)
		cur := only(t, after, alg, storage.KeyCurrent)
		if kid := signedKID(t, in.keys, alg); kid != cur.KID {
			t.Errorf("%s: the instance signs with %s, want the new current key %s", alg, kid, cur.KID)
		}
	}
	if len(after) != 6 || len(changed) != 6 {
		t.Errorf("%d keys stored, %d changed; want 6 and 6 (per alg: previous, current, new next)", len(after), len(changed))
	}
	for _, k := range changed {
		if k.PrivateKey != nil {
			t.Errorf("Check returned the private key of %s", k.KID)
		}
	}
	if !e.leaseFree(t) {
		t.Error("the rotation lease is still held after the rotation")
	}

	recs := in.logged(t, rotatedMsg)
	if len(recs) != 2 {
		t.Fatalf("%d %q log records, want one per algorithm: %s", len(recs), rotatedMsg, in.log)
	}
	for _, rec := range recs {
		alg, _ := rec["alg"].(string)
		if rec["current_kid"] != only(t, after, alg, storage.KeyCurrent).KID ||
			rec["next_kid"] != only(t, after, alg, storage.KeyNext).KID ||
			rec["previous_kid"] != only(t, before, alg, storage.KeyCurrent).KID {
			t.Errorf("log record %v does not name the %s keys", rec, alg)
		}
	}
	for _, k := range e.keys(t) {
		if strings.Contains(in.log.String(), base64.StdEncoding.EncodeToString(k.PrivateKey)) {
			t.Errorf("the log holds the sealed private key of %s", k.KID)
		}
	}

	// The next period starts with this rotation.
	e.clock.Advance(testPeriod - time.Microsecond)
	if changed := in.check(t); len(changed) != 0 {
		t.Errorf("Check a microsecond before the second period ends changed %d keys", len(changed))
	}
	e.clock.Advance(time.Microsecond)
	before = e.keys(t)
	in.check(t)
	wantRotated(t, e.keys(t), before, RS256, e.clock.Now())
}

// leaseSpy counts the lease calls that reach the store.
type leaseSpy struct {
	Leaser
	acquires, releases atomic.Int32
}

func (l *leaseSpy) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	l.acquires.Add(1)
	return l.Leaser.AcquireLease(ctx, name, holder, ttl, now)
}

func (l *leaseSpy) ReleaseLease(ctx context.Context, name, holder string) error {
	l.releases.Add(1)
	return l.Leaser.ReleaseLease(ctx, name, holder)
}

func TestScheduleNotDue(t *testing.T) {
	e := newSchedEnv(t)
	e.ensure(t, RS256)
	spy := &leaseSpy{Leaser: e.store}
	in := e.instance(t, "A", spy)
	before := e.keys(t)

	// Checks at creation, one JWKS max-age later and a microsecond before
	// the period ends.
	for _, d := range []time.Duration{0, testMaxAge, testPeriod - testMaxAge - time.Microsecond} {
		e.clock.Advance(d)
		if changed := in.check(t); len(changed) != 0 {
			t.Errorf("Check at %v changed %d keys", e.clock.Now(), len(changed))
		}
	}
	sameKeys(t, e.keys(t), before)
	if n := spy.acquires.Load(); n != 0 {
		t.Errorf("Check took the lease %d times while nothing was due, want 0 (no database work)", n)
	}
	if recs := in.logged(t, rotatedMsg); len(recs) != 0 {
		t.Errorf("logged %v while nothing was due", recs)
	}

	// Due at exactly one period.
	e.clock.Advance(time.Microsecond)
	if changed := in.check(t); len(changed) == 0 {
		t.Error("Check at exactly one period rotated nothing")
	}
	if a, r := spy.acquires.Load(), spy.releases.Load(); a != 1 || r != 1 {
		t.Errorf("lease acquired %d and released %d times, want 1 and 1", a, r)
	}
}

// sameKeys checks that the stored keys did not change.
func sameKeys(t *testing.T, got, want []storage.SigningKey) {
	t.Helper()
	if !sameRows(got, want) {
		t.Errorf("the keys changed:\n got %+v\nwant %+v", got, want)
	}
}

func TestScheduleLeaseHeldElsewhere(t *testing.T) {
	e := newSchedEnv(t)
	e.ensure(t, RS256)
	in := e.instance(t, "A", nil)
	before := e.keys(t)
	e.clock.Advance(testPeriod)

	const ttl = 3 * time.Minute
	if took, err := e.store.AcquireLease(t.Context(), RotationLease, "B", ttl, e.clock.Now()); err != nil || !took {
		t.Fatalf("B takes the lease: %t, %v", took, err)
	}
	for _, d := range []time.Duration{0, ttl - time.Microsecond} {
		e.clock.Advance(d)
		if changed := in.check(t); len(changed) != 0 {
			t.Fatalf("Check while B holds the lease changed %d keys", len(changed))
		}
	}
	sameKeys(t, e.keys(t), before)
	if took, err := e.store.AcquireLease(t.Context(), RotationLease, "B", ttl, e.clock.Now()); err != nil || !took {
		t.Errorf("B's lease after A's checks: renew = %t, %v; want B to hold it still", took, err)
	}

	// B's lease expires without B releasing it (B crashed): A takes over.
	e.clock.Advance(ttl)
	if changed := in.check(t); len(changed) == 0 {
		t.Fatal("Check after B's lease expired rotated nothing")
	}
	wantRotated(t, e.keys(t), before, RS256, e.clock.Now())
}

func TestScheduleTwoInstances(t *testing.T) {
	t.Run("at the same instant", func(t *testing.T) {
		e := newSchedEnv(t)
		e.ensure(t, RS256, ES256)
		a, b := e.instance(t, "A", nil), e.instance(t, "B", nil)
		before := e.keys(t)
		e.clock.Advance(testPeriod + time.Minute)

		var changed [2][]storage.SigningKey
		var errs [2]error
		var wg sync.WaitGroup
		for i, in := range []*instance{a, b} {
			wg.Go(func() { changed[i], errs[i] = in.sched.Check(t.Context()) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Check of instance %d: %v", i, err)
			}
		}
		if rotations := len(a.logged(t, rotatedMsg)) + len(b.logged(t, rotatedMsg)); rotations != 2 ||
			(len(changed[0]) == 0) == (len(changed[1]) == 0) {
			t.Errorf("%d rotations logged, %d and %d keys changed: want one instance to rotate both algorithms",
				rotations, len(changed[0]), len(changed[1]))
		}
		after := e.keys(t)
		for _, alg := range []string{RS256, ES256} {
			wantRotated(t, after, before, alg, e.clock.Now())
		}
		if len(after) != 6 {
			t.Errorf("%d keys stored, want 6", len(after))
		}
	})

	t.Run("one after the other, the second with a stale view", func(t *testing.T) {
		// B has not synced A's rotation yet: its loaded keys say "due". Under
		// the lease it reloads, sees the rotation, and does nothing.
		e := newSchedEnv(t)
		e.ensure(t, RS256)
		a, b := e.instance(t, "A", nil), e.instance(t, "B", nil)
		before := e.keys(t)
		e.clock.Advance(testPeriod)
		if changed := a.check(t); len(changed) == 0 {
			t.Fatal("A rotated nothing")
		}
		rotated := e.keys(t)
		if len(b.sched.due(b.keys.Keys(), e.clock.Now())) == 0 {
			t.Fatal("B's loaded keys are not stale; the test proves nothing")
		}
		e.clock.Advance(time.Second)
		if changed := b.check(t); len(changed) != 0 {
			t.Errorf("B rotated again %d keys", len(changed))
		}
		sameKeys(t, e.keys(t), rotated)
		wantRotated(t, rotated, before, RS256, e.clock.Now().Add(-time.Second))
		if kid, cur := signedKID(t, b.keys, RS256), only(t, rotated, RS256, storage.KeyCurrent).KID; kid != cur {
			t.Errorf("B signs with %s after its check, want the new current key %s", kid, cur)
		}
		if !e.leaseFree(t) {
			t.Error("B did not release the lease")
		}
	})
}

func TestScheduleOnlyDueAlgs(t *testing.T) {
	e := newSchedEnv(t)
	e.ensure(t, RS256)
	e.clock.Advance(testPeriod / 2)
	e.ensure(t, ES256)
	in := e.instance(t, "A", nil)
	before := e.keys(t)

	e.clock.Advance(testPeriod / 2)
	in.check(t)
	after := e.keys(t)
	wantRotated(t, after, before, RS256, e.clock.Now())
	es := func(ks []storage.SigningKey) []storage.SigningKey {
		return append(byState(ks, ES256, storage.KeyCurrent), byState(ks, ES256, storage.KeyNext)...)
	}
	sameKeys(t, es(after), es(before))
	if len(byState(after, ES256, storage.KeyPrevious)) != 0 {
		t.Error("ES256 was rotated half a period after its keys were created")
	}
}

func TestScheduleWaitsForPublishedNext(t *testing.T) {
	// The next key went missing (retired by hand): promoting nothing would
	// sign with a key no verifier has. The scheduler publishes a next key
	// and rotates one JWKS max-age later.
	e := newSchedEnv(t)
	e.ensure(t, RS256)
	next := only(t, e.keys(t), RS256, storage.KeyNext)
	next.State = storage.KeyRetired
	if err := e.store.SaveKeys(t.Context(), nil, []storage.SigningKey{next}); err != nil {
		t.Fatal(err)
	}
	in := e.instance(t, "A", nil)
	cur := only(t, e.keys(t), RS256, storage.KeyCurrent)

	e.clock.Advance(testPeriod)
	if changed := in.check(t); len(changed) != 0 {
		t.Errorf("Check without a next key changed %d keys, want it to publish one first", len(changed))
	}
	published := e.keys(t)
	fresh := only(t, published, RS256, storage.KeyNext)
	if fresh.KID == next.KID || !fresh.CreatedAt.Equal(e.clock.Now()) {
		t.Errorf("next key %s created %v, want a new one created now", fresh.KID, fresh.CreatedAt)
	}
	if only(t, published, RS256, storage.KeyCurrent).KID != cur.KID {
		t.Error("the current key changed before a next key was published")
	}

	e.clock.Advance(testMaxAge - time.Microsecond)
	if changed := in.check(t); len(changed) != 0 {
		t.Errorf("Check before the new next key was published for the JWKS max-age changed %d keys", len(changed))
	}
	sameKeys(t, e.keys(t), published)

	e.clock.Advance(time.Microsecond)
	in.check(t)
	wantRotated(t, e.keys(t), published, RS256, e.clock.Now())
}

func TestScheduleFailures(t *testing.T) {
	e := newSchedEnv(t)
	e.ensure(t, RS256)
	in := e.instance(t, "A", nil)
	before := e.keys(t)
	e.clock.Advance(testPeriod)

	in.sched.lifetime = func(context.Context) (time.Duration, error) { return 0, errors.New("apis unreadable") }
	if _, err := in.sched.Check(t.Context()); err == nil || !strings.Contains(err.Error(), "apis unreadable") {
		t.Errorf("Check with a failing MaxTokenLifetime: %v, want its error", err)
	}
	sameKeys(t, e.keys(t), before)
	if !e.leaseFree(t) {
		t.Error("a failed check left the lease held")
	}

	// A store that cannot be reached: the error, and nothing rotated.
	closed := newSchedEnv(t)
	closed.ensure(t, RS256)
	dead := closed.instance(t, "A", nil)
	closed.clock.Advance(testPeriod)
	_ = closed.store.Close()
	if _, err := dead.sched.Check(t.Context()); err == nil || !strings.Contains(err.Error(), "lease") {
		t.Errorf("Check on a closed store: %v, want the lease error", err)
	}
}

// hungLeaser is a store that stops answering: calls return when ctx ends.
type hungLeaser struct{}

func (h *hungLeaser) AcquireLease(ctx context.Context, _, _ string, _ time.Duration, _ time.Time) (bool, error) {
	<-ctx.Done()
	return false, ctx.Err()
}

func (h *hungLeaser) ReleaseLease(context.Context, string, string) error { return nil }

func TestScheduleCheckEndsWithTheLease(t *testing.T) {
	e := newSchedEnv(t)
	e.ensure(t, RS256)
	hung := &hungLeaser{}
	in := e.instance(t, "A", hung)
	in.sched.ttl = 50 * time.Millisecond
	e.clock.Advance(testPeriod)
	done := make(chan error, 1)
	go func() {
		_, err := in.sched.Check(t.Context())
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Check on a store that does not answer: %v, want the deadline", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Check on a store that does not answer still runs 10s later, with a 50ms lease")
	}
}

func TestScheduleRunChecksAtStart(t *testing.T) {
	e := newSchedEnv(t)
	e.ensure(t, RS256)
	in := e.instance(t, "A", nil)
	in.sched.interval = time.Hour // only the check at start can rotate
	before := e.keys(t)
	e.clock.Advance(testPeriod)

	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		in.sched.Run(ctx)
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(byState(e.keys(t), RS256, storage.KeyPrevious)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not rotate the due keys at start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	<-done
	wantRotated(t, e.keys(t), before, RS256, e.clock.Now())
}

func TestNewScheduler(t *testing.T) {
	m := newEnv().manager(t, nil) // JWKS max-age DefaultJWKSMaxAge
	lifetime := func(context.Context) (time.Duration, error) { return time.Hour, nil }
	leases := Leaser(&leaseSpy{})
	tests := []struct {
		name    string
		cfg     ScheduleConfig
		wantErr string
	}{
		{"ok", ScheduleConfig{Keys: m, Leases: leases, Period: time.Hour, MaxTokenLifetime: lifetime}, ""},
		{"no manager", ScheduleConfig{Leases: leases, Period: time.Hour, MaxTokenLifetime: lifetime}, "Keys is required"},
		{"no leases", ScheduleConfig{Keys: m, Period: time.Hour, MaxTokenLifetime: lifetime}, "Leases is required"},
		{"no lifetime", ScheduleConfig{Keys: m, Leases: leases, Period: time.Hour}, "MaxTokenLifetime is required"},
		{"no period", ScheduleConfig{Keys: m, Leases: leases, MaxTokenLifetime: lifetime}, "period 0s must be positive"},
		{"period within the max-age", ScheduleConfig{Keys: m, Leases: leases, Period: DefaultJWKSMaxAge, MaxTokenLifetime: lifetime}, "longer than the JWKS max-age"},
		{"negative interval", ScheduleConfig{Keys: m, Leases: leases, Period: time.Hour, Interval: -1, MaxTokenLifetime: lifetime}, "negative"},
		{"every problem at once", ScheduleConfig{Period: -time.Hour}, "Keys is required\nLeases is required\nMaxTokenLifetime is required\nperiod -1h0m0s must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewScheduler(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewScheduler error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Interval() != time.Minute || s.ttl != DefaultRotationLeaseTTL || s.Holder() == "" {
				t.Errorf("defaults: interval %s, ttl %s, holder %q", s.Interval(), s.ttl, s.Holder())
			}
			if other, _ := NewScheduler(tt.cfg); other.Holder() == s.Holder() {
				t.Errorf("two schedulers share the holder name %q", s.Holder())
			}
		})
	}
}

func TestCheckInterval(t *testing.T) {
	for period, want := range map[time.Duration]time.Duration{
		2160 * time.Hour: time.Minute,
		10 * time.Minute: time.Minute,
		5 * time.Minute:  30 * time.Second,
		3 * time.Second:  300 * time.Millisecond,
		time.Second:      100 * time.Millisecond,
	} {
		if got := CheckInterval(period); got != want {
			t.Errorf("CheckInterval(%s) = %s, want %s", period, got, want)
		}
	}
}

// jwksKids returns the kids of alg that m publishes, and the JWKS's size.
func jwksKids(t *testing.T, m *Manager, alg string) ([]string, int) {
	t.Helper()
	raw := m.JWKS()
	var set struct {
		Keys []struct{ Kid, Alg string }
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		if k.Alg == alg {
			kids = append(kids, k.Kid)
		}
	}
	return kids, len(raw)
}

// TestScheduleKeepsTheJWKSBounded rotates every 2 hours while tokens live
// a day (the shortest longest lifetime serve computes: 24 h plus its
// margin), which would publish 13 keys at a time: the JWKS carries at most
// MaxPreviousKeys previous keys, no key is dropped while its tokens live
// (the rotation is held instead, once logged), and rotation resumes as the
// oldest previous key retires.
func TestScheduleKeepsTheJWKSBounded(t *testing.T) {
	const (
		period   = 2 * time.Hour
		lifetime = 24*time.Hour + 5*time.Minute
	)
	e := newSchedEnv(t)
	e.ensure(t, ES256)
	in := e.instance(t, "A", nil)
	sched, err := NewScheduler(ScheduleConfig{
		Keys: in.keys, Leases: e.store, Period: period, Holder: "A", Now: e.clock.Now, Logger: slog.New(slog.NewJSONHandler(in.log, nil)),
		MaxTokenLifetime: func(context.Context) (time.Duration, error) { return lifetime, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	rotations, most := 0, 0
	for step := range 60 { // 120 hours: five token lifetimes
		e.clock.Advance(period)
		changed, err := sched.Check(t.Context())
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if len(changed) > 0 {
			rotations++
		}
		now := e.clock.Now()
		kids, size := jwksKids(t, in.keys, ES256)
		most = max(most, size)
		if len(kids) > MaxPreviousKeys+2 {
			t.Fatalf("step %d: the JWKS carries %d ES256 keys (%d bytes), want at most %d", step, len(kids), size, MaxPreviousKeys+2)
		}
		for _, k := range e.keys(t) {
			switch {
			case k.State == storage.KeyRetired && now.Before(k.RetireAt):
				t.Fatalf("step %d: key %s retired before its tokens expire (%v)", step, k.KID, k.RetireAt)
			case k.State != storage.KeyRetired && now.Before(k.RetireAt) && !slices.Contains(kids, k.KID):
				t.Fatalf("step %d: key %s, whose tokens live until %v, is not published", step, k.KID, k.RetireAt)
			}
		}
	}
	// Unbounded, a rotation every period: 60. Bounded, one every
	// lifetime/MaxPreviousKeys (about 3 h) once the cap is reached.
	if rotations >= 60 || rotations < 35 {
		t.Errorf("%d rotations in 60 periods, want fewer than 60 (held at the cap) and at least 35", rotations)
	}
	if held := in.logged(t, "key rotation due but held: the JWKS carries the most previous keys it may; it rotates when the oldest retires (lengthen --key-rotation-period, or shorten the longest token lifetime)"); len(held) == 0 || len(held) > rotations {
		t.Errorf("%d hold log records for %d rotations, want some, at most one per held rotation", len(held), rotations)
	}
	t.Logf("%d rotations in 60 periods; the largest JWKS %d bytes", rotations, most)
}

// TestCacheWaitHoldsRotation: a manager whose Config.CacheWait says that
// some instance sharing the store serves its JWKS for longer than this
// manager's own max-age waits that out, both in the scheduler and in
// Rotate (the management API's and the command line's rotation); a
// CacheWait that fails holds both, except a forced Rotate.
func TestCacheWaitHoldsRotation(t *testing.T) {
	e := newSchedEnv(t)
	e.ensure(t, RS256)
	longest := testPeriod + 2*time.Hour // far beyond this manager's testMaxAge
	var failing atomic.Bool
	m, err := New(Config{Store: e.store, MasterKey: testMasterKey, Now: e.clock.Now, Generate: e.gen, JWKSMaxAge: testMaxAge,
		CacheWait: func(context.Context) (time.Duration, error) {
			if failing.Load() {
				return 0, errors.New("database unavailable")
			}
			return longest, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	s, err := NewScheduler(ScheduleConfig{Keys: m, Leases: e.store, Period: testPeriod, Holder: "A", Now: e.clock.Now,
		MaxTokenLifetime: func(context.Context) (time.Duration, error) { return testLifetime, nil }})
	if err != nil {
		t.Fatal(err)
	}
	before := e.keys(t)

	e.clock.Advance(testPeriod) // due, and the next key is older than testMaxAge
	if changed, err := s.Check(t.Context()); err != nil || len(changed) != 0 {
		t.Fatalf("scheduled check before the longest JWKS max-age passed: %d keys changed, %v; want none", len(changed), err)
	}
	if _, err := m.Rotate(t.Context(), RotateOptions{}); !errors.Is(err, ErrRotateTooSoon) || !strings.Contains(err.Error(), longest.String()) {
		t.Fatalf("Rotate before the longest JWKS max-age passed: %v; want %v naming %s", err, ErrRotateTooSoon, longest)
	}
	sameKeys(t, e.keys(t), before)

	e.clock.Advance(2 * time.Hour)
	failing.Store(true)
	if _, err := s.Check(t.Context()); err == nil || !strings.Contains(err.Error(), "database unavailable") {
		t.Fatalf("scheduled check when the wait cannot be read: %v; want the error", err)
	}
	if _, err := m.Rotate(t.Context(), RotateOptions{}); err == nil || !strings.Contains(err.Error(), "database unavailable") {
		t.Fatalf("Rotate when the wait cannot be read: %v; want the error", err)
	}
	sameKeys(t, e.keys(t), before)

	failing.Store(false)
	if changed, err := s.Check(t.Context()); err != nil || len(changed) == 0 {
		t.Fatalf("scheduled check once the longest JWKS max-age passed: %d keys changed, %v; want a rotation", len(changed), err)
	}
	wantRotated(t, e.keys(t), before, RS256, e.clock.Now())
}
