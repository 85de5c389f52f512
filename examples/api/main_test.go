package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const audience = "https://sensors.example.test"

// fakeIssuer publishes one ES256 key under metadata at its URL and signs
// tokens with it.
func fakeIssuer(t *testing.T) (url string, sign func(scope string) string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": srv.URL + "/jwks"})
		case "/jwks":
			_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k", Algorithm: "ES256"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL, func(scope string) string {
		tok, err := jwt.Signed(signer).Claims(map[string]any{"iss": srv.URL, "aud": audience, "sub": "svc", "client_id": "svc",
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "scope": scope}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
}

func TestAPI(t *testing.T) {
	issuer, sign := fakeIssuer(t)
	ctx, cancel := context.WithCancel(t.Context())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--issuer", issuer, "--audience", audience, "--addr", "127.0.0.1:0"}, io.Discard, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	tests := []struct {
		name, path, token string
		status            int
		body              string // a part of the body
	}{
		{"ping", "/v1/ping", sign(""), 200, `"pong":true`},
		{"ping without a token", "/v1/ping", "", 401, ""},
		{"sensors", "/v1/sensors", sign("read:sensors"), 200, "greenhouse-1"},
		{"sensors without the scope", "/v1/sensors", sign("write:sensors"), 403, "insufficient_scope"},
		{"bad token", "/v1/sensors", "x.y.z", 401, "invalid_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://"+addr+tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
				t.Fatalf("got %d %s, want %d with %q", resp.StatusCode, body, tc.status, tc.body)
			}
		})
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func TestAPIFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no audience", []string{"--issuer", "https://a.test/"}, "--audience is required"},
		{"http issuer elsewhere", []string{"--issuer", "http://a.test/", "--audience", "x"}, "InsecureAllowHTTP"},
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := run(t.Context(), tc.args, io.Discard, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run: %v, want %q", err, tc.want)
			}
		})
	}
}
