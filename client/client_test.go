package client

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

var _ oauth2.TokenSource = (*Source)(nil)

func TestNewRejectsBadConfig(t *testing.T) {
	ok := Config{TokenURL: "https://as.test/oauth/token", ClientID: "c", Secrets: []string{"s3cret-one"}}
	tests := []struct {
		name string
		mod  func(*Config)
		want string // in the error; "" means valid
	}{
		{"valid", func(*Config) {}, ""},
		{"valid issuer", func(c *Config) { c.TokenURL, c.Issuer = "", "https://as.test/" }, ""},
		{"http on loopback", func(c *Config) { c.TokenURL = "http://127.0.0.1:8080/oauth/token" }, ""},
		{"http on localhost", func(c *Config) { c.TokenURL = "http://localhost:8080/oauth/token" }, ""},
		{"http elsewhere with InsecureAllowHTTP", func(c *Config) { c.TokenURL, c.InsecureAllowHTTP = "http://as.test/t", true }, ""},
		{"equal audience and resource", func(c *Config) { c.Audience, c.Resource = "https://a", "https://a" }, ""},
		{"no client id", func(c *Config) { c.ClientID = "" }, "ClientID"},
		{"no secrets", func(c *Config) { c.Secrets = nil }, "Secrets"},
		{"empty secret", func(c *Config) { c.Secrets = []string{"a", ""} }, "secret 1 is empty"},
		{"no endpoint", func(c *Config) { c.TokenURL = "" }, "neither Issuer nor TokenURL"},
		{"relative token URL", func(c *Config) { c.TokenURL = "/oauth/token" }, "absolute"},
		{"http elsewhere", func(c *Config) { c.TokenURL = "http://as.test/oauth/token" }, "InsecureAllowHTTP"},
		{"http issuer elsewhere", func(c *Config) { c.TokenURL, c.Issuer = "", "http://as.test" }, "InsecureAllowHTTP"},
		{"ftp", func(c *Config) { c.TokenURL = "ftp://as.test/x" }, "scheme"},
		{"audience and resource differ", func(c *Config) { c.Audience, c.Resource = "https://a", "https://b" }, "differ"},
		{"unknown auth method", func(c *Config) { c.AuthMethod = "private_key_jwt" }, "AuthMethod"},
		{"negative backoff", func(c *Config) { c.MaxBackoff = -1 }, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mod(&cfg)
			_, err := New(cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("New: %v, want an error about %q", err, tc.want)
			}
			mustNotLeak(t, err, "s3cret-one")
		})
	}
}

func TestTokenRequest(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*Config)
		basic  bool
		fields map[string]string // form fields; "" means absent
	}{
		{"post with audience", func(c *Config) {}, false,
			map[string]string{"grant_type": "client_credentials", "client_id": "svc", "client_secret": "s3cret-one", "audience": "https://api.test", "resource": "", "scope": ""}},
		{"post with resource and scopes", func(c *Config) { c.Audience, c.Resource, c.Scopes = "", "https://api.test", []string{"read", "write"} }, false,
			map[string]string{"resource": "https://api.test", "audience": "", "scope": "read write"}},
		{"basic", func(c *Config) { c.AuthMethod = AuthBasic }, true,
			map[string]string{"grant_type": "client_credentials", "client_id": "", "client_secret": "", "audience": "https://api.test"}},
		{"basic with reserved characters", func(c *Config) {
			c.AuthMethod, c.ClientID, c.Secrets = AuthBasic, "svc:1 a%", []string{"s3cret-one"}
		}, true, map[string]string{"client_id": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAS(t, "s3cret-one")
			s, _, _ := newTestSource(t, f, tc.mod)
			tok, err := s.TokenContext(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != "token-1" || tok.TokenType != "Bearer" || tok.Extra("scope") != "read" {
				t.Fatalf("token %+v scope %v", tok, tok.Extra("scope"))
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if r.basic != tc.basic {
				t.Fatalf("basic auth %v, want %v", r.basic, tc.basic)
			}
			if tc.basic && (r.user != s.cfg.ClientID || r.pass != "s3cret-one") {
				t.Fatalf("basic credentials %q, want the client ID %q and its secret", r.user, s.cfg.ClientID)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Fatalf("Content-Type %q", ct)
			}
			for k, want := range tc.fields {
				if got := r.form.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestCacheAndEarlyRefresh(t *testing.T) {
	tests := []struct {
		name     string
		lifetime int
		jitter   time.Duration
		// refreshAt is how long after the fetch the token is replaced.
		refreshAt time.Duration
	}{
		{"one hour, 5 min margin", 3600, -1, 55 * time.Minute},
		{"one hour, margin plus jitter", 3600, 2 * time.Minute, 53 * time.Minute},
		{"one minute, margin is half the lifetime", 60, -1, 30 * time.Second},
		{"one minute, jitter at most a quarter", 60, time.Hour, 15 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAS(t, "s3cret-one")
			f.lifetime = tc.lifetime
			s, clk, _ := newTestSource(t, f, func(c *Config) { c.RefreshJitter = tc.jitter })
			first, err := s.Token()
			if err != nil {
				t.Fatal(err)
			}
			if want := clk.Now().Add(time.Duration(tc.lifetime) * time.Second); !first.Expiry.Equal(want) {
				t.Fatalf("expiry %v, want %v", first.Expiry, want)
			}
			for range 100 {
				tok, err := s.TokenContext(t.Context())
				if err != nil || tok.AccessToken != first.AccessToken {
					t.Fatalf("cached call: %v %v", tok, err)
				}
			}
			clk.Add(tc.refreshAt - time.Millisecond)
			if tok, _ := s.Token(); tok.AccessToken != first.AccessToken || len(f.requests()) != 1 {
				t.Fatalf("refreshed before the margin: %d requests", len(f.requests()))
			}
			clk.Add(time.Millisecond)
			tok, err := s.Token()
			if err != nil || tok.AccessToken != "token-2" || len(f.requests()) != 2 {
				t.Fatalf("at the refresh time: %v %v after %d requests, want token-2", tok, err, len(f.requests()))
			}
		})
	}
}

// TestJitterSpreadsRefreshes: with the real random source, refresh times
// spread over the jitter range and stay within it.
func TestJitterSpreadsRefreshes(t *testing.T) {
	f := newFakeAS(t, "s3cret-one")
	seen := map[time.Time]bool{}
	for range 20 {
		s, clk, _ := newTestSource(t, f, func(c *Config) { c.RefreshJitter = time.Minute })
		s.rand = defaultRand
		if _, err := s.Token(); err != nil {
			t.Fatal(err)
		}
		exp := clk.Now().Add(time.Hour)
		at := s.tok.refreshAt
		if at.After(exp.Add(-5*time.Minute)) || at.Before(exp.Add(-6*time.Minute)) {
			t.Fatalf("refresh at %v, want within [expiry-6m, expiry-5m]", exp.Sub(at))
		}
		seen[at] = true
	}
	if len(seen) < 10 {
		t.Fatalf("20 sources chose only %d refresh times", len(seen))
	}
}

func TestConcurrentColdCacheOneRequest(t *testing.T) {
	f := newFakeAS(t, "s3cret-one")
	f.hold, f.arrived = make(chan struct{}), make(chan struct{}, 100)
	s, _, _ := newTestSource(t, f, nil)
	const callers = 50
	var ready, done sync.WaitGroup
	tokens := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			tok, err := s.TokenContext(t.Context())
			errs[i] = err
			if err == nil {
				tokens[i] = tok.AccessToken
			}
		})
	}
	ready.Wait()
	<-f.arrived // the one request is at the server; release it
	close(f.hold)
	done.Wait()
	if n := len(f.requests()); n != 1 {
		t.Fatalf("%d concurrent callers made %d token requests, want 1", callers, n)
	}
	for i := range callers {
		if errs[i] != nil || tokens[i] != "token-1" {
			t.Fatalf("caller %d: %q %v", i, tokens[i], errs[i])
		}
	}
}

func TestStaleTokenServedWhileRefreshFails(t *testing.T) {
	f := newFakeAS(t, "s3cret-one")
	s, clk, _ := newTestSource(t, f, func(c *Config) { c.MaxAttempts = 1 })
	first, err := s.Token()
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(56 * time.Minute) // in the refresh window, still valid
	f.play(reply{status: 503, body: `{"error":"temporarily_unavailable"}`})
	tok, err := s.Token()
	if err != nil || tok.AccessToken != first.AccessToken {
		t.Fatalf("refresh failed: got %v %v, want the cached token", tok, err)
	}
	if n := len(f.requests()); n != 2 {
		t.Fatalf("%d requests, want the failed refresh", n)
	}
	// No new refresh before the pause (MaxBackoff) is over.
	if _, err := s.Token(); err != nil || len(f.requests()) != 2 {
		t.Fatalf("refresh retried at once: %d requests, %v", len(f.requests()), err)
	}
	clk.Add(DefaultMaxBackoff)
	if tok, err := s.Token(); err != nil || tok.AccessToken == first.AccessToken {
		t.Fatalf("after the pause: %v %v, want a new token", tok, err)
	}
	// A token past its expiry is never served, whatever the server says.
	clk.Add(2 * time.Hour)
	f.play(reply{status: 503, body: `{"error":"temporarily_unavailable"}`})
	tok, err = s.Token()
	var oe *Error
	if !errors.As(err, &oe) || oe.Status != 503 || tok != nil {
		t.Fatalf("expired token and failing server: %v %v, want *Error 503", tok, err)
	}
}

func TestSecretFallback(t *testing.T) {
	f := newFakeAS(t, "new-secret")
	s, clk, _ := newTestSource(t, f, func(c *Config) { c.Secrets = []string{"old-secret", "new-secret", "spare-secret"} })
	used := func(from int) []string {
		var out []string
		for _, r := range f.requests()[from:] {
			out = append(out, r.secret())
		}
		return out
	}
	if _, err := s.Token(); err != nil {
		t.Fatal(err)
	}
	if got := used(0); !slices.Equal(got, []string{"old-secret", "new-secret"}) {
		t.Fatalf("first fetch used %v", got)
	}
	clk.Add(2 * time.Hour)
	if _, err := s.Token(); err != nil {
		t.Fatal(err)
	}
	if got := used(2); !slices.Equal(got, []string{"new-secret"}) {
		t.Fatalf("second fetch used %v, want the remembered new-secret only", got)
	}
	// The winner is refused now: the next ones follow, wrapping around.
	f.setValid("old-secret")
	clk.Add(2 * time.Hour)
	if _, err := s.Token(); err != nil {
		t.Fatal(err)
	}
	if got := used(3); !slices.Equal(got, []string{"new-secret", "spare-secret", "old-secret"}) {
		t.Fatalf("third fetch used %v", got)
	}
	// Every secret refused: one try each, then invalid_client.
	f.setValid()
	clk.Add(2 * time.Hour)
	_, err := s.Token()
	var oe *Error
	if !errors.As(err, &oe) || oe.Code != CodeInvalidClient || oe.Status != http.StatusUnauthorized {
		t.Fatalf("all refused: %v, want *Error invalid_client", err)
	}
	if got := used(6); len(got) != 3 {
		t.Fatalf("all refused: tried %v, want each secret once", got)
	}
	mustNotLeak(t, err, "old-secret", "new-secret", "spare-secret")
}

func TestPermanentErrorsEndAtOnce(t *testing.T) {
	tests := []struct {
		name   string
		status int
		code   string
	}{
		{"invalid_scope", 400, CodeInvalidScope},
		{"access_denied", 403, CodeAccessDenied},
		{"invalid_target", 400, CodeInvalidTarget},
		{"invalid_request", 400, CodeInvalidRequest},
		{"unauthorized_client", 400, CodeUnauthorizedClient},
		{"invalid_client with one secret", 401, CodeInvalidClient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAS(t, "s3cret-one")
			f.play(reply{status: tc.status, body: `{"error":"` + tc.code + `","error_description":"because"}`})
			s, _, sl := newTestSource(t, f, nil)
			_, err := s.Token()
			var oe *Error
			if !errors.As(err, &oe) || oe.Code != tc.code || oe.Status != tc.status || oe.Description != "because" {
				t.Fatalf("got %v, want *Error %d %s", err, tc.status, tc.code)
			}
			if n := len(f.requests()); n != 1 || len(sl.all()) != 0 {
				t.Fatalf("%d requests, %d sleeps; want 1 and none", n, len(sl.all()))
			}
			mustNotLeak(t, err, "s3cret-one")
		})
	}
}

func TestRetries(t *testing.T) {
	unavailable := reply{status: 503, body: `{"error":"temporarily_unavailable"}`}
	tests := []struct {
		name     string
		script   []reply
		mod      func(*Config)
		requests int
		sleeps   []time.Duration // exact waits; nil with backoff set checks ranges
		backoff  bool
		wantErr  int // status of the *Error; 0: success; -1: a non-*Error
	}{
		{"503 then success", []reply{unavailable, unavailable}, nil, 3,
			[]time.Duration{250 * time.Millisecond, 500 * time.Millisecond}, false, 0},
		{"backoff capped", []reply{unavailable, unavailable, unavailable, unavailable},
			func(c *Config) { c.MaxAttempts, c.MinBackoff, c.MaxBackoff = 6, time.Second, 3*time.Second }, 5,
			[]time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}, false, 0},
		{"429 Retry-After seconds", []reply{{status: 429, header: map[string]string{"Retry-After": "7"}, body: `{"error":"too_many_requests"}`}}, nil, 2,
			[]time.Duration{7 * time.Second}, false, 0},
		{"503 Retry-After HTTP-date", []reply{{status: 503, header: map[string]string{"Retry-After": "Sun, 01 Mar 2026 12:00:03 GMT"}}}, nil, 2,
			[]time.Duration{3 * time.Second}, false, 0},
		{"Retry-After beyond MaxRetryAfter", []reply{{status: 429, header: map[string]string{"Retry-After": "3600"}, body: `{"error":"too_many_requests"}`}}, nil, 1,
			[]time.Duration{}, false, 429},
		{"attempts exhausted", []reply{unavailable, unavailable, unavailable, unavailable, unavailable}, nil, 4,
			[]time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second}, false, 503},
		{"500 without a body", []reply{{status: 500}}, nil, 2, []time.Duration{250 * time.Millisecond}, false, 0},
		{"connection dropped", []reply{{hangup: true}}, nil, 2, []time.Duration{250 * time.Millisecond}, false, 0},
		{"real jitter", []reply{unavailable, unavailable}, nil, 3, nil, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAS(t, "s3cret-one")
			f.play(tc.script...)
			s, _, sl := newTestSource(t, f, tc.mod)
			if tc.backoff {
				s.rand = defaultRand
			}
			tok, err := s.Token()
			var oe *Error
			switch {
			case tc.wantErr == 0 && err != nil:
				t.Fatalf("Token: %v", err)
			case tc.wantErr == 0 && tok.AccessToken == "":
				t.Fatal("no token")
			case tc.wantErr > 0 && (!errors.As(err, &oe) || oe.Status != tc.wantErr):
				t.Fatalf("Token: %v, want *Error HTTP %d", err, tc.wantErr)
			}
			if n := len(f.requests()); n != tc.requests {
				t.Fatalf("%d requests, want %d", n, tc.requests)
			}
			got := sl.all()
			if tc.backoff {
				for i, d := range got {
					base := DefaultMinBackoff << i
					if d < base/2 || d > base {
						t.Fatalf("wait %d = %v, want within [%v, %v]", i, d, base/2, base)
					}
				}
				if len(got) != tc.requests-1 {
					t.Fatalf("%d waits", len(got))
				}
				return
			}
			if !slices.Equal(got, tc.sleeps) {
				t.Fatalf("waits %v, want %v", got, tc.sleeps)
			}
		})
	}
}

func TestRetryAfterPastDeadlineGivesUp(t *testing.T) {
	f := newFakeAS(t, "s3cret-one")
	f.play(reply{status: 429, header: map[string]string{"Retry-After": "20"}})
	s, _, _ := newTestSource(t, f, func(c *Config) { c.Timeout = time.Second })
	s.sleep = sleepCtx // the real wait, which must refuse at once
	begin := time.Now()
	_, err := s.Token()
	var oe *Error
	if !errors.As(err, &oe) || oe.RetryAfter != 20*time.Second {
		t.Fatalf("got %v, want the 429 *Error with its Retry-After", err)
	}
	if took := time.Since(begin); took > 900*time.Millisecond {
		t.Fatalf("waited %v for a Retry-After that ends after the deadline", took)
	}
}

func TestDiscovery(t *testing.T) {
	tests := []struct {
		name       string
		configured func(base string) string
		published  func(base string) string
		wantErr    string
	}{
		{"issuer as published", func(b string) string { return b }, func(b string) string { return b }, ""},
		{"issuer with a trailing slash", func(b string) string { return b + "/" }, func(b string) string { return b + "/" }, ""},
		{"issuer mismatch", func(b string) string { return b }, func(b string) string { return b + "/" }, "RFC 8414 §3.3"},
		{"no metadata", func(b string) string { return b + "/tenant" }, func(b string) string { return b }, "HTTP 404"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAS(t, "s3cret-one")
			f.issuer = tc.published(f.srv.URL)
			s, _, _ := newTestSource(t, f, func(c *Config) { c.TokenURL, c.Issuer = "", tc.configured(f.srv.URL) })
			for range 3 {
				tok, err := s.Token()
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("got %v %v, want an error with %q", tok, err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if n := len(f.requests()); n != 1 {
				t.Fatalf("%d token requests", n)
			}
		})
	}
}

func TestCallerLeavesFetchGoesOn(t *testing.T) {
	f := newFakeAS(t, "s3cret-one")
	f.hold, f.arrived = make(chan struct{}), make(chan struct{}, 10)
	s, _, _ := newTestSource(t, f, nil)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error)
	go func() {
		_, err := s.TokenContext(ctx)
		errc <- err
	}()
	<-f.arrived
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller got %v", err)
	}
	close(f.hold)
	tok, err := s.Token() // joins the same fetch, or reads its result
	if err != nil || tok.AccessToken != "token-1" || len(f.requests()) != 1 {
		t.Fatalf("after the caller left: %v %v, %d requests", tok, err, len(f.requests()))
	}
}

func TestExpiresInForms(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		cached  bool
		wantErr bool
	}{
		{"number", `{"access_token":"a","token_type":"Bearer","expires_in":60}`, true, false},
		{"string", `{"access_token":"a","token_type":"bearer","expires_in":"60"}`, true, false},
		{"absent: not cached", `{"access_token":"a","token_type":"Bearer"}`, false, false},
		{"negative", `{"access_token":"a","token_type":"Bearer","expires_in":-5}`, false, true},
		{"not bearer", `{"access_token":"a","token_type":"mac","expires_in":60}`, false, true},
		{"no token", `{"token_type":"Bearer","expires_in":60}`, false, true},
		{"not JSON", `<html>`, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAS(t, "s3cret-one")
			f.play(reply{status: 200, body: tc.body}, reply{status: 200, body: tc.body})
			s, _, _ := newTestSource(t, f, nil)
			_, err := s.Token()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Token: %v", err)
			}
			if err != nil {
				mustNotLeak(t, err, "s3cret-one")
				return
			}
			_, _ = s.Token()
			if cached := len(f.requests()) == 1; cached != tc.cached {
				t.Fatalf("cached %v, want %v", cached, tc.cached)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-3", 0}, {"12", 12 * time.Second}, {" 5 ", 5 * time.Second},
		{"Sun, 01 Mar 2026 12:01:00 GMT", time.Minute}, {"Sun, 01 Mar 2026 11:00:00 GMT", 0}, {"soon", 0},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := parseRetryAfter(tc.in, now); got != tc.want {
				t.Fatalf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestOAuth2ReuseTokenSource(t *testing.T) {
	f := newFakeAS(t, "s3cret-one")
	s, _, _ := newTestSource(t, f, nil)
	c := oauth2.NewClient(t.Context(), s)
	api := newAPI(t, nil)
	for range 3 {
		resp, err := c.Get(api.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if n := len(f.requests()); n != 1 {
		t.Fatalf("%d token requests", n)
	}
}
