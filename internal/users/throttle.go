package users

import (
	"net/netip"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/clientip"
)

// ThrottleConfig bounds failed logins (OWASP ASVS V2.2.1: anti-automation
// against credential stuffing and brute force) the way Auth0's brute-force
// protection does, by user and address together:
//
//   - MaxPerPair failures of one user from one address within Window, and
//     that address may not try that user again until the oldest failure
//     leaves the window;
//   - MaxPerAddress failures from one address over all users, and that
//     address may not try anyone;
//   - MaxPerUser failures of one user over all addresses only slow the
//     user's logins down: each further attempt waits StepUpDelay, doubled
//     per failure past the limit up to MaxStepUpDelay, before its password
//     is checked. The right password from an address that has not failed
//     always gets in, so failures from elsewhere cannot lock a person out.
//
// An IPv6 address counts as its /64 (clientip.Group). At most MaxKeys keys
// are tracked; past that the key with the oldest last failure is forgotten.
type ThrottleConfig struct {
	MaxPerPair     int
	MaxPerAddress  int
	MaxPerUser     int
	Window         time.Duration
	StepUpDelay    time.Duration
	MaxStepUpDelay time.Duration
	MaxKeys        int
}

// DefaultThrottle allows 5 failures per user and address and 20 per address
// in 15 minutes; past 5 failures of a user from anywhere, that user's logins
// wait 250 ms, doubling up to 2 s; up to 100 000 keys are tracked.
var DefaultThrottle = ThrottleConfig{MaxPerPair: 5, MaxPerAddress: 20, MaxPerUser: 5, Window: 15 * time.Minute,
	StepUpDelay: 250 * time.Millisecond, MaxStepUpDelay: 2 * time.Second, MaxKeys: 100_000}

// maxStepUps bounds the user failures remembered past MaxPerUser: enough to
// reach any MaxStepUpDelay a configuration gives.
const maxStepUps = 16

// Throttle counts failed logins in memory, per (user, address), per
// address and per user (users by normalized email, so unknown users are
// throttled alike). It is safe for concurrent use. Each instance counts on
// its own: behind a load balancer of n instances the limits are n times as
// loose.
type Throttle struct {
	cfg ThrottleConfig
	mu  sync.Mutex
	// failures holds, per key, the times of the failures within the window,
	// oldest first, at most the key's limit.
	failures map[string][]time.Time
}

// NewThrottle returns a Throttle; zero fields of cfg take DefaultThrottle's.
func NewThrottle(cfg ThrottleConfig) *Throttle {
	d := DefaultThrottle
	if cfg.MaxPerPair <= 0 {
		cfg.MaxPerPair = d.MaxPerPair
	}
	if cfg.MaxPerAddress <= 0 {
		cfg.MaxPerAddress = d.MaxPerAddress
	}
	if cfg.MaxPerUser <= 0 {
		cfg.MaxPerUser = cfg.MaxPerPair
	}
	if cfg.Window <= 0 {
		cfg.Window = d.Window
	}
	if cfg.StepUpDelay <= 0 {
		cfg.StepUpDelay = d.StepUpDelay
	}
	if cfg.MaxStepUpDelay < cfg.StepUpDelay {
		cfg.MaxStepUpDelay = max(cfg.StepUpDelay, d.MaxStepUpDelay)
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = d.MaxKeys
	}
	return &Throttle{cfg: cfg, failures: map[string][]time.Time{}}
}

func userKey(email string) string { return "u\x00" + email }
func addrKey(a netip.Addr) string { return "a\x00" + clientip.Group(a).String() }
func pairKey(email string, a netip.Addr) string {
	return "p\x00" + clientip.Group(a).String() + "\x00" + email
}

// Verdict is the throttle's answer for one login attempt.
type Verdict struct {
	// OK: the password may be checked. When not, RetryAfter says when
	// this address may try this user again.
	OK         bool
	RetryAfter time.Duration
	// Delay is how long the attempt waits before its password is checked
	// (the user failed often from elsewhere).
	Delay time.Duration
	// Clean: the address has no failure within the window and fewer than
	// MaxBusyWhileClean logins refused for want of a hashing slot (Busy);
	// its password checks go before those of addresses that keep trying.
	Clean bool
}

// MaxBusyWhileClean is how many refusals for want of a hashing slot
// (503) an address may have within the window and still count as clean: a
// person retries a few times, a flood retries at once and so loses its
// precedence before its first password is even checked.
const MaxBusyWhileClean = 3

func busyKey(a netip.Addr) string { return "b\x00" + clientip.Group(a).String() }

// Check returns the verdict for a login of the user (normalized email)
// from addr at now.
func (t *Throttle) Check(email string, addr netip.Addr, now time.Time) Verdict {
	t.mu.Lock()
	defer t.mu.Unlock()
	wait := max(t.wait(pairKey(email, addr), t.cfg.MaxPerPair, now), t.wait(addrKey(addr), t.cfg.MaxPerAddress, now))
	if wait > 0 {
		return Verdict{RetryAfter: wait}
	}
	v := Verdict{OK: true, Clean: len(t.live(addrKey(addr), now)) == 0 && len(t.live(busyKey(addr), now)) < MaxBusyWhileClean}
	if n := len(t.live(userKey(email), now)); n >= t.cfg.MaxPerUser {
		v.Delay = t.cfg.MaxStepUpDelay
		if excess := n - t.cfg.MaxPerUser; excess < 30 {
			v.Delay = min(t.cfg.MaxStepUpDelay, t.cfg.StepUpDelay<<excess)
		}
	}
	return v
}

func (t *Throttle) wait(key string, limit int, now time.Time) time.Duration {
	fs := t.live(key, now)
	if len(fs) < limit {
		return 0
	}
	return fs[len(fs)-limit].Add(t.cfg.Window).Sub(now)
}

// live drops the failures of key that left the window and returns the rest.
func (t *Throttle) live(key string, now time.Time) []time.Time {
	fs := t.failures[key]
	i := 0
	for i < len(fs) && !fs[i].Add(t.cfg.Window).After(now) {
		i++
	}
	if i == len(fs) {
		delete(t.failures, key)
		return nil
	}
	if i > 0 {
		fs = append(fs[:0:0], fs[i:]...)
		t.failures[key] = fs
	}
	return fs
}

// Failed records a failed login of the user from addr at now.
func (t *Throttle) Failed(email string, addr netip.Addr, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.add(pairKey(email, addr), t.cfg.MaxPerPair, now)
	t.add(addrKey(addr), t.cfg.MaxPerAddress, now)
	t.add(userKey(email), t.cfg.MaxPerUser+maxStepUps, now)
}

// Busy records a login from addr at now that was refused because every
// password check slot was taken (users.ErrBusy); enough of them and the
// address is no longer clean.
func (t *Throttle) Busy(addr netip.Addr, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.add(busyKey(addr), MaxBusyWhileClean, now)
}

func (t *Throttle) add(key string, limit int, now time.Time) {
	fs := t.live(key, now)
	if fs == nil && len(t.failures) >= t.cfg.MaxKeys {
		t.evict()
	}
	fs = append(fs, now)
	if len(fs) > limit {
		fs = fs[len(fs)-limit:]
	}
	t.failures[key] = fs
}

// evict forgets the key whose newest failure is the oldest. It is linear
// in the number of keys but runs only when the table is full.
func (t *Throttle) evict() {
	var oldest string
	var at time.Time
	for k, fs := range t.failures {
		if last := fs[len(fs)-1]; oldest == "" || last.Before(at) {
			oldest, at = k, last
		}
	}
	delete(t.failures, oldest)
}

// Succeeded forgets the user's failures, over all addresses and from addr
// (a correct password ends the step-up; the address keeps its own count).
func (t *Throttle) Succeeded(email string, addr netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, userKey(email))
	delete(t.failures, pairKey(email, addr))
}

// Len returns how many keys are tracked.
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.failures)
}
