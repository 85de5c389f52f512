package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/internal/loadtest"
)

var creds = []loadtest.Credential{{ClientID: "c1", ClientSecret: "s1"}, {ClientID: "c2", ClientSecret: "s2"}}

func testServer(t *testing.T) (*httptest.Server, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Unix(1_800_000_000, 0) }
	srv := httptest.NewServer(newHandler(creds, signer, "https://issuer.example/", now))
	t.Cleanup(srv.Close)
	return srv, key
}

// TestYardstickIssuesVerifiableTokens: the load tool gets a token for every
// request, round-robin over the clients, and each token verifies with the
// key and carries the request's client and audience.
func TestYardstickIssuesVerifiableTokens(t *testing.T) {
	srv, key := testServer(t)
	res, err := loadtest.Run(t.Context(), loadtest.Config{TokenURL: srv.URL + "/oauth/token", Audience: "https://api.example/",
		Credentials: creds, Workers: 2, Requests: 20})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 20 || len(res.Errors) != 0 {
		t.Fatalf("%d tokens, errors %v; want 20 and none", res.OK, res.Errors)
	}
	resp, err := http.PostForm(srv.URL+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"c2"}, "client_secret": {"s2"}, "audience": {"https://api.example/"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	tok, err := jwt.ParseSigned(body.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var c jwt.Claims
	if err := tok.Claims(&key.PublicKey, &c); err != nil {
		t.Fatal(err)
	}
	if c.Subject != "c2@clients" || !c.Audience.Contains("https://api.example/") || body.ExpiresIn != 86400 ||
		c.Expiry.Time().Sub(c.IssuedAt.Time()) != 24*time.Hour {
		t.Errorf("claims %+v, expires_in %d", c, body.ExpiresIn)
	}
}

func TestYardstickRefuses(t *testing.T) {
	srv, _ := testServer(t)
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"wrong secret", "grant_type=client_credentials&client_id=c1&client_secret=s2", 401, "invalid_client"},
		{"unknown client", "grant_type=client_credentials&client_id=c9&client_secret=s1", 401, "invalid_client"},
		{"no secret", "grant_type=client_credentials&client_id=c1", 401, "invalid_client"},
		{"other grant", "grant_type=password&client_id=c1&client_secret=s1", 400, "unsupported_grant_type"},
		{"bad form", "grant_type=%zz", 400, "invalid_request"},
		{"too large", "grant_type=client_credentials&x=" + strings.Repeat("a", 9<<10), 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct{ Error string }
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || e.Error != tc.code {
				t.Errorf("%d %q, want %d %q", resp.StatusCode, e.Error, tc.status, tc.code)
			}
		})
	}
}

func TestRunChecksItsFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no credentials", nil, "-credentials is required"},
		{"missing file", []string{"-credentials", t.TempDir() + "/none"}, "no such file"},
		{"unknown algorithm", []string{"-credentials", writeCreds(t), "-alg", "HS256"}, `unsupported -alg "HS256"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := run(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNewSignerAlgorithms(t *testing.T) {
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256} {
		s, err := newSigner(alg)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		tok, err := jwt.Signed(s).Claims(jwt.Claims{Subject: "x"}).Serialize()
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{alg})
		if err != nil || parsed.Headers[0].KeyID != "yardstick" {
			t.Errorf("%s: %v %+v", alg, err, parsed)
		}
	}
}

func writeCreds(t *testing.T) string {
	t.Helper()
	p := t.TempDir() + "/creds.jsonl"
	var b strings.Builder
	if err := loadtest.WriteCredentials(&b, creds); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
