package mtlsauth

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

func TestMatchSubjectDN(t *testing.T) {
	ca := testutil.NewCA(t, "CA")
	cert := ca.Issue(t, x509.Certificate{Subject: pkix.Name{
		CommonName: "svc-orders", Organization: []string{"Example, Inc."}, OrganizationalUnit: []string{"Payments"},
		Country: []string{"DE"}, Locality: []string{"Berlin"},
	}}).Leaf
	// Go writes C, L, O, OU, CN in that order: the RFC 4514 string names CN first.
	multi := ca.Issue(t, x509.Certificate{Subject: pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
		{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "Org"},
	}}}).Leaf
	tests := []struct {
		name string
		cert *x509.Certificate
		dn   string
		want bool
		err  bool
	}{
		{"RFC 4514 form", cert, `CN=svc-orders,OU=Payments,O=Example\, Inc.,L=Berlin,C=DE`, true, false},
		{"spaces after commas, other case", cert, `cn=SVC-Orders, ou=payments, o=Example\, Inc., l=Berlin, c=de`, true, false},
		{"long names and insignificant spaces", cert, `commonName=svc-orders,OU=Payments,O=Example\,   Inc.,localityName=Berlin,countryName=DE`, true, false},
		{"dotted OIDs", cert, `2.5.4.3=svc-orders,2.5.4.11=Payments,2.5.4.10=Example\2C Inc.,2.5.4.7=Berlin,2.5.4.6=DE`, true, false},
		{"hex-encoded value", cert, `CN=#130a7376632d6f7264657273,OU=Payments,O=Example\, Inc.,L=Berlin,C=DE`, true, false},
		{"another CN", cert, `CN=svc-other,OU=Payments,O=Example\, Inc.,L=Berlin,C=DE`, false, false},
		{"an RDN missing", cert, `CN=svc-orders,OU=Payments,O=Example\, Inc.,C=DE`, false, false},
		{"an RDN more", cert, `CN=svc-orders,OU=Payments,OU=Extra,O=Example\, Inc.,L=Berlin,C=DE`, false, false},
		{"the order reversed", cert, `C=DE,L=Berlin,O=Example\, Inc.,OU=Payments,CN=svc-orders`, false, false},
		{"unescaped comma splits the value", cert, `CN=svc-orders,OU=Payments,O=Example, Inc.,L=Berlin,C=DE`, false, true},
		{"a prefix is not the name", cert, `CN=svc-orders`, false, false},
		{"multi-valued RDN is not two RDNs", cert, `CN=svc-orders+OU=Payments,O=Example\, Inc.,L=Berlin,C=DE`, false, false},
		{"single RDN", multi, `O=org`, true, false},
		{"unknown attribute type", cert, `XX=1`, false, true},
		{"bad escape", cert, `CN=a\q`, false, true},
		{"empty", cert, ``, false, true},
		{"no '='", cert, `CN`, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MatchSubjectDN(tc.cert, tc.dn)
			if (err != nil) != tc.err {
				t.Fatalf("error %v", err)
			}
			if got != tc.want {
				t.Fatalf("match %v, want %v (subject %s)", got, tc.want, tc.cert.Subject)
			}
		})
	}
}

func TestMatchSAN(t *testing.T) {
	u, _ := url.Parse("spiffe://example.org/ns/prod/sa/orders")
	cert := testutil.NewCA(t, "CA").Issue(t, x509.Certificate{
		DNSNames: []string{"orders.example.com"}, URIs: []*url.URL{u},
		IPAddresses: []net.IP{net.ParseIP("2001:db8::1"), net.ParseIP("192.0.2.7")}, EmailAddresses: []string{"ops@Example.com"},
	}).Leaf
	tests := []struct {
		kind, value string
		want        bool
	}{
		{SANDNS, "orders.example.com", true},
		{SANDNS, "ORDERS.example.com", true},
		{SANDNS, "*.example.com", false},
		{SANDNS, "example.com", false},
		{SANURI, "spiffe://example.org/ns/prod/sa/orders", true},
		{SANURI, "spiffe://example.org/ns/prod/sa/orders/", false},
		{SANIP, "2001:0db8:0:0:0:0:0:1", true},
		{SANIP, "192.0.2.7", true},
		{SANIP, "::ffff:192.0.2.7", true},
		{SANIP, "192.0.2.8", false},
		{SANEmail, "ops@example.com", true},
		{SANEmail, "OPS@example.com", false},
		{SANDNS, "spiffe://example.org/ns/prod/sa/orders", false},
	}
	for _, tc := range tests {
		got, err := MatchSAN(cert, tc.kind, tc.value)
		if err != nil || got != tc.want {
			t.Errorf("%s %q: %v %v, want %v", tc.kind, tc.value, got, err, tc.want)
		}
	}
	if _, err := MatchSAN(cert, "x", "y"); err == nil {
		t.Error("an unknown kind was accepted")
	}
}

// TestVerifyChain: only a certificate of the configured CA, valid now and
// for client authentication, passes.
func TestVerifyChain(t *testing.T) {
	ca, other := testutil.NewCA(t, "CA"), testutil.NewCA(t, "other CA")
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	now := time.Now()
	good := ca.Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "a"}}).Leaf
	foreign := other.Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "a"}}).Leaf
	self := (*testutil.CA)(nil).Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "a"}}).Leaf
	expired := ca.Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "a"}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}).Leaf
	if err := VerifyChain(good, nil, roots, now); err != nil {
		t.Fatalf("the CA's certificate: %v", err)
	}
	for name, c := range map[string]*x509.Certificate{"another CA's": foreign, "self-signed": self, "expired": expired} {
		if err := VerifyChain(c, nil, roots, now); err == nil {
			t.Errorf("%s certificate accepted", name)
		}
	}
	if err := VerifyChain(good, nil, nil, now); err == nil {
		t.Error("accepted without a CA")
	}
	if !MatchThumbprint(self, Thumbprint(self)) || MatchThumbprint(self, Thumbprint(good)) {
		t.Error("thumbprint match")
	}
}

// FuzzParseDN: no panic, and a parsed name round-trips its RDN count.
func FuzzParseDN(f *testing.F) {
	for _, s := range []string{`CN=a,O=b\, c,C=DE`, `cn=#130161`, `1.2.3=x+CN=y`, `CN=\41\`, `=,+;`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rdns, err := ParseDN(s)
		if err == nil && len(rdns) == 0 {
			t.Fatal("no RDN and no error")
		}
	})
}
