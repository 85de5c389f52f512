package token

import (
	"fmt"
	"testing"
	"time"
)

// TestUseThrottle: one report per secret per second, whatever the number
// of requests; every secret is reported, colliding slots included.
func TestUseThrottle(t *testing.T) {
	got := map[string]int{}
	u := newUseThrottle(func(id string, _ time.Time) { got[id]++ })
	t0 := time.Unix(1767225600, 0)
	for range 100 {
		u.record("sec_a", t0)
		u.record("sec_a", t0.Add(999*time.Millisecond))
	}
	if got["sec_a"] != 1 {
		t.Fatalf("%d reports in one second, want 1", got["sec_a"])
	}
	u.record("sec_a", t0.Add(time.Second))
	if got["sec_a"] != 2 {
		t.Fatalf("the next second was not reported")
	}
	// Far more secrets than slots: each is reported at least once.
	for i := range 3 * useSlots {
		u.record(fmt.Sprint("sec_", i), t0)
	}
	for i := range 3 * useSlots {
		if got[fmt.Sprint("sec_", i)] == 0 {
			t.Fatalf("secret %d never reported", i)
		}
	}
}
