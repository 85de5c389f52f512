package interop_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// metadata is the part of the discovery document the tests read.
type metadata struct {
	Issuer        string   `json:"issuer"`
	TokenEndpoint string   `json:"token_endpoint"`
	JWKSURI       string   `json:"jwks_uri"`
	GrantTypes    []string `json:"grant_types_supported"`
	AuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
	Algs          []string `json:"id_token_signing_alg_values_supported"`
}

// TestDiscovery checks both metadata documents, the issuer rules of ARCHITECTURE.md
// §1 and the JWKS, for a derived issuer and for a configured one that ends
// in a slash, and that go-oidc's strict discovery accepts exactly the issuer
// configured.
func TestDiscovery(t *testing.T) {
	def, slash := sharedServers(t)
	tests := []struct {
		name   string
		srv    *proc
		issuer string // as configured, or derived from the listen address
	}{
		{"default issuer", def, "http://" + def.addr},
		{"issuer with a trailing slash", slash, "http://" + slash.addr + "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.srv.issuer != tc.issuer {
				t.Errorf("logged issuer %q, want %q", tc.srv.issuer, tc.issuer)
			}
			base := strings.TrimSuffix(tc.issuer, "/")
			var docs [][]byte
			for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
				var m metadata
				resp, raw, err := getJSON(base+path, &m)
				if err != nil {
					t.Fatal(err)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("%s: Content-Type %q", path, ct)
				}
				docs = append(docs, raw)
				if m.Issuer != tc.issuer {
					t.Errorf("%s: issuer %q, want the configured %q verbatim", path, m.Issuer, tc.issuer)
				}
				if m.TokenEndpoint != base+"/oauth/token" || m.JWKSURI != base+"/.well-known/jwks.json" {
					t.Errorf("%s: token_endpoint %q, jwks_uri %q, want them under %q", path, m.TokenEndpoint, m.JWKSURI, base)
				}
				if !slices.Contains(m.GrantTypes, "client_credentials") ||
					!slices.Contains(m.AuthMethods, "client_secret_basic") || !slices.Contains(m.AuthMethods, "client_secret_post") {
					t.Errorf("%s: grant types %v, auth methods %v", path, m.GrantTypes, m.AuthMethods)
				}
				for _, alg := range []string{"RS256", "ES256", "PS256", "EdDSA"} {
					if !slices.Contains(m.Algs, alg) {
						t.Errorf("%s: signing algs %v lack %s", path, m.Algs, alg)
					}
				}
			}
			if !bytes.Equal(docs[0], docs[1]) {
				t.Errorf("the two metadata documents differ:\n%s\n%s", docs[0], docs[1])
			}

			ctx := oidc.ClientContext(ctxWithClient(t), hc)
			provider, err := oidc.NewProvider(ctx, tc.issuer)
			if err != nil {
				t.Fatalf("go-oidc discovery with issuer %q: %v", tc.issuer, err)
			}
			if provider.Endpoint().TokenURL != base+"/oauth/token" {
				t.Errorf("go-oidc token URL %q", provider.Endpoint().TokenURL)
			}
			// The check is strict: the other spelling of the issuer fails.
			other := base + "/"
			if other == tc.issuer {
				other = base
			}
			var mismatch *oidc.IssuerMismatchError
			if _, err := oidc.NewProvider(ctx, other); !errors.As(err, &mismatch) {
				t.Errorf("go-oidc discovery with issuer %q: %v, want an issuer mismatch", other, err)
			}

			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			resp, _, err := getJSON(base+"/.well-known/jwks.json", &set)
			if err != nil {
				t.Fatal(err)
			}
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=300") {
				t.Errorf("JWKS Cache-Control %q, want max-age=300 (the default --jwks-max-age)", cc)
			}
			if len(set.Keys) < 2 {
				t.Errorf("JWKS has %d keys, want at least the RS256 current and next", len(set.Keys))
			}
			for _, k := range set.Keys {
				if str(k, "kid") == "" || str(k, "alg") == "" || str(k, "use") != "sig" {
					t.Errorf("JWK %v lacks kid, alg or use sig", k)
				}
				for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
					if _, ok := k[private]; ok {
						t.Errorf("JWK %s publishes private member %q", str(k, "kid"), private)
					}
				}
			}
		})
	}
}

// TestClientCredentials gets tokens with golang.org/x/oauth2/clientcredentials,
// the token URL taken from discovery.
func TestClientCredentials(t *testing.T) {
	srv, _ := sharedServers(t)
	aud := srv.newAPI(t, "ES256", "read", "write", "admin")
	c := srv.newClient(t, "x-oauth2")
	srv.grant(t, c, aud, "read", "write")
	srv.token(t, c, aud) // the server has caught up

	var meta metadata
	if _, _, err := getJSON(srv.base()+"/.well-known/openid-configuration", &meta); err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(ctxWithClient(t), oauth2.HTTPClient, hc)

	tests := []struct {
		name      string
		style     oauth2.AuthStyle
		params    url.Values
		secret    string // default: the client's
		scopes    []string
		wantScope string
		wantErr   string // RFC 6749 error code
		wantCode  int
	}{
		{name: "client_secret_post with audience", style: oauth2.AuthStyleInParams, params: url.Values{"audience": {aud}}, wantScope: "read write"},
		{name: "client_secret_basic with audience", style: oauth2.AuthStyleInHeader, params: url.Values{"audience": {aud}}, wantScope: "read write"},
		{name: "client_secret_basic with resource", style: oauth2.AuthStyleInHeader, params: url.Values{"resource": {aud}}, wantScope: "read write"},
		{name: "client_secret_post with a scope", style: oauth2.AuthStyleInParams, params: url.Values{"audience": {aud}}, scopes: []string{"write"}, wantScope: "write"},
		{name: "wrong secret", style: oauth2.AuthStyleInHeader, params: url.Values{"audience": {aud}}, secret: c.secret + "x", wantErr: "invalid_client", wantCode: http.StatusUnauthorized},
		{name: "unknown audience", style: oauth2.AuthStyleInParams, params: url.Values{"audience": {"https://unknown.interop.test"}}, wantErr: "invalid_target", wantCode: http.StatusBadRequest},
		{name: "scope not granted", style: oauth2.AuthStyleInParams, params: url.Values{"audience": {aud}}, scopes: []string{"admin"}, wantErr: "invalid_scope", wantCode: http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := clientcredentials.Config{
				ClientID: c.id, ClientSecret: c.secret, TokenURL: meta.TokenEndpoint,
				Scopes: tc.scopes, EndpointParams: tc.params, AuthStyle: tc.style,
			}
			if tc.secret != "" {
				cfg.ClientSecret = tc.secret
			}
			before := time.Now()
			tok, err := cfg.Token(ctx)
			if tc.wantErr != "" {
				var re *oauth2.RetrieveError
				if !errors.As(err, &re) || re.ErrorCode != tc.wantErr || re.Response.StatusCode != tc.wantCode {
					t.Fatalf("got token %v, error %v; want HTTP %d %s", tok, err, tc.wantCode, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "Bearer" {
				t.Errorf("token_type %q, want Bearer", tok.TokenType)
			}
			if lo, hi := before.Add(24*time.Hour-time.Minute), time.Now().Add(24*time.Hour+time.Minute); tok.Expiry.Before(lo) || tok.Expiry.After(hi) {
				t.Errorf("expiry %s, want about 24h from now", tok.Expiry)
			}
			if tok.RefreshToken != "" {
				t.Errorf("a refresh token came with client_credentials")
			}
			if got := tok.Extra("scope"); got != tc.wantScope {
				t.Errorf("scope %v, want %q", got, tc.wantScope)
			}
			claims := jwtPart(t, tok.AccessToken, 1)
			if claims["aud"] != aud || claims["client_id"] != c.id || claims["scope"] != tc.wantScope {
				t.Errorf("claims %v", claims)
			}
		})
	}
}

// TestOIDCVerify verifies tokens of every signing algorithm with go-oidc:
// strict discovery, the remote key set, audience and signature checks.
func TestOIDCVerify(t *testing.T) {
	def, slash := sharedServers(t)
	tests := []struct {
		name string
		srv  *proc
		alg  string
	}{
		{"RS256", def, "RS256"},
		{"ES256", def, "ES256"},
		{"PS256", def, "PS256"},
		{"EdDSA", def, "EdDSA"},
		{"ES256 under an issuer with a trailing slash", slash, "ES256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.srv.instance
			aud := in.newAPI(t, tc.alg, "read")
			other := in.newAPI(t, "ES256")
			c := in.newClient(t, "oidc-"+tc.alg)
			in.grant(t, c, aud, "read")
			in.grant(t, c, other)
			tok := tc.srv.token(t, c, aud)
			otherTok := tc.srv.token(t, c, other)

			ctx := oidc.ClientContext(ctxWithClient(t), hc)
			provider, err := oidc.NewProvider(ctx, tc.srv.issuer)
			if err != nil {
				t.Fatal(err)
			}
			verifier := provider.Verifier(&oidc.Config{ClientID: aud})
			idt, err := verifier.Verify(ctx, tok)
			if err != nil {
				t.Fatalf("go-oidc refused a %s token: %v", tc.alg, err)
			}
			if idt.Subject != c.id || idt.Issuer != tc.srv.issuer || !slices.Equal(idt.Audience, []string{aud}) {
				t.Errorf("verified token: sub %q, iss %q, aud %v", idt.Subject, idt.Issuer, idt.Audience)
			}
			if h := jwtPart(t, tok, 0); h["alg"] != tc.alg || h["typ"] != "at+jwt" {
				t.Errorf("header %v, want alg %s, typ at+jwt", h, tc.alg)
			}

			refused := []struct {
				name string
				tok  string
			}{
				{"token for another audience", otherTok},
				{"claims changed", tamperClaims(t, tok)},
				{"signature of another token", swapSignature(tok, otherTok)},
				{"alg none", algNone(t, tok)},
			}
			for _, r := range refused {
				if _, err := verifier.Verify(ctx, r.tok); err == nil {
					t.Errorf("go-oidc accepted a %s", r.name)
				}
			}
		})
	}
}

// tamperClaims makes the token's subject another client, keeping its
// signature.
func tamperClaims(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	claims := jwtPart(t, tok, 1)
	claims["sub"] = "someone-else"
	raw, _ := json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

func swapSignature(tok, from string) string {
	parts := strings.Split(tok, ".")
	parts[2] = strings.Split(from, ".")[2]
	return strings.Join(parts, ".")
}

func algNone(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	h := jwtPart(t, tok, 0)
	h["alg"] = "none"
	raw, _ := json.Marshal(h)
	return base64.RawURLEncoding.EncodeToString(raw) + "." + parts[1] + "."
}

// TestChangesReachServer revokes a secret and disables a client with the
// command line and measures how long the running server keeps accepting
// them: at most one second (ARCHITECTURE.md, docs/reference/cli.md).
func TestChangesReachServer(t *testing.T) {
	srv, _ := sharedServers(t)
	in := srv.instance
	aud := in.newAPI(t, "ES256")
	revoked := in.newClient(t, "revoked")
	kept := revoked
	added := in.admin(t, "client", "secret", "add", revoked.id)
	kept.secret, kept.secretID = str(added, "client_secret"), str(added, "id")
	disabled := in.newClient(t, "disabled")
	for _, c := range []client{revoked, disabled} {
		in.grant(t, c, aud)
	}
	for _, c := range []client{revoked, kept, disabled} {
		srv.token(t, c, aud)
	}

	tests := []struct {
		name     string
		args     []string
		creds    client
		accepted bool   // whether creds work afterwards
		still    client // credentials that must keep working
	}{
		{"secret revoked", []string{"client", "secret", "revoke", revoked.id, revoked.secretID}, revoked, false, kept},
		{"client disabled", []string{"client", "disable", disabled.id}, disabled, false, kept},
		{"client enabled again", []string{"client", "enable", disabled.id}, disabled, true, kept},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := in.run(t, nil, tc.args...)
			if r.code != 0 {
				t.Fatalf("gatehouse %s: exit %d: %s", strings.Join(tc.args, " "), r.code, r.stderr)
			}
			var last tokenReply
			for {
				reply, err := srv.postToken(tc.creds, aud)
				if err != nil {
					t.Fatal(err)
				}
				last = reply
				if tc.accepted && reply.status == http.StatusOK {
					break
				}
				if !tc.accepted && reply.status != http.StatusOK {
					if reply.status != http.StatusUnauthorized || str(reply.body, "error") != "invalid_client" {
						t.Fatalf("refused with %s, want 401 invalid_client", reply)
					}
					break
				}
				if time.Since(r.exited) > propagation {
					t.Fatalf("%s after the command exited the server still answers %s", propagation, last)
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("the server followed the command line after %s", time.Since(r.exited).Round(time.Millisecond))
			if reply, err := srv.postToken(tc.still, aud); err != nil || reply.status != http.StatusOK {
				t.Errorf("other credentials stopped working: %v %v", reply, err)
			}
		})
	}
}

// TestRestart stops a server with SIGTERM and starts it again on the same
// database: credentials still work, the signing keys are the same, a token
// issued before the restart still verifies; a different master key is
// refused with a one-line error.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	in := newInstance(dir)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	issuer := "http://" + addr
	args := []string{"--addr", addr, "--issuer", issuer}

	// Prepare the database with the command line before the first start:
	// migrate creates it (the admin commands refuse a missing database).
	in.admin(t, "migrate")
	aud := in.newAPI(t, "EdDSA", "read")
	c := in.newClient(t, "restart")
	in.grant(t, c, aud, "read")

	first := serve(t, "first server", in, args...)
	before := first.token(t, c, aud)
	kid, _ := jwtPart(t, before, 0)["kid"].(string)
	ctx := oidc.ClientContext(ctxWithClient(t), hc)
	verify := func(t *testing.T, tok string) error {
		t.Helper()
		provider, err := oidc.NewProvider(ctx, issuer)
		if err != nil {
			t.Fatal(err)
		}
		_, err = provider.Verifier(&oidc.Config{ClientID: aud}).Verify(ctx, tok)
		return err
	}
	if err := verify(t, before); err != nil {
		t.Fatalf("before the restart: %v", err)
	}
	took, err := first.stop()
	if err != nil {
		t.Fatalf("%v; %s", err, first.logs())
	}
	t.Logf("SIGTERM to exit: %s", took.Round(time.Millisecond))

	t.Run("wrong master key", func(t *testing.T) {
		wrong := in
		wrong.masterKey = newMasterKey()
		p, err := launch("server with a wrong master key", wrong, args...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.kill)
		select {
		case <-p.done:
		case <-time.After(startDeadline):
			t.Fatalf("still running after %s; %s", startDeadline, p.logs())
		}
		if p.waitErr == nil {
			t.Errorf("exited with status 0")
		}
		var errLines []string
		for _, line := range p.stderr.all() {
			if !json.Valid([]byte(line)) {
				errLines = append(errLines, line)
			}
		}
		if len(errLines) != 1 || !strings.Contains(strings.ToLower(errLines[0]), "master key") {
			t.Errorf("want one error line mentioning the master key; %s", p.logs())
		}
		select {
		case li := <-p.stderr.listening:
			t.Errorf("logged that it listens on %s", li[0])
		default:
		}
	})

	second := serve(t, "restarted server", in, args...)
	if second.issuer != issuer {
		t.Errorf("issuer after restart %q, want %q", second.issuer, issuer)
	}
	if kids := second.jwksKids(t); !slices.Contains(kids, kid) {
		t.Errorf("JWKS after restart %v lacks the kid %s of a token issued before", kids, kid)
	}
	if err := verify(t, before); err != nil {
		t.Errorf("a token issued before the restart no longer verifies: %v", err)
	}
	after := second.token(t, c, aud)
	if err := verify(t, after); err != nil {
		t.Errorf("a token issued after the restart does not verify: %v", err)
	}
	if k := jwtPart(t, after, 0)["kid"]; k != kid {
		t.Errorf("after the restart the server signs with %v, before with %s: the keys were not kept", k, kid)
	}
	if took, err := second.stop(); err != nil {
		t.Errorf("%v; %s", err, second.logs())
	} else {
		t.Logf("SIGTERM to exit: %s", took.Round(time.Millisecond))
	}
}

// TestTokenCommand runs `gatehouse token` against running servers.
func TestTokenCommand(t *testing.T) {
	def, slash := sharedServers(t)
	for _, srv := range []*proc{def, slash} {
		t.Run(srv.name, func(t *testing.T) {
			in := srv.instance
			aud := in.newAPI(t, "ES256", "read", "write")
			c := in.newClient(t, "token-command")
			in.grant(t, c, aud, "read", "write")
			srv.token(t, c, aud)
			kids := srv.jwksKids(t)

			common := []string{"token", "--issuer", srv.issuer, "--client-id", c.id, "--audience", aud}
			tests := []struct {
				name      string
				args      []string
				env       []string
				wantScope string
				wantErr   string // in the one error line; "" for success
			}{
				{name: "decode", args: []string{"--client-secret", c.secret, "--decode"}, wantScope: "read write"},
				{name: "decode with basic auth and a scope", args: []string{"--client-secret", c.secret, "--decode", "--auth", "basic", "--scope", "write"}, wantScope: "write"},
				{name: "secret from the environment", args: []string{"--decode"}, env: []string{"GATEHOUSE_CLIENT_SECRET=" + c.secret}, wantScope: "read write"},
				{name: "wrong secret", args: []string{"--client-secret", c.secret + "x", "--decode"}, wantErr: "invalid_client"},
				{name: "issuer spelled differently", args: []string{"--client-secret", c.secret, "--decode", "--issuer", otherSpelling(srv.issuer)}, wantErr: "issuer"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					r := in.run(t, tc.env, append(slices.Clone(common), tc.args...)...)
					if tc.wantErr != "" {
						if r.code == 0 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, tc.wantErr) {
							t.Errorf("exit %d, stdout %q, stderr %q; want one error line about %s", r.code, r.stdout, r.stderr, tc.wantErr)
						}
						return
					}
					if r.code != 0 {
						t.Fatalf("exit %d: %s", r.code, r.stderr)
					}
					var out struct {
						Header  map[string]any `json:"header"`
						Claims  map[string]any `json:"claims"`
						KID     string         `json:"verified_with_kid"`
						Token   string         `json:"access_token"`
						Expires float64        `json:"expires_in"`
					}
					if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
						t.Fatalf("%v in %q", err, r.stdout)
					}
					h, cl := out.Header, out.Claims
					if h["alg"] != "ES256" || h["typ"] != "at+jwt" || h["kid"] != out.KID || !slices.Contains(kids, out.KID) {
						t.Errorf("header %v, verified with %q; JWKS kids %v", h, out.KID, kids)
					}
					want := map[string]any{"iss": srv.issuer, "sub": c.id, "aud": aud, "client_id": c.id,
						"scope": tc.wantScope, "gty": "client-credentials"}
					for k, v := range want {
						if cl[k] != v {
							t.Errorf("claim %s = %#v, want %#v", k, cl[k], v)
						}
					}
					exp, _ := cl["exp"].(float64)
					iat, _ := cl["iat"].(float64)
					if exp-iat != 86400 || out.Expires != 86400 {
						t.Errorf("exp-iat %v, expires_in %v, want 86400", exp-iat, out.Expires)
					}
					if !reflectEqual(jwtPart(t, out.Token, 1), cl) {
						t.Errorf("printed claims differ from the token's")
					}
				})
			}
		})
	}
}

func otherSpelling(issuer string) string {
	if strings.HasSuffix(issuer, "/") {
		return strings.TrimSuffix(issuer, "/")
	}
	return issuer + "/"
}

func reflectEqual(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
