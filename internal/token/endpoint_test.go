package token

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/secret"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// fakeSigner is a Signer made of a func.
type fakeSigner func(alg, typ string, payload []byte) (string, error)

func (f fakeSigner) Sign(alg, typ string, payload []byte) (string, error) {
	return f(alg, typ, payload)
}

// memStore is a catalog.Store over fixed values.
type memStore struct {
	api    storage.API
	client storage.Client
	secret storage.Secret
	grant  storage.Grant
}

func (m *memStore) GetAPI(context.Context, string) (storage.API, error) { return m.api, nil }
func (m *memStore) ListAPIs(context.Context) ([]storage.API, error)     { return []storage.API{m.api}, nil }
func (m *memStore) GetClient(context.Context, string) (storage.Client, error) {
	return m.client, nil
}
func (m *memStore) ListClients(context.Context) ([]storage.Client, error) {
	return []storage.Client{m.client}, nil
}
func (m *memStore) ListSecrets(context.Context, string) ([]storage.Secret, error) {
	return []storage.Secret{m.secret}, nil
}
func (m *memStore) ListAllSecrets(context.Context) ([]storage.Secret, error) {
	return []storage.Secret{m.secret}, nil
}
func (m *memStore) ListCredentials(context.Context, string) ([]storage.Credential, error) {
	return nil, nil
}
func (m *memStore) ListAllCredentials(context.Context) ([]storage.Credential, error) { return nil, nil }
func (m *memStore) ListGrants(context.Context, storage.GrantFilter) ([]storage.Grant, error) {
	return []storage.Grant{m.grant}, nil
}
func (m *memStore) LatestChange(context.Context) (int64, error) { return 0, nil }
func (m *memStore) ChangesSince(context.Context, int64, int) ([]storage.Change, error) {
	return nil, nil
}

func newTestEndpoint(t testing.TB, signer Signer, used func(string, time.Time)) (*Endpoint, string) {
	t.Helper()
	plain, digest, hint, err := secret.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{
		api:    storage.API{Identifier: "https://api", TokenLifetime: time.Hour, SigningAlg: "ES256", TokenDialect: storage.DialectRFC9068},
		client: storage.Client{ClientID: "c", AppType: storage.AppTypeNonInteractive, GrantTypes: []string{"client_credentials"}},
		secret: storage.Secret{ID: "s1", ClientID: "c", Hash: digest, Hint: hint},
		grant:  storage.Grant{ID: "g", ClientID: "c", Audience: "https://api", Scope: []string{"read"}},
	}
	cat := catalog.New(st, nil, nil)
	if err := cat.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return NewEndpoint(Config{Issuer: "https://issuer", Catalog: cat, Signer: signer, Used: used, Grants: []Grant{ClientCredentials{}}}), plain
}

func post(e *Endpoint, body url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	return w
}

// TestSigningFailureIsServerError: an internal failure is a 500 server_error
// whose body reveals nothing of the cause.
func TestSigningFailureIsServerError(t *testing.T) {
	e, plain := newTestEndpoint(t, fakeSigner(func(string, string, []byte) (string, error) {
		return "", errors.New("hsm at 10.0.0.7 refused: key handle 42")
	}), nil)
	w := post(e, url.Values{"grant_type": {"client_credentials"}, "client_id": {"c"}, "client_secret": {plain}, "audience": {"https://api"}})
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"error":"server_error"`) || strings.Contains(w.Body.String(), "10.0.0.7") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// TestSignerInput checks what the endpoint asks the signer to sign, and that
// a successful authentication reports the secret that matched.
func TestSignerInput(t *testing.T) {
	var gotAlg, gotTyp, gotPayload, usedID string
	e, plain := newTestEndpoint(t, fakeSigner(func(alg, typ string, payload []byte) (string, error) {
		gotAlg, gotTyp, gotPayload = alg, typ, string(payload)
		return "h.p.s", nil
	}), func(id string, _ time.Time) { usedID = id })
	w := post(e, url.Values{"grant_type": {"client_credentials"}, "client_id": {"c"}, "client_secret": {plain}, "audience": {"https://api"}})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"access_token":"h.p.s"`) || !strings.Contains(w.Body.String(), `"expires_in":3600`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if gotAlg != "ES256" || gotTyp != "at+jwt" || usedID != "s1" {
		t.Fatalf("alg %s typ %s used %q", gotAlg, gotTyp, usedID)
	}
	for _, want := range []string{`"iss":"https://issuer"`, `"sub":"c"`, `"aud":"https://api"`, `"client_id":"c"`, `"azp":"c"`, `"scope":"read"`, `"gty":"client-credentials"`, `"jti":"`} {
		if !strings.Contains(gotPayload, want) {
			t.Fatalf("claims %s lack %s", gotPayload, want)
		}
	}
}

func TestNarrowScope(t *testing.T) {
	granted := []string{"a", "b", "c"}
	tests := []struct {
		name, requested, want string
		fails                 bool
	}{
		{"none requested", "", "a b c", false},
		{"subset in request order", "c a", "c a", false},
		{"duplicates collapse", "a a  b", "a b", false},
		{"partly granted", "a z", "a", false},
		{"nothing granted", "z y", "", true},
		{"malformed", "a\\b", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := narrowScope(tc.requested, granted)
			if (err != nil) != tc.fails || got != tc.want {
				t.Fatalf("got %q %v", got, err)
			}
		})
	}
}

// BenchmarkRefusal compares the cost of refusing an unknown client and a
// known client with a wrong secret: they must not be told apart by time.
func BenchmarkRefusal(b *testing.B) {
	e, plain := newTestEndpoint(b, fakeSigner(func(string, string, []byte) (string, error) { return "x", nil }), nil)
	for _, tc := range []struct{ name, id string }{{"unknown client", "nobody"}, {"wrong secret", "c"}} {
		b.Run(tc.name, func(b *testing.B) {
			body := url.Values{"grant_type": {"client_credentials"}, "client_id": {tc.id}, "client_secret": {plain + "x"}, "audience": {"https://api"}}
			for b.Loop() {
				if w := post(e, body); w.Code != 401 {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
