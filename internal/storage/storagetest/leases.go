package storagetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// testLeases walks one lease through its life — acquire, refusal of a
// second holder until the very expiry, renewal, takeover, release by a
// non-holder and by the holder — and checks argument errors, independence
// of names and that leases append nothing to the change feed.
func testLeases(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	seed(t, ctx, s)
	seq := latest(t, ctx, s)
	const (
		lease = "key-rotation"
		ttl   = time.Minute
		µs    = time.Microsecond
	)
	// A's lease runs from at(0) to at(1); renewed at at(0)+30s, to at(1)+30s.
	renewedUntil := at(1).Add(30 * time.Second)
	steps := []struct {
		name    string
		release bool // ReleaseLease(lease, holder) instead of AcquireLease
		lease   string
		holder  string
		ttl     time.Duration
		now     time.Time
		want    bool
	}{
		{name: "acquire a free lease", lease: lease, holder: "A", ttl: ttl, now: at(0), want: true},
		{name: "a second holder is refused", lease: lease, holder: "B", ttl: ttl, now: at(0)},
		{name: "refused a microsecond before the expiry", lease: lease, holder: "B", ttl: ttl, now: at(1).Add(-µs)},
		{name: "the holder takes it again", lease: lease, holder: "A", ttl: ttl, now: at(0), want: true},
		{name: "the holder renews it", lease: lease, holder: "A", ttl: ttl, now: at(0).Add(30 * time.Second), want: true},
		{name: "the renewal moved the expiry", lease: lease, holder: "B", ttl: ttl, now: at(1)},
		{name: "refused a microsecond before the renewed expiry", lease: lease, holder: "B", ttl: ttl, now: renewedUntil.Add(-µs)},
		{name: "another name is free", lease: "other", holder: "B", ttl: ttl, now: at(0), want: true},
		{name: "taken over at the expiry", lease: lease, holder: "B", ttl: ttl, now: renewedUntil, want: true},
		{name: "the former holder is refused", lease: lease, holder: "A", ttl: ttl, now: renewedUntil},
		{name: "release by the former holder", release: true, lease: lease, holder: "A"},
		{name: "which did nothing", lease: lease, holder: "C", ttl: ttl, now: renewedUntil.Add(time.Second)},
		{name: "release by one who never held it", release: true, lease: lease, holder: "C"},
		{name: "which did nothing either", lease: lease, holder: "C", ttl: ttl, now: renewedUntil.Add(time.Second)},
		{name: "release of a lease no one holds", release: true, lease: "nobody's", holder: "A"},
		{name: "release by the holder", release: true, lease: lease, holder: "B"},
		{name: "frees it at once", lease: lease, holder: "C", ttl: time.Hour, now: renewedUntil.Add(time.Second), want: true},
		{name: "the other name is still held", lease: "other", holder: "C", ttl: ttl, now: at(1).Add(-µs)},
		{name: "an expired lease is the holder's again", lease: "other", holder: "B", ttl: ttl, now: at(5), want: true},
	}
	for _, st := range steps {
		if st.release {
			must(t, st.name+": ReleaseLease("+st.lease+", "+st.holder+")", s.ReleaseLease(ctx, st.lease, st.holder))
			continue
		}
		got, err := s.AcquireLease(ctx, st.lease, st.holder, st.ttl, st.now)
		if err != nil {
			t.Fatalf("%s: AcquireLease(%s, %s): %v", st.name, st.lease, st.holder, err)
		}
		if got != st.want {
			t.Fatalf("%s: AcquireLease(%s, %s, %s, %v) = %t, want %t", st.name, st.lease, st.holder, st.ttl, st.now, got, st.want)
		}
	}

	for _, tc := range []struct {
		name, lease, holder string
		ttl                 time.Duration
		now                 time.Time
	}{
		{"no name", "", "A", ttl, at(0)},
		{"no holder", "bad", "", ttl, at(0)},
		{"zero ttl", "bad", "A", 0, at(0)},
		{"negative ttl", "bad", "A", -ttl, at(0)},
		{"zero time", "bad", "A", ttl, time.Time{}},
	} {
		if got, err := s.AcquireLease(ctx, tc.lease, tc.holder, tc.ttl, tc.now); err == nil || got {
			t.Errorf("AcquireLease with %s = %t, %v; want false and an error", tc.name, got, err)
		}
	}
	// The refused calls took nothing.
	if got, err := s.AcquireLease(ctx, "bad", "B", ttl, at(0)); err != nil || !got {
		t.Errorf("AcquireLease(bad, B) after the refused calls = %t, %v; want true", got, err)
	}

	wantChanges(t, ctx, s, "leases", seq)
}

// testLeaseRace runs many acquirers of one lease at one instant, first of a
// free lease, then of an expired one: exactly one wins each time.
func testLeaseRace(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	const n = 16
	ctx := t.Context()
	s := newStore(t)
	race := func(round string, now time.Time) string {
		t.Helper()
		won := make([]bool, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				won[i], errs[i] = s.AcquireLease(ctx, "key-rotation", fmt.Sprintf("%s-%d", round, i), time.Minute, now)
			})
		}
		wg.Wait()
		var winners []string
		for i := range n {
			must(t, fmt.Sprintf("%s: AcquireLease #%d", round, i), errs[i])
			if won[i] {
				winners = append(winners, fmt.Sprintf("%s-%d", round, i))
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%s: %d of %d racing acquirers won (%v), want 1", round, len(winners), n, winners)
		}
		return winners[0]
	}
	first := race("free", at(0))
	second := race("expired", at(2))
	// The second winner holds it now: the first is refused, the second renews.
	if got, err := s.AcquireLease(ctx, "key-rotation", first, time.Minute, at(2)); err != nil || got {
		t.Errorf("AcquireLease by the first winner after the takeover = %t, %v; want false", got, err)
	}
	if got, err := s.AcquireLease(ctx, "key-rotation", second, time.Minute, at(2)); err != nil || !got {
		t.Errorf("AcquireLease by the second winner = %t, %v; want true", got, err)
	}
	if n := latest(t, ctx, s); n != 0 {
		t.Errorf("LatestChange after racing leases = %d, want 0", n)
	}
}
