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
// tokens with it: a client's own (sign) and a person's (signUser, with a
// permissions claim when perms is not nil).
func fakeIssuer(t *testing.T) (url string, sign func(scope string) string, signUser func(scope string, perms []string) string) {
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
	mint := func(c map[string]any) string {
		c["iss"], c["aud"], c["iat"], c["exp"] = srv.URL, audience, time.Now().Unix(), time.Now().Add(time.Hour).Unix()
		tok, err := jwt.Signed(signer).Claims(c).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	return srv.URL, func(scope string) string {
			return mint(map[string]any{"sub": "svc", "client_id": "svc", "gty": "client-credentials", "scope": scope})
		}, func(scope string, perms []string) string {
			c := map[string]any{"sub": "usr_alice", "client_id": "web", "scope": scope}
			if perms != nil {
				c["permissions"] = perms
			}
			return mint(c)
		}
}

// serve runs the API with args and returns its address.
func serve(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- run(ctx, append(args, "--audience", audience, "--addr", "127.0.0.1:0"), io.Discard, ready)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	select {
	case addr := <-ready:
		return addr
	case err := <-done:
		t.Fatal(err)
	}
	return ""
}

func TestAPI(t *testing.T) {
	issuer, sign, signUser := fakeIssuer(t)
	both, clients := serve(t, "--issuer", issuer), serve(t, "--issuer", issuer, "--subject", "client")
	tests := []struct {
		name, addr, path, token string
		status                  int
		body                    string // a part of the body
	}{
		{"ping", both, "/v1/ping", sign(""), 200, `"pong":true`},
		{"ping without a token", both, "/v1/ping", "", 401, ""},
		{"sensors", both, "/v1/sensors", sign("read:sensors"), 200, `"subject_type":"client"`},
		{"sensors without the scope", both, "/v1/sensors", sign("write:sensors"), 403, "insufficient_scope"},
		{"sensors, a person with the permission", both, "/v1/sensors", signUser("read:sensors", []string{"read:sensors"}), 200, `"subject_type":"user"`},
		{"sensors, a person with the scope, no permissions claim", both, "/v1/sensors", signUser("read:sensors", nil), 200, `"subject":"usr_alice"`},
		{"sensors, a person without the permission", both, "/v1/sensors", signUser("read:sensors", []string{}), 403, "lacks the permission read:sensors"},
		{"clients only: a person's token", clients, "/v1/ping", signUser("read:sensors", []string{"read:sensors"}), 401, "kind of subject"},
		{"clients only: a client's token", clients, "/v1/sensors", sign("read:sensors"), 200, "greenhouse-1"},
		{"bad token", both, "/v1/sensors", "x.y.z", 401, "invalid_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://"+tc.addr+tc.path, nil)
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
		{"unknown subject", []string{"--issuer", "https://a.test/", "--audience", "x", "--subject", "robot"}, `Subject "robot"`},
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
