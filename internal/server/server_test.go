package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
)

func getJSON(t *testing.T, f *fixture, path string, v any) *http.Response {
	t.Helper()
	resp, err := f.http.Client().Get(f.http.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return resp
}

func TestDiscovery(t *testing.T) {
	for _, issuer := range []string{"", "/"} {
		t.Run("issuer suffix "+issuer, func(t *testing.T) {
			var configured string
			f := newFixture(t, func(c *config.Config) { c.Issuer += issuer; configured = c.Issuer })
			var a, b map[string]any
			resp := getJSON(t, f, "/.well-known/openid-configuration", &a)
			getJSON(t, f, "/.well-known/oauth-authorization-server", &b)
			if resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
			}
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) != string(jb) {
				t.Fatalf("documents differ:\n%s\n%s", ja, jb)
			}
			base := strings.TrimSuffix(configured, "/")
			if a["issuer"] != configured || a["token_endpoint"] != base+"/oauth/token" || a["jwks_uri"] != base+"/.well-known/jwks.json" {
				t.Fatalf("metadata %v for issuer %q", a, configured)
			}
			mustContain(t, string(ja), `"grant_types_supported":["client_credentials","authorization_code","refresh_token"]`)
			mustContain(t, string(ja), `"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","private_key_jwt","none"]`)
			// The token carries the configured issuer verbatim too.
			r := f.postForm("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret, "audience", audience)
			if _, c := f.verify(r.str("access_token")); c["iss"] != configured {
				t.Fatalf("iss %v, want %q", c["iss"], configured)
			}
		})
	}
}

func TestJWKS(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.JWKSMaxAge = 90 * time.Second })
	var set jose.JSONWebKeySet
	resp := getJSON(t, f, "/.well-known/jwks.json", &set)
	if got := resp.Header.Get("Cache-Control"); got != "public, max-age=90" {
		t.Fatalf("Cache-Control %q", got)
	}
	// RS256 current and next.
	if len(set.Keys) != 2 {
		t.Fatalf("%d keys", len(set.Keys))
	}
	for _, k := range set.Keys {
		if !k.IsPublic() || k.KeyID == "" || k.Algorithm != "RS256" || k.Use != "sig" {
			t.Fatalf("key %+v", k)
		}
	}
	var raw map[string][]map[string]any
	getJSON(t, f, "/.well-known/jwks.json", &raw)
	for _, k := range raw["keys"] {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := k[private]; ok {
				t.Fatalf("JWKS publishes private member %q", private)
			}
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	f := newFixture(t)
	var h, r map[string]any
	if resp := getJSON(t, f, "/healthz", &h); resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	if resp := getJSON(t, f, "/readyz", &r); resp.StatusCode != 200 || r["status"] != "ok" {
		t.Fatalf("readyz %d %v", resp.StatusCode, r)
	}
	// With the database gone, readiness reports the fault and issuance for
	// known clients goes on from memory.
	f.store.Close()
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if resp := getJSON(t, f, "/readyz", &r); resp.StatusCode == 503 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("readyz with a closed store: %d %v", resp.StatusCode, r)
		}
	}
	mustContain(t, strings.Join(strings.Fields(toString(r["problems"])), " "), "storage")
	if tok := f.postForm("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret, "audience", audience); tok.status != 200 {
		t.Fatalf("issuance stopped with the database: %d %v", tok.status, tok.raw)
	}
}

func toString(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestChangesFromAnotherProcess writes through a second handle on the same
// database file, as the command line does, and checks that the running
// server follows within one second without any help.
func TestChangesFromAnotherProcess(t *testing.T) {
	f := newFixture(t, func(c *config.Config) {
		c.SyncInterval = 250 * time.Millisecond
		c.AuthFailureLimit = 1000 // the test polls with a client before it syncs: each poll is a failure
	})
	cli, err := sqlite.Open(f.ctx, strings.TrimPrefix(f.db, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	other := &admin.Service{Store: cli}
	ok := func() bool {
		r := f.postForm("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret, "audience", audience)
		return r.status == 200
	}
	within := func(what string, want bool) {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for ok() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not seen within one second", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	secrets, err := other.ListSecrets(f.ctx, f.clientID)
	if err != nil || len(secrets) != 1 {
		t.Fatal(secrets, err)
	}
	within("initial", true)
	if _, err := other.SetClientDisabled(f.ctx, f.clientID, true); err != nil {
		t.Fatal(err)
	}
	within("disable", false)
	if _, err := other.SetClientDisabled(f.ctx, f.clientID, false); err != nil {
		t.Fatal(err)
	}
	within("enable", true)
	rotated, err := other.RotateSecret(f.ctx, f.clientID, 0)
	if err != nil {
		t.Fatal(err)
	}
	within("rotation without grace", false)
	f.secret = rotated.Plain
	within("new secret", true)
	if err := other.RevokeSecret(f.ctx, f.clientID, rotated.ID); err != nil {
		t.Fatal(err)
	}
	within("revocation", false)
	// A new client, API and grant become usable.
	if _, err := other.CreateAPI(f.ctx, admin.APIInput{Identifier: "https://new.test", SigningAlg: "EdDSA"}); err != nil {
		t.Fatal(err)
	}
	c, sec, err := other.CreateClient(f.ctx, admin.ClientInput{Name: "new"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.CreateGrant(f.ctx, c.ClientID, "https://new.test", nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		r := f.postForm("grant_type", "client_credentials", "client_id", c.ClientID, "client_secret", sec.Plain, "audience", "https://new.test")
		if r.status == 200 {
			if h, _ := f.verify(r.str("access_token")); h.Algorithm != "EdDSA" {
				t.Fatalf("alg %s", h.Algorithm)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new client not usable within one second: %v", r.raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Deleting the API deletes the grant: re-creating the API must not
	// revive the old grant in the catalog.
	if err := other.DeleteAPI(f.ctx, "https://new.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.CreateAPI(f.ctx, admin.APIInput{Identifier: "https://new.test", SigningAlg: "EdDSA"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	f.sync()
	if r := f.postForm("grant_type", "client_credentials", "client_id", c.ClientID, "client_secret", sec.Plain, "audience", "https://new.test"); r.status != 403 {
		t.Fatalf("grant survived its API's deletion: %d %v", r.status, r.raw)
	}
}

// TestKeyRotationFollowed rotates keys through another handle and checks the
// running server signs with the new current key while still publishing the
// old one.
func TestKeyRotationFollowed(t *testing.T) {
	f := newFixture(t)
	before := f.postForm("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret, "audience", audience)
	oldHeader, _ := f.verify(before.str("access_token"))
	cli, err := sqlite.Open(f.ctx, strings.TrimPrefix(f.db, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	km, err := keys.New(keys.Config{Store: cli, MasterKey: f.masterKey, Generate: nil})
	if err != nil {
		t.Fatal(err)
	}
	if err := km.Load(f.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := km.Rotate(f.ctx, keys.RotateOptions{Force: true, MaxTokenLifetime: 24 * time.Hour, Algs: []string{"RS256"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		r := f.postForm("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret, "audience", audience)
		h, _ := f.verify(r.str("access_token"))
		if h.KeyID != oldHeader.KeyID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server still signs with the old key after one second")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The token signed before the rotation still verifies against the JWKS.
	f.verify(before.str("access_token"))
}

// TestLastUsedRecorded: a successful token request is recorded as the
// secret's last use, in the background.
func TestLastUsedRecorded(t *testing.T) {
	f := newFixture(t)
	before := time.Now().Add(-time.Second)
	if r := f.postForm("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret, "audience", audience); r.status != 200 {
		t.Fatal(r.raw)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		list, err := f.store.ListSecrets(f.ctx, f.clientID)
		if err != nil {
			t.Fatal(err)
		}
		if !list[0].LastUsedAt.IsZero() {
			if list[0].LastUsedAt.Before(before) {
				t.Fatalf("last used %v", list[0].LastUsedAt)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("last_used_at not written")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
