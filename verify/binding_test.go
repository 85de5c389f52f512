package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/gatehouse-dev/gatehouse/dpop"
)

// TestCertificateBoundToken: a token bound to a certificate (cnf.x5t#S256,
// RFC 8705 §3) is refused without that certificate and with another one,
// accepted with it (on the TLS connection or from a trusted proxy's
// header); a bearer token is unchanged unless RequireCertificateBinding.
func TestCertificateBoundToken(t *testing.T) {
	rs := keyFor("RS256")
	mine, other := testCert(t, "mine"), testCert(t, "other")
	bound := sign(t, rs, "at+jwt", with("cnf", map[string]any{"x5t#S256": Thumbprint(mine)}))
	bearer := sign(t, rs, "at+jwt", claims())
	proxies := CertificateSource{Header: "X-SSL-Client-Cert", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	tests := []struct {
		name    string
		token   string
		peer    *x509.Certificate // on the TLS connection
		remote  string
		header  string
		require bool
		err     error // nil: accepted
	}{
		{"bound, its certificate on TLS", bound, mine, "", "", false, nil},
		{"bound, no certificate", bound, nil, "", "", false, ErrCertificate},
		{"bound, another certificate on TLS", bound, other, "", "", false, ErrCertificate},
		{"bound, its certificate from a trusted proxy", bound, nil, "10.0.0.7:443", escaped(mine), false, nil},
		{"bound, another certificate from a trusted proxy", bound, mine, "10.0.0.7:443", escaped(other), false, ErrCertificate},
		{"bound, its certificate in a header from an untrusted peer", bound, nil, "192.0.2.9:443", escaped(mine), false, ErrCertificate},
		{"bound, malformed header from a trusted proxy", bound, nil, "10.0.0.7:443", "junk", false, ErrCertificateHeader},
		{"bearer, no certificate", bearer, nil, "", "", false, nil},
		{"bearer, a certificate", bearer, other, "", "", false, nil},
		{"bearer where binding is required", bearer, mine, "", "", true, ErrNotBound},
		{"bound where binding is required", bound, mine, "", "", true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := newTestVerifier(t, newFakeIssuer(t, rs), func(c *Config) {
				c.ClientCertificates = proxies
				c.RequireCertificateBinding = tc.require
			})
			r := httptest.NewRequest("GET", "/v1/sensors", nil)
			if tc.remote != "" {
				r.RemoteAddr = tc.remote
			}
			if tc.header != "" {
				r.Header.Set(proxies.Header, tc.header)
			}
			if tc.peer != nil {
				r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{tc.peer}}
			}
			r.Header.Set("Authorization", "Bearer "+tc.token)
			c, err := v.VerifyRequest(r)
			if tc.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				if tc.token == bound && c.CertificateThumbprint != Thumbprint(mine) {
					t.Fatalf("CertificateThumbprint %q", c.CertificateThumbprint)
				}
			} else if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			// The middleware answers the same, as RFC 8705 §3 says: 401 invalid_token.
			r.Header.Set("Authorization", "Bearer "+tc.token)
			w := httptest.NewRecorder()
			ran := false
			v.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true })).ServeHTTP(w, r)
			if ran != (tc.err == nil) {
				t.Fatalf("handler ran %v; status %d", ran, w.Code)
			}
			if tc.err != nil {
				var body map[string]string
				_ = json.Unmarshal(w.Body.Bytes(), &body)
				if w.Code != 401 || body["error"] != "invalid_token" || body["error_description"] != tc.err.Error() {
					t.Fatalf("status %d body %s", w.Code, w.Body)
				}
			}
		})
	}
}

// TestVerifyAloneRefusesCertificateBinding: Verify and VerifyDPoP do not
// see the request's certificate, so a token bound to one (cnf.x5t#S256)
// is refused there rather than taken as a bearer token (RFC 8705 §3: the
// API must check the binding), and with RequireCertificateBinding Verify
// takes no token at all. Failed before: a stolen certificate-bound token
// passed Verify, and a bearer token passed Verify of an API that requires
// binding.
func TestVerifyAloneRefusesCertificateBinding(t *testing.T) {
	rs := keyFor("RS256")
	mine := testCert(t, "mine")
	bound := sign(t, rs, "at+jwt", with("cnf", map[string]any{"x5t#S256": Thumbprint(mine)}))
	bearer := sign(t, rs, "at+jwt", claims())
	v, clk := newTestVerifier(t, newFakeIssuer(t, rs), nil)
	if _, err := v.Verify(t.Context(), bound); !errors.Is(err, ErrCertificate) {
		t.Errorf("Verify of a certificate-bound token: %v, want ErrCertificate", err)
	}
	if _, err := v.Verify(t.Context(), bearer); err != nil {
		t.Errorf("Verify of a bearer token: %v", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := must(dpop.NewSigner(key, ""))
	s.Now = clk.Now
	both := sign(t, rs, "at+jwt", with("cnf", map[string]any{"jkt": s.JKT(), "x5t#S256": Thumbprint(mine)}))
	const u = "https://api.example/v1/sensors"
	if _, err := v.VerifyDPoP(t.Context(), both, must(s.Proof("GET", u, both, "")), "GET", u); !errors.Is(err, ErrCertificate) {
		t.Errorf("VerifyDPoP of a token bound to a key and a certificate: %v, want ErrCertificate", err)
	}

	strict, _ := newTestVerifier(t, newFakeIssuer(t, rs), func(c *Config) { c.RequireCertificateBinding = true })
	if _, err := strict.Verify(t.Context(), bearer); !errors.Is(err, ErrNotBound) {
		t.Errorf("Verify of a bearer token where binding is required: %v, want ErrNotBound", err)
	}
	if _, err := strict.Verify(t.Context(), bound); !errors.Is(err, ErrCertificate) {
		t.Errorf("Verify of a bound token where binding is required: %v, want ErrCertificate", err)
	}
}
