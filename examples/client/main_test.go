package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/dpop"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func TestClient(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	var as *httptest.Server
	as = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": as.URL, "token_endpoint": as.URL + "/oauth/token"})
		case "/oauth/token":
			_ = r.ParseForm()
			federated := r.PostForm.Get("client_assertion") == "platform-token" && r.PostForm.Get("client_id") == "svc" &&
				r.PostForm.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
			if a := r.PostForm.Get("client_assertion"); a != "" && !federated {
				tok, err := jwt.ParseSigned(a, []jose.SignatureAlgorithm{jose.ES256})
				var c jwt.Claims
				if err != nil || tok.Claims(&key.PublicKey, &c) != nil || c.Issuer != "svc" || c.Subject != "svc" || !c.Audience.Contains(as.URL) {
					w.WriteHeader(401)
					fmt.Fprint(w, `{"error":"invalid_client"}`)
					return
				}
				fmt.Fprint(w, `{"access_token":"tok","token_type":"Bearer","expires_in":3600,"scope":"read:sensors"}`)
				return
			}
			if r.PostForm.Get("client_secret") != "new" && !federated || r.PostForm.Get("audience") != "https://api.test" {
				w.WriteHeader(401)
				fmt.Fprint(w, `{"error":"invalid_client"}`)
				return
			}
			fmt.Fprint(w, `{"access_token":"tok","token_type":"Bearer","expires_in":3600,"scope":"read:sensors"}`)
		}
	}))
	defer as.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		fmt.Fprint(w, r.URL.Path)
	}))
	defer api.Close()

	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("platform-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    []string
		wantErr string
	}{
		{"private_key_jwt", map[string]string{}, []string{"--private-key", keyFile}, []string{"4 API calls, 2 request(s)"}, ""},
		{"federated: a Kubernetes token file, no secret", map[string]string{}, []string{"--assertion-file", tokenFile},
			[]string{"GET /v1/ping -> 200 OK /v1/ping", "4 API calls, 2 request(s)"}, ""},
		{"one secret", map[string]string{"CLIENT_SECRET": "new"}, nil,
			[]string{"GET /v1/ping -> 200 OK /v1/ping", "GET /v1/sensors -> 200 OK /v1/sensors", "4 API calls, 2 request(s)"}, ""},
		{"rotation: the old secret is refused", map[string]string{"CLIENT_SECRET": "old", "CLIENT_SECRET_OLD": "new"}, nil,
			[]string{"4 API calls, 3 request(s)"}, ""},
		{"no secret", map[string]string{}, nil, nil, "set CLIENT_SECRET"},
		{"wrong secret", map[string]string{"CLIENT_SECRET": "bad"}, nil, nil, "invalid_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(t.Context(), append([]string{"--issuer", as.URL, "--client-id", "svc", "--audience", "https://api.test", "--api", api.URL}, tc.args...),
				func(k string) string { return tc.env[k] }, &out, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("run: %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "bad") {
					t.Fatalf("the error %q shows the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Fatalf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// TestClientDPoP: with --dpop the example's token request and API calls
// carry proofs that a checker accepts, and the token is used with the DPoP
// scheme.
func TestClientDPoP(t *testing.T) {
	asCheck, apiCheck := dpop.NewChecker(dpop.Config{}), dpop.NewChecker(dpop.Config{})
	var jkt string
	var as *httptest.Server
	as = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": as.URL, "token_endpoint": as.URL + "/oauth/token"})
		case "/oauth/token":
			p, err := asCheck.Check(r.Header.Get("DPoP"), dpop.Expect{Method: r.Method, URL: as.URL + r.URL.Path})
			if err != nil {
				w.WriteHeader(400)
				fmt.Fprintf(w, `{"error":"invalid_dpop_proof","error_description":%q}`, err.Error())
				return
			}
			jkt = p.JKT
			fmt.Fprint(w, `{"access_token":"tok","token_type":"DPoP","expires_in":3600}`)
		}
	}))
	defer as.Close()
	var api *httptest.Server
	api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := apiCheck.Check(r.Header.Get("DPoP"), dpop.Expect{Method: r.Method, URL: api.URL + r.URL.Path, AccessToken: "tok", JKT: jkt})
		if r.Header.Get("Authorization") != "DPoP tok" || err != nil {
			w.WriteHeader(401)
			return
		}
		fmt.Fprint(w, r.URL.Path)
	}))
	defer api.Close()
	var out bytes.Buffer
	err := run(t.Context(), []string{"--issuer", as.URL, "--client-id", "svc", "--audience", "https://api.test", "--api", api.URL, "--dpop"},
		func(k string) string { return map[string]string{"CLIENT_SECRET": "s"}[k] }, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "GET /v1/sensors -> 200 OK /v1/sensors") || !strings.Contains(out.String(), "4 API calls, 2 request(s)") {
		t.Errorf("output:\n%s", out.String())
	}
}
