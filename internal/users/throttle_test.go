package users

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// TestThrottleNeverLocksOutFromACleanAddress is the lockout-as-a-weapon
// finding: five failures from five addresses used to lock the user out
// everywhere. Now they only slow the user down; the pair that failed is
// what gets blocked.
func TestThrottleNeverLocksOutFromACleanAddress(t *testing.T) {
	th := NewThrottle(ThrottleConfig{MaxPerPair: 3, MaxPerAddress: 5, MaxPerUser: 3, Window: time.Minute,
		StepUpDelay: time.Second, MaxStepUpDelay: 4 * time.Second, MaxKeys: 100})
	for i := range 5 {
		th.Failed("alice", ip(fmt.Sprintf("10.0.0.%d", i+1)), at(0))
	}
	v := th.Check("alice", ip("10.0.0.9"), at(1))
	if !v.OK || !v.Clean {
		t.Fatalf("the real user from a clean address: %+v, want allowed and clean", v)
	}
	if v.Delay != 4*time.Second {
		t.Errorf("step-up delay after 5 failures (limit 3): %s, want 1s doubled twice = 4s", v.Delay)
	}
	for range 20 {
		th.Failed("alice", ip("10.0.1.1"), at(2))
	}
	if v := th.Check("alice", ip("10.0.0.9"), at(3)); !v.OK || v.Delay != 4*time.Second {
		t.Errorf("after many more failures: %+v, want allowed with the capped delay", v)
	}
	th.Succeeded("alice", ip("10.0.0.9"))
	if v := th.Check("alice", ip("10.0.0.9"), at(4)); !v.OK || v.Delay != 0 {
		t.Errorf("after a success: %+v, want no delay", v)
	}
}

func TestThrottlePairAndAddress(t *testing.T) {
	th := NewThrottle(ThrottleConfig{MaxPerPair: 3, MaxPerAddress: 5, MaxPerUser: 10, Window: time.Minute, MaxKeys: 100})
	a := ip("10.0.0.1")
	for i := range 3 {
		if v := th.Check("alice", a, at(i)); !v.OK {
			t.Fatalf("failure %d: throttled too early", i)
		}
		th.Failed("alice", a, at(i))
	}
	v := th.Check("alice", a, at(10))
	if v.OK || v.RetryAfter != 50*time.Second {
		t.Errorf("after 3 failures of the pair: %+v; want refused, 50s (until the first leaves the window)", v)
	}
	if v := th.Check("bob", a, at(10)); !v.OK || v.Clean {
		t.Errorf("another user from the same address: %+v; want allowed, not clean", v)
	}
	if v := th.Check("alice", a, at(60)); !v.OK {
		t.Error("still throttled after the oldest failure left the window")
	}
	// Per address: many users from one address.
	for i := range 5 {
		th.Failed(fmt.Sprintf("user%d", i), ip("10.0.0.2"), at(100))
	}
	if v := th.Check("fresh", ip("10.0.0.2"), at(101)); v.OK {
		t.Error("the address limit does not hold across users")
	}
	if v := th.Check("fresh", ip("10.0.0.3"), at(101)); !v.OK || !v.Clean {
		t.Errorf("another address: %+v", v)
	}
	// Success clears the pair's count, not the address's.
	th.Failed("carol", ip("10.0.0.4"), at(200))
	th.Failed("carol", ip("10.0.0.4"), at(200))
	th.Succeeded("carol", ip("10.0.0.4"))
	th.Failed("carol", ip("10.0.0.4"), at(201))
	th.Failed("carol", ip("10.0.0.4"), at(201))
	if v := th.Check("carol", ip("10.0.0.4"), at(202)); !v.OK || v.Clean {
		t.Errorf("after a success and two failures: %+v; want allowed, address not clean", v)
	}
}

// TestThrottleGroupsIPv6By64: every address of one /64 is one address.
func TestThrottleGroupsIPv6By64(t *testing.T) {
	th := NewThrottle(ThrottleConfig{MaxPerPair: 3, MaxPerAddress: 5, Window: time.Minute, MaxKeys: 100})
	for i := range 3 {
		th.Failed("alice", ip(fmt.Sprintf("2001:db8:1:1::%x", i+1)), at(0))
	}
	if v := th.Check("alice", ip("2001:db8:1:1:dead:beef:0:1"), at(1)); v.OK {
		t.Error("a fresh address of the same /64 may try the user again")
	}
	if v := th.Check("alice", ip("2001:db8:1:2::1"), at(1)); !v.OK || !v.Clean {
		t.Errorf("another /64: %+v", v)
	}
	for i := range 5 {
		th.Failed(fmt.Sprintf("u%d", i), ip(fmt.Sprintf("2001:db8:2:2::%x", i+1)), at(0))
	}
	if v := th.Check("fresh", ip("2001:db8:2:2::ffff"), at(1)); v.OK {
		t.Error("the address limit does not hold over the /64")
	}
}

func TestThrottleBounded(t *testing.T) {
	th := NewThrottle(ThrottleConfig{MaxPerPair: 2, MaxPerAddress: 2, Window: time.Hour, MaxKeys: 10})
	for i := range 100 {
		th.Failed(fmt.Sprintf("u%d", i), netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), at(i))
	}
	if n := th.Len(); n > 10 {
		t.Errorf("Len = %d, want at most 10", n)
	}
	// The newest keys survive eviction.
	th.Failed("u99", ip("10.0.0.99"), at(100))
	if v := th.Check("u99", ip("10.0.0.99"), at(101)); v.OK {
		t.Error("the newest key was evicted")
	}
}

// TestThrottleBusyEndsCleanliness: an address whose logins keep being
// refused for want of a hashing slot loses its precedence; a few refusals
// do not.
func TestThrottleBusyEndsCleanliness(t *testing.T) {
	th := NewThrottle(ThrottleConfig{Window: time.Minute})
	a := ip("10.0.0.1")
	for range MaxBusyWhileClean - 1 {
		th.Busy(a, at(0))
	}
	if v := th.Check("alice", a, at(1)); !v.OK || !v.Clean {
		t.Errorf("after %d refusals: %+v, want clean", MaxBusyWhileClean-1, v)
	}
	th.Busy(a, at(1))
	if v := th.Check("alice", a, at(2)); !v.OK || v.Clean {
		t.Errorf("after %d refusals: %+v, want allowed, not clean", MaxBusyWhileClean, v)
	}
	if v := th.Check("alice", a, at(62)); !v.Clean {
		t.Errorf("once the refusals left the window: %+v, want clean", v)
	}
}
