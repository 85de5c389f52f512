package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// TestNoCredentialInLogs runs a realistic life through a real server with
// the log at debug — provisioning, tokens by form, JSON and HTTP Basic,
// wrong and misplaced secrets, a rotation with grace, a revocation, a
// disabled client, a key rotation — and asserts that no log line holds any
// client secret or access token the flow produced, nor the master key.
func TestNoCredentialInLogs(t *testing.T) {
	// The flow fails authentication some twenty times from one address:
	// more than the default brute-force limit allows.
	l := startLive(t, server.Options{}, func(c *config.Config) { c.AuthFailureLimit = 1000 })
	var issued []string // every secret and token of the flow
	ctx := l.ctx
	for _, in := range []admin.APIInput{
		{Identifier: audience, Scopes: scopes("read", "write")},
		{Identifier: other, SigningAlg: "ES256", Scopes: scopes("read")},
	} {
		if _, err := l.admin.CreateAPI(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	c, first, err := l.admin.CreateClient(ctx, admin.ClientInput{Name: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	issued = append(issued, first.Plain)
	for _, aud := range []string{audience, other} {
		if _, err := l.admin.CreateGrant(ctx, c.ClientID, aud, []string{"read"}); err != nil {
			t.Fatal(err)
		}
	}
	l.sync()

	type call struct {
		name   string
		ctype  string
		body   string
		basic  [2]string // id, secret
		query  string
		header map[string]string
		status int
		authed bool // reaches past client authentication (as every 200 does)
	}
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	jsonBody := func(kv ...string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	calls := func(sec string) []call {
		return []call{
			{name: "form", ctype: "application/x-www-form-urlencoded", body: form("grant_type", "client_credentials", "client_id", c.ClientID, "client_secret", sec, "audience", audience), status: 200},
			{name: "json", ctype: "application/json", body: jsonBody("grant_type", "client_credentials", "client_id", c.ClientID, "client_secret", sec, "audience", other), status: 200},
			{name: "basic", ctype: "application/x-www-form-urlencoded", body: form("grant_type", "client_credentials", "audience", audience), basic: [2]string{c.ClientID, sec}, status: 200},
			{name: "wrong secret", ctype: "application/json", body: jsonBody("grant_type", "client_credentials", "client_id", c.ClientID, "client_secret", sec+"x", "audience", audience), status: 401},
			{name: "wrong basic secret", ctype: "application/x-www-form-urlencoded", body: form("grant_type", "client_credentials"), basic: [2]string{c.ClientID, "not-" + sec}, status: 401},
			{name: "secret pasted as client_id", ctype: "application/x-www-form-urlencoded", body: form("grant_type", "client_credentials", "client_id", sec, "client_secret", sec), status: 401},
			{name: "secret in the query", ctype: "application/x-www-form-urlencoded", body: form("grant_type", "client_credentials"), query: "client_secret=" + url.QueryEscape(sec), status: 400},
			{name: "secret in X-Request-Id", ctype: "application/x-www-form-urlencoded", body: form("grant_type", "client_credentials", "client_id", c.ClientID, "client_secret", sec, "audience", audience), header: map[string]string{"X-Request-Id": sec}, status: 200},
			{name: "two methods", ctype: "application/x-www-form-urlencoded", body: form("grant_type", "client_credentials", "client_id", c.ClientID, "client_secret", sec), basic: [2]string{c.ClientID, sec}, status: 400},
			{name: "duplicate parameter", ctype: "application/x-www-form-urlencoded", body: "client_secret=" + url.QueryEscape(sec) + "&client_secret=" + url.QueryEscape(sec), status: 400},
			{name: "malformed json", ctype: "application/json", body: `{"client_secret":"` + sec + `"`, status: 400},
			{name: "no grant", ctype: "application/x-www-form-urlencoded", body: form("grant_type", "client_credentials", "client_id", c.ClientID, "client_secret", sec, "audience", "https://nope.test"), status: 400, authed: true},
		}
	}
	run := func(sec string, wantOK bool) {
		t.Helper()
		for _, cl := range calls(sec) {
			resp, body := l.req(http.MethodPost, "/oauth/token"+map[bool]string{true: "?" + cl.query, false: ""}[cl.query != ""], cl.ctype, cl.body, func(r *http.Request) {
				if cl.basic[0] != "" {
					r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(cl.basic[0])+":"+url.QueryEscape(cl.basic[1]))))
				}
				for k, v := range cl.header {
					r.Header.Set(k, v)
				}
			})
			want := cl.status
			if !wantOK && (want == 200 || cl.authed) {
				want = 401
			}
			if resp.StatusCode != want {
				t.Fatalf("%s: %d %s, want %d", cl.name, resp.StatusCode, body, want)
			}
			var tr struct {
				AccessToken string `json:"access_token"`
			}
			_ = json.Unmarshal(body, &tr)
			issued = append(issued, tr.AccessToken)
		}
	}
	run(first.Plain, true)

	// Rotate: the old secret works during the grace, the new one at once.
	second, err := l.admin.RotateSecret(ctx, c.ClientID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	issued = append(issued, second.Plain)
	l.sync()
	run(second.Plain, true)
	run(first.Plain, true)
	// Revoke the old one: refused.
	if err := l.admin.RevokeSecret(ctx, c.ClientID, first.ID); err != nil {
		t.Fatal(err)
	}
	l.sync()
	run(first.Plain, false)
	// Disable and enable the client.
	if _, err := l.admin.SetClientDisabled(ctx, c.ClientID, true); err != nil {
		t.Fatal(err)
	}
	l.sync()
	run(second.Plain, false)
	if _, err := l.admin.SetClientDisabled(ctx, c.ClientID, false); err != nil {
		t.Fatal(err)
	}
	// A key rotation, as gatehouse key rotate --force does it.
	if _, err := l.srv.Keys().Rotate(ctx, keys.RotateOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	l.sync()
	run(second.Plain, true)
	// Let the last-use writer run at least once.
	time.Sleep(3 * l.cfg.SyncInterval)

	tokens := 0
	for _, v := range issued {
		if strings.Count(v, ".") == 2 {
			tokens++
		}
	}
	if tokens < 10 {
		t.Fatalf("the flow issued only %d tokens: it did not exercise issuance", tokens)
	}
	logs := l.logs.String()
	if n := strings.Count(logs, "\n"); n < 50 {
		t.Fatalf("only %d log lines: the log is not capturing the flow", n)
	}
	if leaks := testutil.Leaks(logs, issued, l.masterKey); len(leaks) > 0 {
		t.Fatalf("the log leaks credentials:\n%s", strings.Join(leaks, "\n"))
	}
}

// TestLeaksDetects proves the leak check can fail: each kind of leak it
// looks for is found.
func TestLeaksDetects(t *testing.T) {
	mk := []byte("0123456789abcdef0123456789abcdef")
	sec := "gths_" + strings.Repeat("Q", 43)
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjbGllbnQifQ.c2ln"
	for _, tc := range []struct {
		name, logs string
	}{
		{"verbatim value", `{"msg":"x","v":"opaque-credential-1"}`},
		{"secret shape", `{"msg":"x","v":"` + sec + `"}`},
		{"jwt shape", `{"msg":"x","v":"` + jwt + `"}`},
		{"master key base64", `{"k":"` + base64.StdEncoding.EncodeToString(mk) + `"}`},
	} {
		if got := testutil.Leaks(tc.logs, []string{"opaque-credential-1"}, mk); len(got) == 0 {
			t.Errorf("%s: not detected", tc.name)
		}
	}
	if got := testutil.Leaks(`{"msg":"secret hint","hint":"gths_…abcd"}`, []string{"opaque-credential-1"}, mk); len(got) != 0 {
		t.Errorf("a hint is not a leak: %v", got)
	}
}
