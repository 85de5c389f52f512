package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// BenchmarkTokenEndpointBound is BenchmarkTokenEndpoint's EdDSA request for
// a client with certificate-bound tokens (RFC 8705 §3): the certificate on
// the TLS connection, or in an nginx-style header from a trusted proxy
// (parsed per request); compare with BenchmarkTokenEndpoint/EdDSA.
func BenchmarkTokenEndpointBound(b *testing.B) {
	cert := testutil.NewCA(b, "CA").Issue(b, x509.Certificate{Subject: pkix.Name{CommonName: "bench"}})
	for _, via := range []string{"tls", "proxy-header"} {
		b.Run(via, func(b *testing.B) {
			f := newFixture(b, func(c *config.Config) {
				c.TrustedProxies, c.ClientCertHeader = "192.0.2.0/24", "X-SSL-Client-Cert"
			})
			const aud = "https://bound.bench"
			if _, err := f.admin.CreateAPI(f.ctx, admin.APIInput{Identifier: aud, SigningAlg: "EdDSA", Scopes: scopes("read")}); err != nil {
				b.Fatal(err)
			}
			c, sec, err := f.admin.CreateClient(f.ctx, admin.ClientInput{Name: "bound", CertificateBoundTokens: true})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.admin.CreateGrant(f.ctx, c.ClientID, aud, []string{"read"}); err != nil {
				b.Fatal(err)
			}
			f.sync()
			body := string(form("grant_type", "client_credentials", "client_id", c.ClientID, "client_secret", sec.Plain, "audience", aud))
			h := f.srv.Handler()
			header := escapedPEM(cert)
			state := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert.Leaf}}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					if via == "tls" {
						req.RemoteAddr, req.TLS = "198.51.100.1:1234", state
					} else {
						req.Header.Set("X-SSL-Client-Cert", header)
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != 200 {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}
