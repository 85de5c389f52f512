package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/dpop"
)

// dpopWorld is a token endpoint and an API that both require DPoP proofs
// with their own nonces (RFC 9449 §8, §9), checked by package dpop.
type dpopWorld struct {
	as, api   *httptest.Server
	mu        sync.Mutex
	bound     map[string]string // token → jkt
	tokenType string
	calls     int // API calls answered 200
}

func newDPoPWorld(t *testing.T, clk *fakeClock) *dpopWorld {
	t.Helper()
	w := &dpopWorld{bound: map[string]string{}, tokenType: "DPoP"}
	asNonces, _ := dpop.NewNonces([]byte(strings.Repeat("a", 32)), time.Minute)
	apiNonces, _ := dpop.NewNonces([]byte(strings.Repeat("b", 32)), time.Minute)
	asCheck := dpop.NewChecker(dpop.Config{Nonces: asNonces, Now: clk.Now})
	apiCheck := dpop.NewChecker(dpop.Config{Nonces: apiNonces, Now: clk.Now})
	w.as = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		p, err := asCheck.Check(r.Header.Get("DPoP"), dpop.Expect{Method: r.Method, URL: w.as.URL + r.URL.Path})
		rw.Header().Set("DPoP-Nonce", asNonces.Current(clk.Now()))
		rw.Header().Set("Content-Type", "application/json")
		if err != nil {
			code := "invalid_dpop_proof"
			if errors.Is(err, dpop.ErrUseNonce) {
				code = "use_dpop_nonce"
			}
			rw.WriteHeader(400)
			_ = json.NewEncoder(rw).Encode(map[string]string{"error": code, "error_description": err.Error()})
			return
		}
		w.mu.Lock()
		tok := "tok-" + rand.Text()
		w.bound[tok] = p.JKT
		typ := w.tokenType
		w.mu.Unlock()
		_ = json.NewEncoder(rw).Encode(map[string]any{"access_token": tok, "token_type": typ, "expires_in": 3600})
	}))
	t.Cleanup(w.as.Close)
	w.api = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "DPoP ")
		w.mu.Lock()
		jkt := w.bound[tok]
		w.mu.Unlock()
		rw.Header().Set("DPoP-Nonce", apiNonces.Current(clk.Now()))
		if !ok || jkt == "" {
			rw.Header().Set("WWW-Authenticate", `DPoP error="invalid_token"`)
			rw.WriteHeader(401)
			return
		}
		_, err := apiCheck.Check(r.Header.Get("DPoP"), dpop.Expect{Method: r.Method, URL: w.api.URL + r.URL.Path, AccessToken: tok, JKT: jkt})
		switch {
		case errors.Is(err, dpop.ErrUseNonce):
			rw.Header().Set("WWW-Authenticate", `DPoP algs="ES256", error="use_dpop_nonce"`)
			rw.WriteHeader(401)
		case err != nil:
			rw.Header().Set("WWW-Authenticate", `DPoP error="invalid_dpop_proof", error_description="`+err.Error()+`"`)
			rw.WriteHeader(401)
		default:
			w.mu.Lock()
			w.calls++
			w.mu.Unlock()
			_, _ = rw.Write([]byte("ok"))
		}
	}))
	t.Cleanup(w.api.Close)
	return w
}

// TestDPoPSource: with a DPoP key the Source proves possession on the
// token request and the Transport on each API call, picks up each
// server's nonce and retries once, and uses the DPoP scheme; a server that
// answers with a bearer token is refused. Failed before the feature: the
// client sent no proof, so both servers refused every request.
func TestDPoPSource(t *testing.T) {
	clk := newClock()
	w := newDPoPWorld(t, clk)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, err := New(Config{TokenURL: w.as.URL + "/token", ClientID: "svc", Secrets: []string{"x"}, Now: clk.Now, DPoPKey: key})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Token()
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	if tok.TokenType != "DPoP" {
		t.Errorf("token_type %q", tok.TokenType)
	}
	c := s.Client()
	for i := range 3 {
		req, _ := http.NewRequest("POST", w.api.URL+"/v1/things?n=1", strings.NewReader("body"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("call %d: %d %v", i, resp.StatusCode, resp.Header)
		}
	}
	w.mu.Lock()
	calls := w.calls
	w.tokenType = "Bearer" // a server that does not bind the token
	w.mu.Unlock()
	if calls != 3 {
		t.Errorf("API answered %d calls", calls)
	}

	s2, _ := New(Config{TokenURL: w.as.URL + "/token", ClientID: "svc", Secrets: []string{"x"}, Now: clk.Now, DPoPKey: key})
	if _, err := s2.Token(); err == nil || !strings.Contains(err.Error(), `token_type "Bearer", want DPoP`) {
		t.Errorf("bearer answer: %v", err)
	}
	if _, err := New(Config{TokenURL: w.as.URL, ClientID: "svc", Secrets: []string{"x"}, DPoPKey: mustP384(t)}); err == nil ||
		!strings.Contains(err.Error(), "P-256") {
		t.Errorf("P-384 key: %v", err)
	}
}

func mustP384(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
