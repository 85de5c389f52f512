package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// clock is a time the test moves.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }
func (c *clock) opts() server.Options {
	return server.Options{Now: c.now, AuditFlushInterval: 20 * time.Millisecond}
}
func trustLoopback(c *config.Config) { c.TrustedProxies = "127.0.0.1/32" }
func tokenForm(id, secret string) string {
	return form2("grant_type", "client_credentials", "client_id", id, "client_secret", secret, "audience", audience)
}

func form2(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

// seedClient creates the API, a client (registered for method, "" for the
// default) granted "read" on it, and syncs.
func seedClient(t *testing.T, l *live, method string) (id, secret string) {
	t.Helper()
	if _, err := l.admin.GetAPI(l.ctx, audience); err != nil {
		if _, err := l.admin.CreateAPI(l.ctx, admin.APIInput{Identifier: audience, Scopes: scopes("read")}); err != nil {
			t.Fatal(err)
		}
	}
	c, sec, err := l.admin.CreateClient(l.ctx, admin.ClientInput{Name: "svc", TokenEndpointAuthMethod: method})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.admin.CreateGrant(l.ctx, c.ClientID, audience, []string{"read"}); err != nil {
		t.Fatal(err)
	}
	l.sync()
	return c.ClientID, sec.Plain
}

// from sends the request as coming from addr through the trusted proxy.
func from(addr string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("X-Forwarded-For", addr) }
}

// TestBruteForceDoesNotLockOutTheRealClient is issue 5's acceptance test:
// 10,000 wrong-secret attempts against one client from one address are
// throttled (429) while the real client, from another address, keeps
// getting tokens throughout. The clock stands still, so the limit does not
// refill: exactly the default limit of attempts is checked, the rest are
// refused before any secret comparison. Metrics and the audit trail see it.
func TestBruteForceDoesNotLockOutTheRealClient(t *testing.T) {
	clk := newClock()
	l := startLive(t, clk.opts(), trustLoopback)
	l.admin.Now = clk.now // the client exists from the clock's start
	id, secret := seedClient(t, l, "")
	const attempts, every = 10_000, 100
	codes := map[int]int{}
	real := 0
	start := time.Now()
	for i := range attempts {
		resp, body := l.req("POST", "/oauth/token", "application/x-www-form-urlencoded", tokenForm(id, fmt.Sprintf("gths_guess%d", i)), from("198.51.100.7"))
		codes[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests && codes[429] == 1 {
			var e map[string]string
			_ = json.Unmarshal(body, &e)
			if e["error"] != "too_many_requests" || e["error_description"] == "" || resp.Header.Get("Retry-After") != "6" {
				t.Errorf("first 429: %s, Retry-After %q; want too_many_requests and 6 (one attempt per 60s/10)", body, resp.Header.Get("Retry-After"))
			}
		}
		if i%every == 0 {
			resp, body := l.req("POST", "/oauth/token", "application/x-www-form-urlencoded", tokenForm(id, secret), from("192.0.2.10"))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("after %d attacks the real client got %d %s", i, resp.StatusCode, body)
			}
			real++
		}
	}
	elapsed := time.Since(start)
	t.Logf("%d attempts: %d answered 401, %d answered 429; the real client got %d of %d tokens; %s", attempts, codes[401], codes[429], real, attempts/every, elapsed.Round(time.Millisecond))
	if codes[401] != config.Default().AuthFailureLimit || codes[429] != attempts-codes[401] || len(codes) != 2 {
		t.Errorf("status counts %v, want %d × 401 and the rest 429", codes, config.Default().AuthFailureLimit)
	}
	// Another client ID from the attacker's address is still allowed (the
	// per-address limit is ten times looser), and the window refills.
	if resp, _ := l.req("POST", "/oauth/token", "application/x-www-form-urlencoded", tokenForm("someone-else", "x"), from("198.51.100.7")); resp.StatusCode != 401 {
		t.Errorf("another client_id from the attacker's address: %d, want 401", resp.StatusCode)
	}
	clk.add(6 * time.Second)
	if resp, _ := l.req("POST", "/oauth/token", "application/x-www-form-urlencoded", tokenForm(id, "again"), from("198.51.100.7")); resp.StatusCode != 401 {
		t.Errorf("after Retry-After: %d, want 401 (one more attempt checked)", resp.StatusCode)
	}

	m := l.scrape(l.url)
	for series, want := range map[string]float64{
		`gatehouse_token_auth_failures_total{reason="throttled"}`:                            float64(codes[429]),
		`gatehouse_token_auth_failures_total{reason="invalid_secret"}`:                       float64(codes[401] + 1),
		`gatehouse_token_auth_failures_total{reason="unknown_client"}`:                       1,
		fmt.Sprintf(`gatehouse_tokens_issued_total{audience=%q,client_id=%q}`, audience, id): float64(real),
	} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}

	// The audit trail: every token and every checked failure, with the
	// addresses, once the background writer has run.
	deadline := time.Now().Add(5 * time.Second)
	var events []storage.AuditEvent
	for {
		var err error
		if events, err = l.store.ListAudit(l.ctx, storage.AuditFilter{ClientID: id}); err != nil {
			t.Fatal(err)
		}
		if len(events) >= real+codes[401]+1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	count := map[string]int{}
	for _, e := range events {
		count[e.Action]++
		switch e.Action {
		case storage.AuditTokenIssued:
			if e.RemoteAddr != "192.0.2.10" || e.Details["jti"] == "" || e.Details["scope"] != "read" || e.Details["audience"] != audience {
				t.Fatalf("token.issued = %+v", e)
			}
		case storage.AuditAuthFailed:
			if e.RemoteAddr != "198.51.100.7" || e.Details["reason"] != "invalid_secret" || e.Outcome != storage.OutcomeFailure {
				t.Fatalf("auth.failed = %+v", e)
			}
		}
	}
	if count[storage.AuditTokenIssued] != real || count[storage.AuditAuthFailed] != codes[401]+1 {
		t.Errorf("audit events %v, want %d token.issued and %d auth.failed (throttled attempts are counted, not audited)", count, real, codes[401]+1)
	}
}

// TestTokenQuota: a quota of 3 tokens a minute lets a client have 3, then
// answers 429 with Retry-After and the RateLimit fields, until the window
// has refilled enough for one more; another client has its own quota.
func TestTokenQuota(t *testing.T) {
	clk := newClock()
	l := startLive(t, clk.opts(), func(c *config.Config) { c.TokenQuota = "3/m" })
	l.admin.Now = clk.now
	id, secret := seedClient(t, l, "")
	id2, secret2 := seedClient(t, l, "")
	post := func(id, secret string) (*http.Response, []byte) {
		return l.req("POST", "/oauth/token", "application/x-www-form-urlencoded", tokenForm(id, secret), nil)
	}
	for i := range 3 {
		if resp, body := post(id, secret); resp.StatusCode != 200 {
			t.Fatalf("token %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	resp, body := post(id, secret)
	var e map[string]string
	_ = json.Unmarshal(body, &e)
	if resp.StatusCode != 429 || e["error"] != "too_many_requests" || resp.Header.Get("Retry-After") != "20" ||
		resp.Header.Get("RateLimit-Policy") != `"per-3-m";q=3;w=60` || resp.Header.Get("RateLimit") != `"per-3-m";r=0;t=20` {
		t.Errorf("4th token: %d %s, Retry-After %q, RateLimit-Policy %q, RateLimit %q", resp.StatusCode, body,
			resp.Header.Get("Retry-After"), resp.Header.Get("RateLimit-Policy"), resp.Header.Get("RateLimit"))
	}
	if resp, _ := post(id2, secret2); resp.StatusCode != 200 {
		t.Errorf("another client: %d, want its own quota", resp.StatusCode)
	}
	clk.add(19 * time.Second)
	if resp, _ := post(id, secret); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("19s later: %d, Retry-After %q; want 429 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	clk.add(time.Second)
	if resp, _ := post(id, secret); resp.StatusCode != 200 {
		t.Errorf("after Retry-After: %d, want 200", resp.StatusCode)
	}
}

// TestAuthMethodEnforced: a client registered for client_secret_basic that
// sends its secret in the body is refused invalid_client (RFC 7591 §2), and
// that is not counted as a guess; a client registered for
// client_secret_post (the default) may use either method (docs/reference/protocol.md).
func TestAuthMethodEnforced(t *testing.T) {
	l := startLive(t, server.Options{})
	basicID, basicSecret := seedClient(t, l, storage.AuthMethodClientSecretBasic)
	postID, postSecret := seedClient(t, l, "")
	basic := func(id, secret string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
	}
	body := form2("grant_type", "client_credentials", "audience", audience)
	for i := range 15 { // more than the brute-force limit: the right secret is no guess
		resp, b := l.req("POST", "/oauth/token", "application/x-www-form-urlencoded", tokenForm(basicID, basicSecret), nil)
		var e map[string]string
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != 401 || e["error"] != "invalid_client" {
			t.Fatalf("basic client by post, try %d: %d %s", i, resp.StatusCode, b)
		}
	}
	if resp, b := l.req("POST", "/oauth/token", "application/x-www-form-urlencoded", body, basic(basicID, basicSecret)); resp.StatusCode != 200 {
		t.Errorf("basic client by basic: %d %s", resp.StatusCode, b)
	}
	if resp, b := l.req("POST", "/oauth/token", "application/x-www-form-urlencoded", body, basic(postID, postSecret)); resp.StatusCode != 200 {
		t.Errorf("post client by basic: %d %s", resp.StatusCode, b)
	}
	if resp, b := l.req("POST", "/oauth/token", "application/x-www-form-urlencoded", tokenForm(postID, postSecret), nil); resp.StatusCode != 200 {
		t.Errorf("post client by post: %d %s", resp.StatusCode, b)
	}
	if m := l.scrape(l.url); m[`gatehouse_token_auth_failures_total{reason="wrong_auth_method"}`] != 15 {
		t.Errorf("wrong_auth_method failures = %v, want 15", m[`gatehouse_token_auth_failures_total{reason="wrong_auth_method"}`])
	}
}

// TestNewClientPolledBeforeItSyncs: a script that creates a client and
// retries its first token request until the server knows it is not locked
// out by the failures of its own polling (made while the client_id named no
// client here), while guesses against the known client still count.
func TestNewClientPolledBeforeItSyncs(t *testing.T) {
	clk := newClock()
	l := startLive(t, clk.opts(), func(c *config.Config) { c.SyncInterval = time.Second })
	if _, err := l.admin.CreateAPI(l.ctx, admin.APIInput{Identifier: audience, Scopes: scopes("read")}); err != nil {
		t.Fatal(err)
	}
	l.sync()
	clk.add(time.Second)
	l.admin.Now = clk.now
	c, sec, err := l.admin.CreateClient(l.ctx, admin.ClientInput{Name: "new"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.admin.CreateGrant(l.ctx, c.ClientID, audience, []string{"read"}); err != nil {
		t.Fatal(err)
	}
	// The poller's failures, before this instance has synced the change.
	for i := range 20 {
		if resp, _ := l.req("POST", "/oauth/token", "application/x-www-form-urlencoded", tokenForm(c.ClientID, sec.Plain), nil); resp.StatusCode != 401 && resp.StatusCode != 429 {
			t.Fatalf("poll %d before the sync: %d", i, resp.StatusCode)
		}
	}
	l.sync()
	if resp, b := l.req("POST", "/oauth/token", "application/x-www-form-urlencoded", tokenForm(c.ClientID, sec.Plain), nil); resp.StatusCode != 200 {
		t.Fatalf("once synced: %d %s, want a token", resp.StatusCode, b)
	}
	for range 10 {
		l.req("POST", "/oauth/token", "application/x-www-form-urlencoded", tokenForm(c.ClientID, "guess"), nil)
	}
	if resp, _ := l.req("POST", "/oauth/token", "application/x-www-form-urlencoded", tokenForm(c.ClientID, "guess"), nil); resp.StatusCode != 429 {
		t.Errorf("guesses after the creation: %d, want 429", resp.StatusCode)
	}
}

// TestTokenQuotaPerAPI: a per-API quota limits a client for each API apart.
func TestTokenQuotaPerAPI(t *testing.T) {
	clk := newClock()
	l := startLive(t, clk.opts(), func(c *config.Config) { c.TokenQuotaPerAPI = "2/h" })
	l.admin.Now = clk.now
	id, secret := seedClient(t, l, "")
	if _, err := l.admin.CreateAPI(l.ctx, admin.APIInput{Identifier: other}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.admin.CreateGrant(l.ctx, id, other, nil); err != nil {
		t.Fatal(err)
	}
	l.sync()
	post := func(aud string) *http.Response {
		resp, _ := l.req("POST", "/oauth/token", "application/x-www-form-urlencoded",
			form2("grant_type", "client_credentials", "client_id", id, "client_secret", secret, "audience", aud), nil)
		return resp
	}
	for i := range 2 {
		if resp := post(audience); resp.StatusCode != 200 {
			t.Fatalf("token %d: %d", i+1, resp.StatusCode)
		}
	}
	if resp := post(audience); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1800" || resp.Header.Get("RateLimit-Policy") != `"per-2-h";q=2;w=3600` {
		t.Errorf("third for the API: %d, Retry-After %q, RateLimit-Policy %q", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("RateLimit-Policy"))
	}
	if resp := post(other); resp.StatusCode != 200 {
		t.Errorf("the other API: %d, want its own quota", resp.StatusCode)
	}
}
