package users

import (
	"fmt"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := NewThrottle(ThrottleConfig{MaxPerUser: 3, MaxPerAddress: 5, Window: time.Minute, MaxKeys: 100})
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

	for i := range 3 {
		if ok, _ := th.Allowed("alice", "10.0.0.1", at(i)); !ok {
			t.Fatalf("failure %d: throttled too early", i)
		}
		th.Failed("alice", "10.0.0.1", at(i))
	}
	ok, wait := th.Allowed("alice", "10.0.0.9", at(10))
	if ok || wait != 50*time.Second {
		t.Errorf("after 3 failures: Allowed = %v, wait %s; want false, 50s (until the first leaves the window)", ok, wait)
	}
	if ok, _ := th.Allowed("bob", "10.0.0.1", at(10)); !ok {
		t.Error("another user from the same address is throttled before the address limit")
	}
	if ok, _ := th.Allowed("alice", "10.0.0.9", at(60)); !ok {
		t.Error("still throttled after the oldest failure left the window")
	}

	// Per address: many users from one address.
	for i := range 5 {
		th.Failed(fmt.Sprintf("user%d", i), "10.0.0.2", at(100))
	}
	if ok, _ := th.Allowed("fresh", "10.0.0.2", at(101)); ok {
		t.Error("the address limit does not hold across users")
	}
	if ok, _ := th.Allowed("fresh", "10.0.0.3", at(101)); !ok {
		t.Error("another address is throttled")
	}

	// Success clears the user's count, not the address's.
	th.Failed("carol", "10.0.0.4", at(200))
	th.Failed("carol", "10.0.0.4", at(200))
	th.Succeeded("carol")
	th.Failed("carol", "10.0.0.4", at(201))
	th.Failed("carol", "10.0.0.4", at(201))
	if ok, _ := th.Allowed("carol", "10.0.0.5", at(202)); !ok {
		t.Error("success did not reset the user's failures")
	}
}

func TestThrottleBounded(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := NewThrottle(ThrottleConfig{MaxPerUser: 2, MaxPerAddress: 2, Window: time.Hour, MaxKeys: 10})
	for i := range 100 {
		th.Failed(fmt.Sprintf("u%d", i), fmt.Sprintf("a%d", i), t0.Add(time.Duration(i)*time.Second))
	}
	if n := th.Len(); n > 10 {
		t.Errorf("Len = %d, want at most 10", n)
	}
	// The newest keys survive eviction.
	th.Failed("u99", "a99", t0.Add(100*time.Second))
	if ok, _ := th.Allowed("u99", "x", t0.Add(101*time.Second)); ok {
		t.Error("the newest key was evicted")
	}
}
