package users

import (
	"sync"
	"time"
)

// ThrottleConfig bounds failed logins (OWASP ASVS V2.2.1: anti-automation
// against credential stuffing and brute force): at most MaxPerUser failures
// per user and MaxPerAddress per client address within Window; over the
// limit, logins for that key are refused without checking the password
// until the oldest failure leaves the window. At most MaxKeys keys are
// tracked; past that the key with the oldest last failure is forgotten.
type ThrottleConfig struct {
	MaxPerUser    int
	MaxPerAddress int
	Window        time.Duration
	MaxKeys       int
}

// DefaultThrottle allows 5 failures per user and 20 per address in 15
// minutes, tracking up to 100 000 keys.
var DefaultThrottle = ThrottleConfig{MaxPerUser: 5, MaxPerAddress: 20, Window: 15 * time.Minute, MaxKeys: 100_000}

// Throttle counts failed logins in memory, per user (by normalized email,
// so unknown users are throttled alike) and per client address. It is safe
// for concurrent use. Each instance counts on its own: behind a load
// balancer of n instances the limits are n times as loose.
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
	if cfg.MaxPerUser <= 0 {
		cfg.MaxPerUser = d.MaxPerUser
	}
	if cfg.MaxPerAddress <= 0 {
		cfg.MaxPerAddress = d.MaxPerAddress
	}
	if cfg.Window <= 0 {
		cfg.Window = d.Window
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = d.MaxKeys
	}
	return &Throttle{cfg: cfg, failures: map[string][]time.Time{}}
}

func userKey(email string) string { return "u\x00" + email }
func addrKey(addr string) string  { return "a\x00" + addr }

// Allowed reports whether a login for the user (normalized email) from
// addr may be tried at now, and if not, how long until it may.
func (t *Throttle) Allowed(email, addr string, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	wait := max(t.wait(userKey(email), t.cfg.MaxPerUser, now), t.wait(addrKey(addr), t.cfg.MaxPerAddress, now))
	return wait <= 0, wait
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
func (t *Throttle) Failed(email, addr string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.add(userKey(email), t.cfg.MaxPerUser, now)
	t.add(addrKey(addr), t.cfg.MaxPerAddress, now)
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

// Succeeded forgets the user's failures (a correct password ends the
// user's lockout count; the address keeps its count).
func (t *Throttle) Succeeded(email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, userKey(email))
}

// Len returns how many keys are tracked.
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.failures)
}
