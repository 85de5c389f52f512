package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func selfSigned(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// mtlsIssuer is an issuer whose token endpoint refuses everything and whose
// mutual-TLS alias (RFC 8705 §5) records what it was sent.
func mtlsIssuer(t *testing.T) (*httptest.Server, *[]string) {
	t.Helper()
	var seen []string
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": srv.URL, "token_endpoint": srv.URL + "/oauth/token",
			"mtls_endpoint_aliases": map[string]string{"token_endpoint": srv.URL + "/mtls/oauth/token"}})
	})
	mux.HandleFunc("/oauth/token", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(401)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
	})
	mux.HandleFunc("/mtls/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		cn := "none"
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		_, basic, _ := r.BasicAuth()
		seen = append(seen, "cert="+cn+" client_id="+r.PostForm.Get("client_id")+" secret="+r.PostForm.Get("client_secret")+basic)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"tok","token_type":"Bearer","expires_in":3600}`))
	})
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &seen
}

// TestCertificate: with a Certificate, the token request goes to the
// issuer's mutual-TLS alias over a connection that presents it; with
// AuthTLS no secret is sent, only client_id (RFC 8705 §2.1).
func TestCertificate(t *testing.T) {
	cert := selfSigned(t, "svc")
	tests := []struct {
		name    string
		method  AuthMethod
		secrets []string
		want    string
	}{
		{"tls_client_auth", AuthTLS, nil, "cert=svc client_id=svc-id secret="},
		{"self_signed_tls_client_auth", AuthSelfSignedTLS, nil, "cert=svc client_id=svc-id secret="},
		{"a secret and a certificate to bind to", AuthPost, []string{"s3cret"}, "cert=svc client_id=svc-id secret=s3cret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, seen := mtlsIssuer(t)
			s, err := New(Config{Issuer: srv.URL, ClientID: "svc-id", Secrets: tc.secrets, AuthMethod: tc.method, Certificate: &cert,
				HTTPClient: srv.Client(), Audience: "https://api.test"})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := s.TokenContext(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != "tok" || len(*seen) != 1 || (*seen)[0] != tc.want {
				t.Fatalf("token %q, alias saw %q, want %q", tok.AccessToken, *seen, tc.want)
			}
		})
	}
	// Without a certificate, the alias is not used.
	srv, seen := mtlsIssuer(t)
	s, _ := New(Config{Issuer: srv.URL, ClientID: "svc-id", Secrets: []string{"x"}, HTTPClient: srv.Client(), MaxAttempts: 1})
	if _, err := s.TokenContext(t.Context()); err == nil || len(*seen) != 0 {
		t.Fatalf("err %v, alias saw %q: a client without a certificate went to the mutual-TLS alias", err, *seen)
	}
}

func TestCertificateConfig(t *testing.T) {
	cert := selfSigned(t, "svc")
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"tls_client_auth without a certificate", Config{AuthMethod: AuthTLS}, "needs a Certificate"},
		{"tls_client_auth with a secret", Config{AuthMethod: AuthTLS, Certificate: &cert, Secrets: []string{"x"}}, "takes no Secrets"},
		{"a transport that cannot take the certificate", Config{Certificate: &cert, Secrets: []string{"x"},
			HTTPClient: &http.Client{Transport: roundTripper(func(*http.Request) (*http.Response, error) { return nil, nil })}}, "*http.Transport"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.ClientID, tc.cfg.TokenURL = "svc", "https://issuer.test/oauth/token"
			if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
