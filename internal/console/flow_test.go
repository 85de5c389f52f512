package console_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/clientcred"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// TestAdministratorFlow is the acceptance over HTTP: the first
// administrator signs in, creates an API with two scopes, a machine client
// and a grant; the test panel's request gets a token; a rotation with a
// grace shows both secrets; the old one is revoked; the activity chart
// counts the token and the audit trail names the person as the actor.
func TestAdministratorFlow(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.login(adminEmail)
	b.mustSee("signed in", http.StatusOK, "Applications", "billing")

	b.get("/console/apis")
	b.post("/console/apis", url.Values{"identifier": {"https://inventory.example.com/"}, "name": {"Inventory"},
		"scopes": {"read:items read the items\nwrite:items change the items"}, "lifetime": {"1h"}, "signing_alg": {"RS256"}, "token_dialect": {"rfc9068"}})
	b.mustSee("API created", http.StatusOK, "API https://inventory.example.com/ created.", "read:items", "write:items", "change the items")

	b.get("/console/applications")
	b.post("/console/applications", url.Values{"name": {"stock-sync"}})
	b.mustSee("client created", http.StatusOK, "New secret: copy it now")
	first := regexpValue(b.body, `id="new-secret" readonly value="([^"]+)"`)
	id := regexpValue(b.body, `<code id="client-id">([^<]+)</code>`)
	b.post("/console/applications/"+id+"/grants", url.Values{"audience": {"https://inventory.example.com/"}, "scopes": {"read:items write:items"}})
	b.mustSee("grant created", http.StatusOK, "Grant for https://inventory.example.com/ created.", `id="snippet-curl"`)

	// The curl snippet, as the person would run it with the secret.
	curl := unescape(regexpValue(b.body, `(?s)<code id="snippet-curl">(.*?)</code>`))
	tok := runCurl(t, curl, first)
	if tok == "" {
		t.Fatalf("the curl snippet got no token:\n%s", curl)
	}

	b.post("/console/applications/"+id+"/secrets/rotate", url.Values{"grace": {"2h"}})
	b.mustSee("rotated", http.StatusOK, "Secret rotated")
	second := regexpValue(b.body, `id="new-secret" readonly value="([^"]+)"`)
	rows := regexp.MustCompile(`<tr class="secret-row">`).FindAllStringIndex(b.body, -1)
	if len(rows) != 2 || !strings.Contains(b.body, "active, expiring") {
		t.Fatalf("after the rotation: %d secrets shown, want 2, the old one expiring:\n%s", len(rows), b.body)
	}
	if runCurl(t, curl, first) == "" || runCurl(t, curl, second) == "" {
		t.Fatal("during the grace both secrets must work")
	}
	secrets, err := f.svc.ListSecrets(f.ctx, id)
	if err != nil || len(secrets) != 2 {
		t.Fatalf("ListSecrets = %v, %v", secrets, err)
	}
	old := secrets[0].ID
	b.post("/console/applications/"+id+"/secrets/"+old+"/revoke", nil)
	b.mustSee("revoked", http.StatusOK, "Secret "+old+" revoked.")
	if strings.Count(b.body, `<tr class="secret-row">`) != 1 {
		t.Fatal("the revoked secret is still listed")
	}
	if runCurl(t, curl, first) != "" {
		t.Fatal("the revoked secret still gets a token")
	}

	deadline := time.Now().Add(20 * time.Second) // the counts are written every audit.DefaultCountInterval
	for {
		b.get("/console/activity?client=" + id)
		if strings.Contains(b.body, "Tokens issued per hour (at most") && regexp.MustCompile(`<td><code>`+id+`</code></td><td><code>https://inventory.example.com/</code></td><td>[3-9]</td>`).MatchString(b.body) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the activity page does not count the tokens:\n%s", b.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(b.body, "<svg") || !strings.Contains(b.body, `class="bar"`) {
		t.Fatal("no chart")
	}

	b.get("/console/audit?actor=" + url.QueryEscape(f.adminID))
	for _, action := range []string{storage.AuditAPICreated, storage.AuditClientCreated, storage.AuditGrantCreated, storage.AuditSecretRotated, storage.AuditSecretRevoked} {
		if !strings.Contains(b.body, "<td>"+action+"</td>") {
			t.Errorf("the audit trail filtered by the administrator lacks %s:\n%s", action, b.body)
		}
	}
	b.get("/console/audit?event=secret.revoked")
	if !strings.Contains(b.body, "<code>"+f.adminID+"</code>") || strings.Contains(b.body, "<td>api.created</td>") {
		t.Errorf("the audit trail filtered by event:\n%s", b.body)
	}

	b.get("/console/keys")
	b.mustSee("keys", http.StatusOK, "RS256 keys: next, current and previous", "<strong>current</strong>", "<strong>next</strong>")
	b.post("/console/keys/rotate", url.Values{"alg": {"RS256"}})
	b.mustSee("a rotation before the JWKS cache lifetime", http.StatusConflict, "JWKS cache lifetime", "wait")
}

// unescape undoes the escaping of a snippet on the page.
func unescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&#39;", "'", "&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(s)
}

// runCurl runs the curl snippet in a shell, as the person would, with the
// secret in CLIENT_SECRET, and returns the access token, or "" when
// refused.
func runCurl(t *testing.T, snippet, secret string) string {
	t.Helper()
	cmd := exec.Command("bash", "-c", snippet)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "CLIENT_SECRET="+secret)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the curl snippet failed: %v\n%s", err, snippet)
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(out, &body)
	return body.AccessToken
}

// BenchmarkApplicationsPage renders the applications page (search,
// filter, sort, one page of 50) over 10,000 clients, as a signed-in
// administrator, through the whole handler: the session, the management
// API's authorization and the template. The target is under 100
// ms a page.
func BenchmarkApplicationsPage(b *testing.B) {
	f := newFixture(b)
	var batch []storage.Client
	now := time.Now().UTC()
	for i := range 10_000 {
		batch = append(batch, storage.Client{ClientID: fmt.Sprintf("bench%06d", i), Name: fmt.Sprintf("service-%05d", i),
			AppType: storage.AppTypeNonInteractive, GrantTypes: []string{storage.GrantClientCredentials},
			TokenEndpointAuthMethod: storage.AuthMethodClientSecretPost, CreatedAt: now, UpdatedAt: now})
	}
	for _, c := range batch {
		if err := f.store.CreateClient(f.ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := f.srv.Catalog().Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	br := f.browser()
	br.login(adminEmail)
	br.mustSee("signed in", http.StatusOK, "service-0")
	u, _ := url.Parse(f.http.URL + "/console/applications")
	cookies := br.c.Jar.Cookies(u)
	if len(cookies) < 2 {
		b.Fatalf("cookies %v", cookies)
	}
	h := f.srv.Handler()
	for page, want := range map[string]string{"/console/applications?page=100": "service-04", "/console/applications?q=service-09&kind=machine": "service-09"} {
		b.Run(strings.TrimPrefix(page, "/console/applications?"), func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, f.http.URL+page, nil)
				for _, c := range cookies {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
					b.Fatalf("%s: %d\n%.500s", page, rec.Code, rec.Body.String())
				}
			}
		})
	}
}

// TestActivitySecretAlerts: the activity page lists the valid secrets no
// token request used for 30 days and those older than 90 days, and not an
// expired one or one used yesterday.
func TestActivitySecretAlerts(t *testing.T) {
	f := newFixture(t)
	now := time.Now().UTC()
	for _, s := range []storage.Secret{
		{ID: "sec_oldunused", Hint: "oldu", CreatedAt: now.Add(-100 * 24 * time.Hour)},
		{ID: "sec_oldused", Hint: "oldk", CreatedAt: now.Add(-95 * 24 * time.Hour), LastUsedAt: now.Add(-24 * time.Hour)},
		{ID: "sec_idle", Hint: "idle", CreatedAt: now.Add(-40 * 24 * time.Hour), LastUsedAt: now.Add(-31 * 24 * time.Hour)},
		{ID: "sec_expired", Hint: "expd", CreatedAt: now.Add(-200 * 24 * time.Hour), ExpiresAt: now.Add(-time.Hour)},
	} {
		s.ClientID, s.HashAlg, s.Hash = f.clientID, storage.SecretHashSHA256, make([]byte, 32)
		if err := f.store.AddSecret(f.ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	b := f.browser()
	b.login(adminEmail)
	b.get("/console/activity")
	b.mustSee("activity", http.StatusOK, "Secrets unused for 30 days", "Secrets older than 90 days")
	unused := b.body[strings.Index(b.body, `id="unused-h"`):strings.Index(b.body, `id="old-h"`)]
	old := b.body[strings.Index(b.body, `id="old-h"`):]
	for hint, want := range map[string][2]bool{"oldu": {true, true}, "oldk": {false, true}, "idle": {true, false}, "expd": {false, false}} {
		if got := [2]bool{strings.Contains(unused, hint+"…"), strings.Contains(old, hint+"…")}; got != want {
			t.Errorf("secret %s: in unused, in old = %v, want %v", hint, got, want)
		}
	}
}

// TestKeyCredentialsShown: an application's key credentials are listed
// with the method that uses them, and its federated credentials with their
// issuer, subject and claims, for a person who may read them.
func TestKeyCredentialsShown(t *testing.T) {
	f := newFixture(t)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	cred, err := f.svc.AddCredential(f.ctx, f.clientID, clientcred.Input{Type: storage.CredentialPublicKey, Name: "signer-2026", PEM: pemKey}, true)
	if err != nil {
		t.Fatal(err)
	}
	fed, err := f.svc.AddFederatedCredential(f.ctx, f.clientID, admin.FederationInput{Issuer: "https://token.actions.githubusercontent.com",
		Subject: "repo:acme/deploy:ref:refs/heads/main", Claims: map[string]string{"repository_owner_id": "4242"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.Catalog().Sync(f.ctx); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	b.login(adminEmail)
	b.get("/console/applications/" + f.clientID)
	b.mustSee("the application", http.StatusOK, "signer-2026", cred.KeyID, storage.AuthMethodPrivateKeyJWT,
		fed.ID, "https://token.actions.githubusercontent.com", "repo:acme/deploy:ref:refs/heads/main", "repository_owner_id=4242")

	f.person("viewer@example.com", "read:clients")
	v := f.browser()
	v.login("viewer@example.com")
	v.get("/console/applications/" + f.clientID)
	v.mustSee("without read:client_credentials", http.StatusOK, "You may not read this application's credentials")
	if strings.Contains(v.body, cred.KeyID) || strings.Contains(v.body, fed.ID) {
		t.Fatal("credentials shown without read:client_credentials")
	}
}
