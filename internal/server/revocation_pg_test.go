package server_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage/postgres"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
	"github.com/gatehouse-dev/gatehouse/verify"
)

// TestRevocationReachesEveryInstance runs two instances on one PostgreSQL
// schema, each polling the change feed only every ten seconds so that
// changes travel by LISTEN/NOTIFY: an access token revoked at instance A is
// inactive at B's introspection endpoint within one second, and refused by
// an API whose verifier is in introspection mode against B, and so is
// every token of a client the administrator revoked.
func TestRevocationReachesEveryInstance(t *testing.T) {
	dsn, _ := testutil.PostgresSchema(t, "gh_revoke_")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := config.Default()
	cfg.DB, cfg.Issuer, cfg.SyncInterval = dsn, "https://gatehouse.test", 10*time.Second
	mk := make([]byte, 32)
	_, _ = rand.Read(mk)
	bases := make([]string, 2)
	var svc *admin.Service
	for i := range bases {
		store, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		if i == 0 {
			svc = &admin.Service{Store: store}
			if _, err := svc.CreateAPI(ctx, admin.APIInput{Identifier: audience, Scopes: scopes("read")}); err != nil {
				t.Fatal(err)
			}
		}
		srv, err := server.New(ctx, cfg, store, mk, server.Options{GenerateKey: testutil.KeyGenerator()})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(ts.Close)
		wait := srv.Start(ctx)
		t.Cleanup(func() { cancel(); wait() })
		bases[i] = ts.URL
	}
	a, b := bases[0], bases[1]
	newParty := func(name string) party {
		c, sec, err := svc.CreateClient(ctx, admin.ClientInput{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return party{c.ClientID, sec.Plain}
	}
	owner, rs := newParty("owner"), newParty("resource server")
	if _, err := svc.CreateGrant(ctx, owner.id, audience, []string{"read"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddIntrospector(ctx, audience, rs.id); err != nil {
		t.Fatal(err)
	}
	introspect := func(base, tok string) answer {
		return post(t, base, "/oauth/introspect", rs.id, rs.secret, url.Values{"token": {tok}})
	}
	token := func(base string) string {
		t.Helper()
		var r answer
		eventually(t, 5*time.Second, "the client's grant on "+base, func() bool {
			r = post(t, base, "/oauth/token", owner.id, owner.secret, url.Values{"grant_type": {"client_credentials"}, "audience": {audience}})
			return r.status == 200
		})
		return r.json["access_token"].(string)
	}
	tok := token(a)
	eventually(t, 5*time.Second, "the introspection right on B", func() bool { return introspect(b, tok).active() })
	// An API verifying in introspection mode against B.
	ttl := 100 * time.Millisecond
	api, err := verify.New(verify.Config{Issuer: cfg.Issuer, Audience: audience, JWKSURL: b + "/.well-known/jwks.json",
		Introspection: &verify.Introspection{ClientID: rs.id, ClientSecret: rs.secret, URL: b + "/oauth/introspect", CacheTTL: ttl}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Verify(ctx, tok); err != nil {
		t.Fatalf("the API's verifier, before the revocation: %v", err)
	}

	if r := post(t, a, "/oauth/revoke", owner.id, owner.secret, url.Values{"token": {tok}}); r.status != 200 {
		t.Fatalf("revoke at A: %d %s", r.status, r.body)
	}
	if introspect(a, tok).active() {
		t.Fatal("A, which revoked the token, still says active")
	}
	took := eventually(t, time.Second, "the revocation on B", func() bool { return !introspect(b, tok).active() })
	t.Logf("the revocation reached B %s after A answered", took.Round(time.Millisecond))
	took = eventually(t, time.Second+ttl, "the revocation at the API verifying against B", func() bool {
		_, err := api.Verify(ctx, tok)
		return errors.Is(err, verify.ErrRevoked)
	})
	t.Logf("the API refused the token %s after A answered (cache %s)", took.Round(time.Millisecond), ttl)

	second := token(b)
	if _, err := svc.RevokeClientTokens(ctx, owner.id); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "every token of the client on both", func() bool { return !introspect(a, second).active() && !introspect(b, second).active() })
}

// eventually polls cond until it holds and returns how long that took; it
// fails the test after limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	begin := time.Now()
	for !cond() {
		if time.Since(begin) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(begin)
}
