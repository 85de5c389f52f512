package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// reply is a scripted answer of the fake token endpoint.
type reply struct {
	status int
	header map[string]string
	body   string
	hangup bool // close the connection without an answer
}

// seen is a token request as the fake server received it.
type seen struct {
	form       url.Values
	user, pass string // HTTP Basic, decoded
	basic      bool
	header     http.Header
}

// fakeAS is a tiny authorization server: metadata and a token endpoint
// that accepts the secrets in valid, or plays script first.
type fakeAS struct {
	srv *httptest.Server

	mu       sync.Mutex
	valid    map[string]bool // accepted client secrets
	lifetime int             // expires_in of issued tokens
	script   []reply         // consumed before the normal behaviour
	seen     []seen
	issued   int
	hold     chan struct{} // when set, token requests wait until it is closed
	arrived  chan struct{} // receives one value per token request, if set
	issuer   string        // metadata issuer; default: the server URL
}

func newFakeAS(t testing.TB, secrets ...string) *fakeAS {
	t.Helper()
	f := &fakeAS{valid: map[string]bool{}, lifetime: 3600}
	for _, s := range secrets {
		f.valid[s] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		iss := f.issuer
		f.mu.Unlock()
		if iss == "" {
			iss = f.srv.URL
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "token_endpoint": f.srv.URL + "/oauth/token"})
	})
	mux.HandleFunc("POST /oauth/token", f.token)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAS) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s := seen{form: r.PostForm, header: r.Header.Clone()}
	s.user, s.pass, s.basic = r.BasicAuth()
	if s.basic {
		s.user, _ = url.QueryUnescape(s.user)
		s.pass, _ = url.QueryUnescape(s.pass)
	}
	f.mu.Lock()
	f.seen = append(f.seen, s)
	hold, arrived := f.hold, f.arrived
	var rep *reply
	if len(f.script) > 0 {
		rep = &f.script[0]
		f.script = f.script[1:]
	}
	f.mu.Unlock()
	if arrived != nil {
		arrived <- struct{}{}
	}
	if hold != nil {
		<-hold
	}
	if rep != nil {
		if rep.hangup {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.status)
		fmt.Fprint(w, rep.body)
		return
	}
	secret := s.form.Get("client_secret")
	if s.basic {
		secret = s.pass
	}
	if a := s.form.Get("client_assertion"); a != "" && s.form.Get("client_assertion_type") == AssertionType {
		secret = a // an assertion is accepted as a secret would be
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	f.mu.Lock()
	ok := f.valid[secret]
	f.issued++
	n, lifetime := f.issued, f.lifetime
	f.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"client authentication failed"}`)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": fmt.Sprintf("token-%d", n), "token_type": "Bearer", "expires_in": lifetime, "scope": "read",
	})
}

func (f *fakeAS) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.seen...)
}

// secretOf is the secret a request authenticated with.
func (s seen) secret() string {
	if s.basic {
		return s.pass
	}
	return s.form.Get("client_secret")
}

func (f *fakeAS) setValid(secrets ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid = map[string]bool{}
	for _, s := range secrets {
		f.valid[s] = true
	}
}

func (f *fakeAS) play(r ...reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, r...)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sleeps records the waits of a Source instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// newTestSource builds a Source on f with a fake clock, no jitter and
// recorded sleeps; mod adjusts the config.
func newTestSource(t testing.TB, f *fakeAS, mod func(*Config)) (*Source, *fakeClock, *sleeps) {
	t.Helper()
	clk := newClock()
	cfg := Config{
		TokenURL: f.srv.URL + "/oauth/token", ClientID: "svc", Secrets: []string{"s3cret-one"},
		Audience: "https://api.test", Now: clk.Now, RefreshJitter: -1, HTTPClient: f.srv.Client(),
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sl := &sleeps{}
	s.sleep = sl.sleep
	s.rand = func() float64 { return 1 } // the top of every jitter range
	return s, clk, sl
}

// mustNotLeak fails if err's text contains a secret or a token.
func mustNotLeak(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error %q contains a secret or token", err)
		}
	}
}
