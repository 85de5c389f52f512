package authorize_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/authorize"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// slowVerifier is a password verifier that holds each check until the test
// lets it go, and records the passwords it checked.
type slowVerifier struct {
	authorize.PasswordVerifier
	mu      sync.Mutex
	checked []string
	gate    chan struct{}
}

func (v *slowVerifier) Verify(hash, password string) (bool, error) {
	v.mu.Lock()
	v.checked = append(v.checked, password)
	v.mu.Unlock()
	<-v.gate
	return v.PasswordVerifier.Verify(hash, password)
}

func (v *slowVerifier) seen() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.checked...)
}

// eventually polls cond for up to five seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting until %s", what)
}

// TestHashingIsBounded: with every hashing slot and the queue taken, a
// login is answered 503 with Retry-After at once instead of queueing; a
// waiting login whose browser leaves is never checked.
func TestHashingIsBounded(t *testing.T) {
	sv := &slowVerifier{PasswordVerifier: testutil.CheapHasher(), gate: make(chan struct{})}
	e := newEnv(t, func(c *authorize.Config) { c.Passwords = sv; c.MaxHashes = 1; c.MaxHashQueue = 2 })
	type result struct {
		status int
		err    error
	}
	login := func(ctx context.Context, pw string) chan result {
		b := e.browser()
		f := form(b.get(authorize.Path, e.authz(nil)).body)
		f.Set("email", "alice@example.com")
		f.Set("password", pw)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+authorize.PathLogin, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", e.srv.URL)
		out := make(chan result, 1)
		go func() {
			r, err := b.c.Do(req)
			if err != nil {
				out <- result{err: err}
				return
			}
			r.Body.Close()
			out <- result{status: r.StatusCode}
		}()
		return out
	}
	waiting := func(n int) func() bool {
		return func() bool { _, _, w := e.h.HashingStats(); return w == n }
	}
	first := login(t.Context(), "first")
	eventually(t, "the first check runs", func() bool { return len(sv.seen()) == 1 })
	second := login(t.Context(), "second")
	eventually(t, "the second waits", waiting(1))
	leaving, leave := context.WithCancel(t.Context())
	gone := login(leaving, "abandoned")
	eventually(t, "the third waits", waiting(2))

	start := time.Now()
	b := e.browser()
	b.c.Timeout = 5 * time.Second // an unbounded queue would hold it
	f := form(b.get(authorize.Path, e.authz(nil)).body)
	f.Set("email", "alice@example.com")
	f.Set("password", "over the bound")
	r := b.post(authorize.PathLogin, f)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "1" || !strings.Contains(r.body, "Try again in a moment") {
		t.Fatalf("a login past the queue: %d Retry-After %q %s; want 503, Retry-After 1", r.status, r.header.Get("Retry-After"), r.body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the refusal took %s: it waited", d)
	}

	leave()
	if res := <-gone; res.err == nil {
		t.Fatalf("the abandoned request completed: %d", res.status)
	}
	eventually(t, "the abandoned login leaves the queue", waiting(1))
	close(sv.gate)
	for _, c := range []chan result{first, second} {
		if res := <-c; res.err != nil || res.status != http.StatusUnauthorized {
			t.Errorf("a queued login: %+v, want 401", res)
		}
	}
	if got := sv.seen(); strings.Join(got, ",") != "first,second" {
		t.Errorf("passwords checked: %v; want first and second only (not the abandoned one, not the refused one)", got)
	}
	if busy, peak, w := e.h.HashingStats(); busy != 0 || peak != 1 || w != 0 {
		t.Errorf("HashingStats = %d, %d, %d; want 0 busy, peak 1, 0 waiting", busy, peak, w)
	}
}
