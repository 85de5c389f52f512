package interop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ghclient "github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/verify"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// tokenCounter is the token source's transport: it counts the requests to
// the token endpoint and records the secret and the answer of each.
type tokenCounter struct {
	mu       sync.Mutex
	requests int
	secrets  []string
	statuses []int
}

func (c *tokenCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/oauth/token") {
		return http.DefaultTransport.RoundTrip(r)
	}
	var secret string
	if r.GetBody != nil {
		if b, err := r.GetBody(); err == nil {
			raw, _ := io.ReadAll(b)
			form, _ := url.ParseQuery(string(raw))
			secret = form.Get("client_secret")
		}
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	c.secrets = append(c.secrets, secret)
	if err == nil {
		c.statuses = append(c.statuses, resp.StatusCode)
	} else {
		c.statuses = append(c.statuses, 0)
	}
	return resp, err
}

func (c *tokenCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

// sdkClock is a settable clock for the token source.
type sdkClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *sdkClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *sdkClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newSource is a token source for c and aud on p, found by discovery,
// counting its token requests.
func newSource(t *testing.T, p *proc, c client, aud string, mod func(*ghclient.Config)) (*ghclient.Source, *tokenCounter, *sdkClock) {
	t.Helper()
	counter := &tokenCounter{}
	clk := &sdkClock{t: time.Now()}
	cfg := ghclient.Config{
		Issuer: p.issuer, ClientID: c.id, Secrets: []string{c.secret}, Audience: aud,
		HTTPClient: &http.Client{Transport: counter, Timeout: 10 * time.Second}, Now: clk.Now, RefreshJitter: -1,
	}
	if mod != nil {
		mod(&cfg)
	}
	src, err := ghclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return src, counter, clk
}

// TestSDKTokenSource runs package client against a real server: many calls
// make one token request, the token is refreshed early, 50 concurrent
// callers on a cold cache make one request, and refusals are typed errors.
func TestSDKTokenSource(t *testing.T) {
	srv, _ := sharedServers(t)
	aud := srv.newAPI(t, "RS256", "read:sensors", "write:sensors")
	other := srv.newAPI(t, "RS256")
	c := srv.newClient(t, "sdk token source")
	srv.grant(t, c, aud, "read:sensors")
	srv.token(t, c, aud) // the server has caught up

	t.Run("many calls, one token request", func(t *testing.T) {
		src, counter, _ := newSource(t, srv, c, aud, nil)
		first, err := src.TokenContext(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for range 200 {
			tok, err := src.Token()
			if err != nil || tok.AccessToken != first.AccessToken {
				t.Fatalf("call: %v", err)
			}
		}
		if n := counter.count(); n != 1 {
			t.Fatalf("201 calls made %d token requests, want 1", n)
		}
		if s := first.Extra("scope"); s != "read:sensors" {
			t.Fatalf("scope %v", s)
		}
		if life := time.Until(first.Expiry); life < 86000*time.Second || life > 86400*time.Second {
			t.Fatalf("expiry in %v, want the API's 24 h", life)
		}
	})

	t.Run("early refresh", func(t *testing.T) {
		src, counter, clk := newSource(t, srv, c, aud, func(cfg *ghclient.Config) { cfg.RefreshMargin = 10 * time.Minute })
		first, err := src.Token()
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(24*time.Hour - 10*time.Minute - time.Second)
		if tok, _ := src.Token(); tok.AccessToken != first.AccessToken || counter.count() != 1 {
			t.Fatalf("refreshed before the margin: %d requests", counter.count())
		}
		clk.Add(2 * time.Second) // 10 min before expiry, still valid
		tok, err := src.Token()
		if err != nil || tok.AccessToken == first.AccessToken || counter.count() != 2 {
			t.Fatalf("in the refresh margin: %v, %d requests; want a new token", err, counter.count())
		}
	})

	t.Run("50 concurrent callers on a cold cache", func(t *testing.T) {
		src, counter, _ := newSource(t, srv, c, aud, nil)
		start := make(chan struct{})
		var wg sync.WaitGroup
		tokens := make([]string, 50)
		errs := make([]error, 50)
		for i := range 50 {
			wg.Go(func() {
				<-start
				tok, err := src.TokenContext(t.Context())
				errs[i] = err
				if err == nil {
					tokens[i] = tok.AccessToken
				}
			})
		}
		close(start)
		wg.Wait()
		for i := range 50 {
			if errs[i] != nil || tokens[i] != tokens[0] {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
		}
		if n := counter.count(); n != 1 {
			t.Fatalf("50 concurrent callers made %d token requests, want 1", n)
		}
	})

	t.Run("Retry-After from a throttling proxy is honoured", func(t *testing.T) {
		// A load balancer in front of the real server answers the first
		// token request 429 with Retry-After: 1 (RFC 9110 §10.2.3, RFC 6585
		// §4); the source waits that long, then gets its token.
		target, err := url.Parse(srv.base())
		if err != nil {
			t.Fatal(err)
		}
		rp := httputil.NewSingleHostReverseProxy(target)
		var mu sync.Mutex
		var arrivals []time.Time
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/oauth/token" {
				rp.ServeHTTP(w, r)
				return
			}
			mu.Lock()
			arrivals = append(arrivals, time.Now())
			first := len(arrivals) == 1
			mu.Unlock()
			if first {
				w.Header().Set("Retry-After", "1")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = io.WriteString(w, `{"error":"too_many_requests","error_description":"slow down"}`)
				return
			}
			rp.ServeHTTP(w, r)
		}))
		defer front.Close()
		src, counter, _ := newSource(t, srv, c, aud, func(cfg *ghclient.Config) {
			cfg.Issuer, cfg.TokenURL = "", front.URL+"/oauth/token"
			cfg.MinBackoff = 10 * time.Millisecond // Retry-After, not the backoff, must set the wait
		})
		tok, err := src.TokenContext(t.Context())
		if err != nil {
			t.Fatalf("after a 429: %v", err)
		}
		if tok.AccessToken == "" || counter.count() != 2 {
			t.Fatalf("%d token requests, want 2 (the 429, then the token)", counter.count())
		}
		mu.Lock()
		defer mu.Unlock()
		if waited := arrivals[1].Sub(arrivals[0]); waited < time.Second {
			t.Fatalf("retried %v after a Retry-After of 1 s", waited)
		}
	})

	t.Run("client_secret_basic with resource", func(t *testing.T) {
		src, _, _ := newSource(t, srv, c, "", func(cfg *ghclient.Config) { cfg.AuthMethod, cfg.Resource = ghclient.AuthBasic, aud })
		if _, err := src.Token(); err != nil {
			t.Fatal(err)
		}
	})

	errorCases := []struct {
		name     string
		mod      func(*ghclient.Config)
		status   int
		code     string
		requests int
	}{
		{"scope not granted", func(cfg *ghclient.Config) { cfg.Scopes = []string{"write:sensors"} }, 400, ghclient.CodeInvalidScope, 1},
		{"no grant for the API", func(cfg *ghclient.Config) { cfg.Audience = other }, 403, ghclient.CodeAccessDenied, 1},
		{"unknown API", func(cfg *ghclient.Config) { cfg.Audience = "https://nowhere.interop.test" }, 400, ghclient.CodeInvalidTarget, 1},
		{"every secret wrong", func(cfg *ghclient.Config) { cfg.Secrets = []string{"gths_wrong1", "gths_wrong2"} }, 401, ghclient.CodeInvalidClient, 2},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			src, counter, _ := newSource(t, srv, c, aud, tc.mod)
			_, err := src.Token()
			var oe *ghclient.Error
			if !errors.As(err, &oe) || oe.Status != tc.status || oe.Code != tc.code {
				t.Fatalf("got %v, want *ghclient.Error %d %s", err, tc.status, tc.code)
			}
			if n := counter.count(); n != tc.requests {
				t.Fatalf("%d token requests, want %d (no retry)", n, tc.requests)
			}
			if strings.Contains(err.Error(), c.secret) || strings.Contains(err.Error(), "gths_wrong") {
				t.Fatal("a secret in the error")
			}
		})
	}
}

// TestSDKSecretRotation rotates a client's secret while it keeps calling an
// API: the source holds the old and the new secret, the old one is revoked
// with the command line mid-run, and no call fails.
func TestSDKSecretRotation(t *testing.T) {
	srv, _ := sharedServers(t)
	aud := srv.newAPI(t, "ES256", "read:sensors")
	c := srv.newClient(t, "sdk rotation")
	srv.grant(t, c, aud, "read:sensors")
	srv.token(t, c, aud)
	added := srv.admin(t, "client", "secret", "add", c.id)
	newSecret := str(added, "client_secret")
	srv.token(t, client{id: c.id, secret: newSecret}, aud)

	v, err := verify.New(verify.Config{Issuer: srv.issuer, Audience: aud, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(v.Require("read:sensors")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	})))
	defer api.Close()

	src, counter, clk := newSource(t, srv, c, aud, func(cfg *ghclient.Config) { cfg.Secrets = []string{c.secret, newSecret} })
	hcAPI := src.Client()
	call := func() error {
		clk.Add(25 * time.Hour) // every call needs a new token: each one asks the server
		resp, err := hcAPI.Get(api.URL)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("API answered %d", resp.StatusCode)
		}
		return nil
	}
	for range 5 {
		if err := call(); err != nil {
			t.Fatalf("before the rotation: %v", err)
		}
	}
	done := make(chan cliResult, 1)
	go func() { done <- srv.run(t, nil, "client", "secret", "revoke", c.id, c.secretID) }()
	var revoked *cliResult
	calls, deadline := 0, time.Now().Add(setupDeadline+propagation)
	for {
		if err := call(); err != nil {
			t.Fatalf("call %d during the rotation failed: %v", calls, err)
		}
		calls++
		if revoked == nil {
			select {
			case r := <-done:
				if r.code != 0 {
					t.Fatalf("secret revoke: exit %d: %s", r.code, r.stderr)
				}
				revoked = &r
			default:
			}
		}
		counter.mu.Lock()
		statuses, secrets := append([]int(nil), counter.statuses...), append([]string(nil), counter.secrets...)
		counter.mu.Unlock()
		// Done once the old secret was refused and the new one then carried
		// twenty token requests.
		refused := -1
		for i, s := range statuses {
			if s == http.StatusUnauthorized {
				refused = i
				break
			}
		}
		if refused >= 0 && len(secrets)-refused > 20 {
			for i := refused + 1; i < len(secrets); i++ {
				if secrets[i] != newSecret || statuses[i] != 200 {
					t.Fatalf("token request %d after the fallback used the old secret or failed (%d)", i, statuses[i])
				}
			}
			if secrets[refused] != c.secret {
				t.Fatal("the refused request did not carry the old secret")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d calls the old secret was never refused (revoked: %v)", calls, revoked != nil)
		}
	}
	t.Logf("%d calls through the rotation, none failed", calls)
}

// TestSDKVerifier verifies real tokens of every algorithm with package
// verify's middleware, and refuses a token for another audience, a token
// without the scope and, by default, the auth0 dialect's typ.
func TestSDKVerifier(t *testing.T) {
	def, slash := sharedServers(t)
	tests := []struct {
		name    string
		srv     *proc
		alg     string
		dialect string
	}{
		{"RS256", def, "RS256", ""},
		{"ES256", def, "ES256", ""},
		{"PS256", def, "PS256", ""},
		{"EdDSA", def, "EdDSA", ""},
		{"RS256 behind an issuer with a trailing slash", slash, "RS256", ""},
		{"ES256 auth0 dialect", def, "ES256", "auth0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.srv
			aud := unique(tc.alg)
			args := []string{"api", "create", "--identifier", aud, "--signing-alg", tc.alg, "--scope", "read:sensors"}
			if tc.dialect != "" {
				args = append(args, "--token-dialect", tc.dialect)
			}
			p.admin(t, args...)
			other := p.newAPI(t, tc.alg)
			c := p.newClient(t, "sdk verifier "+tc.name)
			noScope := p.newClient(t, "sdk verifier without scope "+tc.name)
			p.grant(t, c, aud, "read:sensors")
			p.grant(t, c, other)
			p.grant(t, noScope, aud)
			p.token(t, c, aud)
			p.token(t, noScope, aud)

			types := []string{verify.TypeAccessToken}
			if tc.dialect == "auth0" {
				types = append(types, verify.TypeJWT)
			}
			v, err := verify.New(verify.Config{Issuer: p.issuer, Audience: aud, Types: types, HTTPClient: hc, Realm: "sensors"})
			if err != nil {
				t.Fatal(err)
			}
			var seen *verify.Claims
			api := httptest.NewServer(v.Require("read:sensors")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen, _ = verify.ClaimsFromContext(r.Context())
				fmt.Fprint(w, "ok")
			})))
			defer api.Close()

			src, _, _ := newSource(t, p, c, aud, nil)
			resp, err := src.Client().Get(api.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || seen == nil {
				t.Fatalf("a real %s token: HTTP %d", tc.alg, resp.StatusCode)
			}
			wantSub := c.id
			if tc.dialect == "auth0" {
				wantSub = c.id + "@clients"
			}
			if seen.Algorithm != tc.alg || seen.Subject != wantSub || seen.ClientID != c.id || !seen.HasScope("read:sensors") || seen.Issuer != p.issuer {
				t.Fatalf("claims %+v", seen)
			}

			refusals := []struct {
				name      string
				token     string
				verifier  *verify.Verifier
				status    int
				challenge string
			}{
				{"another audience", p.token(t, c, other), v, 401,
					`error="invalid_token", error_description="the access token is for another audience"`},
				{"no scope", p.token(t, noScope, aud), v, 403, `error="insufficient_scope"`},
			}
			if tc.dialect == "auth0" {
				strict, err := verify.New(verify.Config{Issuer: p.issuer, Audience: aud, HTTPClient: hc})
				if err != nil {
					t.Fatal(err)
				}
				refusals = append(refusals, struct {
					name      string
					token     string
					verifier  *verify.Verifier
					status    int
					challenge string
				}{"typ JWT when only at+jwt is accepted", p.token(t, c, aud), strict, 401, `error="invalid_token"`})
			}
			for _, r := range refusals {
				w := httptest.NewRecorder()
				req := httptest.NewRequest("GET", "/", nil)
				req.Header.Set("Authorization", "Bearer "+r.token)
				r.verifier.Require("read:sensors")(http.NotFoundHandler()).ServeHTTP(w, req)
				if w.Code != r.status || !strings.Contains(w.Header().Get("WWW-Authenticate"), r.challenge) {
					t.Fatalf("%s: HTTP %d %q, want %d with %s", r.name, w.Code, w.Header().Get("WWW-Authenticate"), r.status, r.challenge)
				}
				var body map[string]string
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] == "" || body["error_description"] == "" {
					t.Fatalf("%s: body %s", r.name, w.Body)
				}
			}
		})
	}
}

// TestSDKExamples builds examples/api and examples/client and runs them
// against a real server as the README shows.
func TestSDKExamples(t *testing.T) {
	srv, _ := sharedServers(t)
	aud := srv.newAPI(t, "RS256", "read:sensors")
	c := srv.newClient(t, "sdk examples")
	srv.grant(t, c, aud, "read:sensors")
	srv.token(t, c, aud)

	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"api", "client"} {
		build := exec.Command("go", "build", "-o", filepath.Join(dir, name), "./examples/"+name)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build ./examples/%s: %v\n%s", name, err, out)
		}
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var apiLog testutil.Buffer
	apiCmd := exec.Command(filepath.Join(dir, "api"), "--issuer", srv.issuer, "--audience", aud, "--addr", addr)
	apiCmd.Stdout, apiCmd.Stderr = &apiLog, &apiLog
	if err := apiCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = apiCmd.Process.Kill()
		_ = apiCmd.Wait()
	}()
	ctx, cancel := context.WithTimeout(t.Context(), setupDeadline)
	defer cancel()
	for {
		resp, err := hc.Get("http://" + addr + "/v1/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("ping without a token: HTTP %d", resp.StatusCode)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("examples/api did not listen: %v\n%s", err, apiLog.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	run := exec.Command(filepath.Join(dir, "client"), "--issuer", srv.issuer, "--client-id", c.id, "--audience", aud, "--api", "http://"+addr)
	run.Env = append(os.Environ(), "CLIENT_SECRET="+c.secret)
	var out, errb bytes.Buffer
	run.Stdout, run.Stderr = &out, &errb
	if err := run.Run(); err != nil {
		t.Fatalf("examples/client: %v\n%s%s", err, out.String(), errb.String())
	}
	for _, want := range []string{"GET /v1/ping -> 200 OK", "GET /v1/sensors -> 200 OK", "greenhouse-1", "4 API calls, 2 request(s)"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("examples/client printed no %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String()+errb.String()+apiLog.String(), c.secret) {
		t.Fatal("a secret was printed")
	}
}
