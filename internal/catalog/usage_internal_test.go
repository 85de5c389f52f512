package catalog

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"
)

// touchFunc is a UsageStore of one function.
type touchFunc func(ctx context.Context, lastUsed map[string]time.Time) error

func (f touchFunc) TouchSecrets(ctx context.Context, lastUsed map[string]time.Time) error {
	return f(ctx, lastUsed)
}

// TestUsageResolution: a tick writes a secret's first use at once and a
// later one only a resolution past the time written; Flush writes whatever
// is newer; a secret not used for longer than a resolution is forgotten and
// its next use written at once.
func TestUsageResolution(t *testing.T) {
	ctx := context.Background()
	var got map[string]time.Time
	u := NewUsage(touchFunc(func(_ context.Context, m map[string]time.Time) error {
		got = maps.Clone(m)
		return nil
	}), nil)
	u.period = func(string) int64 { return time.Minute.Microseconds() } // no spread here: see TestUsagePeriods
	t0 := time.Unix(1_000_000, 0)
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	steps := []struct {
		name   string
		record map[string]time.Time
		all    bool // Flush rather than a tick
		want   map[string]time.Time
	}{
		{"first use", map[string]time.Time{"s1": sec(0)}, false, map[string]time.Time{"s1": sec(0)}},
		{"within the resolution", map[string]time.Time{"s1": sec(30)}, false, nil},
		{"nothing new", nil, false, nil},
		{"a resolution past the written time", map[string]time.Time{"s1": sec(61)}, false, map[string]time.Time{"s1": sec(61)}},
		{"within it again, another secret's first use", map[string]time.Time{"s1": sec(70), "s2": sec(70)}, false, map[string]time.Time{"s2": sec(70)}},
		{"Flush writes what was held", nil, true, map[string]time.Time{"s1": sec(70)}},
		{"Flush has nothing more", nil, true, nil},
		{"s3 much later: s1 and s2 forgotten", map[string]time.Time{"s3": sec(200)}, false, map[string]time.Time{"s3": sec(200)}},
		{"s1's next use is written at once", map[string]time.Time{"s1": sec(201)}, false, map[string]time.Time{"s1": sec(201)}},
	}
	for _, st := range steps {
		for id, at := range st.record {
			u.Record(id, at)
		}
		got = nil
		if _, err := u.flush(ctx, st.all); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(st.want) || (len(got) > 0 && !maps.EqualFunc(got, st.want, time.Time.Equal)) {
			t.Fatalf("%s: wrote %v, want %v", st.name, got, st.want)
		}
		if st.name == "s3 much later: s1 and s2 forgotten" {
			if _, ok := u.state["s1"]; ok {
				t.Fatal("s1 still tracked")
			}
		}
	}
}

// TestUsageRecordDuringFlush: uses recorded while ticks run, including
// ticks that find nothing pending, are all written, and the race detector
// sees no unlocked access to the map Record writes.
func TestUsageRecordDuringFlush(t *testing.T) {
	ctx := context.Background()
	written := map[string]time.Time{}
	u := NewUsage(touchFunc(func(_ context.Context, m map[string]time.Time) error {
		maps.Copy(written, m) // flushes run one at a time, on this test's goroutine
		return nil
	}), nil)
	t0 := time.Unix(1_000_000, 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			u.Record("s"+string(rune('a'+i%26)), t0.Add(time.Duration(i)*time.Millisecond))
		}
	}()
	for range 2000 {
		if _, err := u.flush(ctx, false); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	if err := u.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(written) != 26 {
		t.Fatalf("%d secrets written, want 26", len(written))
	}
}

// TestUsagePeriods: each secret's period lies in [resolution, 2×resolution)
// and the periods of many secrets spread over that range.
func TestUsagePeriods(t *testing.T) {
	u := NewUsage(touchFunc(func(context.Context, map[string]time.Time) error { return nil }), nil)
	res := DefaultUsageResolution.Microseconds()
	var buckets [10]int
	for i := range 1000 {
		p := u.period(fmt.Sprintf("sec_%d", i))
		if p < res || p >= 2*res {
			t.Fatalf("period %d µs outside [%d, %d)", p, res, 2*res)
		}
		buckets[(p-res)*10/res]++
	}
	for i, n := range buckets {
		if n < 50 { // 100 expected in each tenth
			t.Errorf("periods in tenth %d of the range: %d of 1000", i, n)
		}
	}
	u.SetResolution(0)
	if p := u.period("sec_1"); p != 0 {
		t.Errorf("resolution 0: period %d, want 0", p)
	}
}
