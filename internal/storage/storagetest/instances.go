package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// testInstances checks RecordInstance and MaxJWKSMaxAge: the longest
// max-age of the instances seen at or after a time (inclusive), a record
// replacing the instance's earlier one, max-ages in whole seconds, bad
// records refused, and nothing appended to the change feed.
func testInstances(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	maxAge := func(since time.Time) time.Duration {
		t.Helper()
		d, err := s.MaxJWKSMaxAge(ctx, since)
		if err != nil {
			t.Fatalf("MaxJWKSMaxAge(%v): %v", since, err)
		}
		return d
	}
	if d := maxAge(time.Time{}); d != 0 {
		t.Fatalf("MaxJWKSMaxAge of no instance = %s, want 0", d)
	}
	seq := latest(t, ctx, s)
	for _, in := range []storage.Instance{
		{ID: "a", JWKSMaxAge: 5 * time.Minute, SeenAt: t0},
		{ID: "b", JWKSMaxAge: time.Hour, SeenAt: at(-60)},
		{ID: "c", JWKSMaxAge: time.Minute, SeenAt: at(1)},
	} {
		if err := s.RecordInstance(ctx, in); err != nil {
			t.Fatalf("RecordInstance(%+v): %v", in, err)
		}
	}
	steps := []struct {
		name  string
		since time.Time
		want  time.Duration
	}{
		{"every instance (zero time)", time.Time{}, time.Hour},
		{"all three seen since", at(-61), time.Hour},
		{"seen exactly at since counts", at(-60), time.Hour},
		{"b too old", at(-30), 5 * time.Minute},
		{"a at since, to the nanosecond", t0, 5 * time.Minute},
		{"only c", at(1), time.Minute},
		{"none", at(2), 0},
	}
	for _, st := range steps {
		if d := maxAge(st.since); d != st.want {
			t.Errorf("%s: MaxJWKSMaxAge = %s, want %s", st.name, d, st.want)
		}
	}

	// A new record replaces the instance's earlier one.
	if err := s.RecordInstance(ctx, storage.Instance{ID: "b", JWKSMaxAge: 30 * time.Second, SeenAt: at(3)}); err != nil {
		t.Fatal(err)
	}
	if d := maxAge(at(-120)); d != 5*time.Minute {
		t.Errorf("after b's new record: MaxJWKSMaxAge = %s, want 5m0s", d)
	}
	if d := maxAge(at(2)); d != 30*time.Second {
		t.Errorf("after b's new record, since its time: MaxJWKSMaxAge = %s, want 30s", d)
	}
	// Max-ages are kept in whole seconds.
	if err := s.RecordInstance(ctx, storage.Instance{ID: "d", JWKSMaxAge: 90*time.Minute + 1500*time.Millisecond, SeenAt: at(4)}); err != nil {
		t.Fatal(err)
	}
	if d := maxAge(at(4)); d != 90*time.Minute+time.Second {
		t.Errorf("MaxJWKSMaxAge of 90m1.5s = %s, want 1h30m1s", d)
	}

	for _, bad := range []storage.Instance{
		{JWKSMaxAge: time.Minute, SeenAt: at(5)},
		{ID: "e", JWKSMaxAge: -time.Second, SeenAt: at(5)},
		{ID: "e", JWKSMaxAge: 10 * time.Hour},
	} {
		err := s.RecordInstance(ctx, bad)
		if err == nil || errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrAlreadyExists) {
			t.Errorf("RecordInstance(%+v) = %v, want a plain error", bad, err)
		}
	}
	if d := maxAge(time.Time{}); d != 90*time.Minute+time.Second {
		t.Errorf("after the refused records: MaxJWKSMaxAge = %s, want 1h30m1s", d)
	}
	if now := latest(t, ctx, s); now != seq {
		t.Errorf("RecordInstance appended to the change feed: sequence %d, then %d", seq, now)
	}
}
