package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAssertionFileReadAtEveryRefresh: a Kubernetes projected token file
// is read again at each fetch, so the request after the kubelet rewrote it
// carries the new token; between fetches the cached access token serves.
func TestAssertionFileReadAtEveryRefresh(t *testing.T) {
	f := newFakeAS(t, "platform-token-1", "platform-token-2")
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("platform-token-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, clk, _ := newTestSource(t, f, func(c *Config) { c.Secrets, c.AssertionFile = nil, path })
	if _, err := s.Token(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("platform-token-2"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := s.Token(); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(55 * time.Minute) // the early refresh
	if tok, err := s.Token(); err != nil || tok.AccessToken != "token-2" {
		t.Fatalf("refresh: %v %v", tok, err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d token requests, want 2", len(reqs))
	}
	for i, want := range []string{"platform-token-1", "platform-token-2"} {
		form := reqs[i].form
		if form.Get("client_assertion") != want || form.Get("client_assertion_type") != AssertionType ||
			form.Get("client_id") != "svc" || form.Has("client_secret") || reqs[i].basic {
			t.Errorf("request %d: %v", i, form)
		}
	}
	// The file gone: the fetch fails with the reason, and no request is sent.
	os.Remove(path)
	clk.Add(time.Hour)
	if _, err := s.Token(); err == nil || !strings.Contains(err.Error(), "assertion") {
		t.Errorf("missing file: %v", err)
	}
	if len(f.requests()) != 2 {
		t.Error("a request was sent without an assertion")
	}
}

// TestAssertionFuncSingleFlight: concurrent callers on a cold cache share
// one call of Assertion and one token request; a refused assertion is an
// invalid_client error that does not leak the token.
func TestAssertionFuncSingleFlight(t *testing.T) {
	f := newFakeAS(t, "platform-token")
	f.hold, f.arrived = make(chan struct{}), make(chan struct{}, 100)
	var calls atomic.Int32
	s, _, _ := newTestSource(t, f, func(c *Config) {
		c.Secrets = nil
		c.Assertion = func(context.Context) (string, error) { calls.Add(1); return "platform-token", nil }
	})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := s.TokenContext(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
	<-f.arrived
	close(f.hold)
	wg.Wait()
	if calls.Load() != 1 || len(f.requests()) != 1 {
		t.Fatalf("%d Assertion calls and %d requests for 20 callers, want 1 and 1", calls.Load(), len(f.requests()))
	}

	g := newFakeAS(t)
	r, _, _ := newTestSource(t, g, func(c *Config) {
		c.Secrets = nil
		c.Assertion = func(context.Context) (string, error) { return "refused-platform-token", nil }
	})
	_, err := r.Token()
	var oe *Error
	if !errors.As(err, &oe) || oe.Code != CodeInvalidClient || len(g.requests()) != 1 {
		t.Errorf("refused assertion: %v after %d requests", err, len(g.requests()))
	}
	mustNotLeak(t, err, "refused-platform-token")
}

func TestAssertionConfig(t *testing.T) {
	fn := func(context.Context) (string, error) { return "x", nil }
	bad := []Config{
		{TokenURL: "https://as.example/token", ClientID: "c", Secrets: []string{"s"}, Assertion: fn},
		{TokenURL: "https://as.example/token", ClientID: "c", Assertion: fn, AssertionFile: "/t"},
		{TokenURL: "https://as.example/token", ClientID: "c", Assertion: fn, AuthMethod: AuthBasic},
		{TokenURL: "https://as.example/token", ClientID: "c"},
	}
	for i, cfg := range bad {
		if _, err := New(cfg); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
	if _, err := New(Config{TokenURL: "https://as.example/token", ClientID: "c", AssertionFile: "/var/run/secrets/tokens/gatehouse"}); err != nil {
		t.Error(err)
	}
}

// TestGitHubActionsToken: the Actions runtime is asked with its bearer
// token for the audience, and its value returned; without the runtime's
// variables the error says what the job lacks.
func TestGitHubActionsToken(t *testing.T) {
	rt := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer runtime-bearer" || r.URL.Query().Get("audience") != "https://auth.example.com/" ||
			r.URL.Query().Get("api-version") != "2.0" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"count":1,"value":"gh-oidc-token"}`))
	}))
	defer rt.Close()
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", rt.URL+"/token?api-version=2.0")
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runtime-bearer")
	tok, err := GitHubActionsToken(rt.Client(), "https://auth.example.com/")(t.Context())
	if err != nil || tok != "gh-oidc-token" {
		t.Fatalf("GitHubActionsToken = %q, %v", tok, err)
	}
	if _, err := GitHubActionsToken(rt.Client(), "https://other.example.com/")(t.Context()); err == nil {
		t.Error("a refused request returned a token")
	}
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
	if _, err := GitHubActionsToken(nil, "x")(t.Context()); err == nil || !strings.Contains(err.Error(), "id-token: write") {
		t.Errorf("without the runtime: %v", err)
	}
}
