package token

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/mtlsauth"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// TestMatchCertificate: a certificate authenticates by the method its
// registration allows and by no other: a CA-issued certificate with the
// registered DN by tls_client_auth, a registered self-signed one by
// self_signed_tls_client_auth; another CA's, another subject's, an
// unregistered self-signed one, or any without a configured CA, by none.
func TestMatchCertificate(t *testing.T) {
	ca, other := testutil.NewCA(t, "CA"), testutil.NewCA(t, "other")
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	name := pkix.Name{CommonName: "orders", Organization: []string{"Example"}}
	u, _ := url.Parse("spiffe://example.org/orders")
	issued := ca.Issue(t, x509.Certificate{Subject: name, URIs: []*url.URL{u}, DNSNames: []string{"orders.example.com"}}).Leaf
	otherSubject := ca.Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "billing", Organization: []string{"Example"}}}).Leaf
	foreign := other.Issue(t, x509.Certificate{Subject: name}).Leaf
	self := (*testutil.CA)(nil).Issue(t, x509.Certificate{Subject: name}).Leaf
	unregistered := (*testutil.CA)(nil).Issue(t, x509.Certificate{Subject: name}).Leaf
	dn := certCredentials{subjectDNs: []string{"CN=orders,O=Example"}}
	thumb := certCredentials{thumbprints: []string{mtlsauth.Thumbprint(self)}}
	byURI := certCredentials{san: storage.SAN{Kind: storage.SANURI, Value: "spiffe://example.org/orders"}}
	byDNS := certCredentials{san: storage.SAN{Kind: storage.SANDNS, Value: "billing.example.com"}}
	now := time.Now()
	tests := []struct {
		name  string
		cert  *x509.Certificate
		cc    certCredentials
		roots *x509.CertPool
		want  string
	}{
		{"CA-issued with the registered DN", issued, dn, roots, storage.AuthMethodTLSClientAuth},
		{"CA-issued with another subject", otherSubject, dn, roots, ""},
		{"another CA's with the registered DN", foreign, dn, roots, ""},
		{"self-signed with the registered DN", self, dn, roots, ""},
		{"no CA configured", issued, dn, nil, ""},
		{"the registered self-signed certificate", self, thumb, nil, storage.AuthMethodSelfSignedTLSClientAuth},
		{"an unregistered self-signed certificate", unregistered, thumb, nil, ""},
		{"a CA-issued certificate for a self-signed registration", issued, thumb, roots, ""},
		{"nothing registered", issued, certCredentials{}, roots, ""},
		{"CA-issued with the registered URI SAN", issued, byURI, roots, storage.AuthMethodTLSClientAuth},
		{"CA-issued without the registered DNS SAN", issued, byDNS, roots, ""},
		{"another CA's with the registered URI SAN", other.Issue(t, x509.Certificate{URIs: []*url.URL{u}}).Leaf, byURI, roots, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := matchCertificate(tc.cert, nil, tc.roots, tc.cc, now); got != tc.want {
				t.Fatalf("method %q, want %q", got, tc.want)
			}
		})
	}
}
