package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClient(t *testing.T) {
	var as *httptest.Server
	as = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": as.URL, "token_endpoint": as.URL + "/oauth/token"})
		case "/oauth/token":
			_ = r.ParseForm()
			federated := r.PostForm.Get("client_assertion") == "platform-token" && r.PostForm.Get("client_id") == "svc" &&
				r.PostForm.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
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
