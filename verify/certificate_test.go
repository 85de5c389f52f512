package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testCert makes a self-signed client certificate named cn.
func testCert(t testing.TB, cn string) *x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return must(x509.ParseCertificate(der))
}

func pemOf(c ...*x509.Certificate) string {
	var b strings.Builder
	for _, x := range c {
		b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: x.Raw}))
	}
	return b.String()
}

func escaped(c ...*x509.Certificate) string { return url.PathEscape(pemOf(c...)) }

// envoyEscaped escapes every byte but the unreserved ones (RFC 3986 §2.3),
// as Envoy writes Cert.
func envoyEscaped(c *x509.Certificate) string {
	var b strings.Builder
	for _, ch := range []byte(pemOf(c)) {
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("-._~", ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

func hashOf(c *x509.Certificate) string {
	s := sha256.Sum256(c.Raw)
	return hex.EncodeToString(s[:])
}

func TestParseXFCC(t *testing.T) {
	a, b := testCert(t, "a"), testCert(t, "b")
	tests := []struct {
		name   string
		value  string
		want   *x509.Certificate
		chain  int
		errHas string
	}{
		{"Envoy's element", `By=spiffe://gatehouse;Hash=` + hashOf(a) + `;Cert="` + escaped(a) + `";Subject="CN=a";URI=;DNS=a.test;DNS=b.test`, a, 0, ""},
		{"Cert escaped as Envoy does", `Hash=` + hashOf(a) + `;Cert="` + envoyEscaped(a) + `";Chain="` + envoyEscaped(a) + `"`, a, 0, ""},
		{"unquoted Cert, no Hash", `Cert=` + escaped(a), a, 0, ""},
		{"keys are case-insensitive", `cert=` + escaped(a) + `;HASH=` + hashOf(a), a, 0, ""},
		{"Chain starting with Cert", `Cert=` + escaped(a) + `;Chain=` + escaped(a, b), a, 1, ""},
		{"quoted subject with separators", `Subject="CN=x,O=\"y;z\"";Cert=` + escaped(a), a, 0, ""},
		{"two elements", `Cert=` + escaped(a) + `,Cert=` + escaped(b), nil, 0, "more than one element"},
		{"a second element after a quoted value", `Cert="` + escaped(a) + `",By=x`, nil, 0, "more than one element"},
		{"Hash of another certificate", `Hash=` + hashOf(b) + `;Cert=` + escaped(a), nil, 0, "Hash is not"},
		{"Hash not hex", `Hash=zz;Cert=` + escaped(a), nil, 0, "Hash is not"},
		{"Hash only", `Hash=` + hashOf(a), nil, 0, "no Cert"},
		{"Cert twice", `Cert=` + escaped(a) + `;Cert=` + escaped(b), nil, 0, "given twice"},
		{"unknown key", `Foo=1;Cert=` + escaped(a), nil, 0, "unknown key"},
		{"two certificates in Cert", `Cert=` + escaped(a, b), nil, 0, "more than 1"},
		{"Chain not starting with Cert", `Cert=` + escaped(a) + `;Chain=` + escaped(b, a), nil, 0, "does not start"},
		{"unterminated quote", `Cert="` + escaped(a), nil, 0, "unterminated"},
		{"no '='", `Cert`, nil, 0, "not key=value"},
		{"empty key", `=x;Cert=` + escaped(a), nil, 0, "not key=value"},
		{"trailing ';'", `Cert=` + escaped(a) + `;`, nil, 0, "not key=value"},
		{"raw PEM in quotes (unescaping leaves it as it is)", `Cert="` + pemOf(a) + `"`, a, 0, ""},
		{"garbage in Cert", `Cert=abc`, nil, 0, "not a PEM"},
		{"bad escape", `Cert=%zz`, nil, 0, "not URL-encoded"},
		{"empty", ``, nil, 0, "not key=value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, chain, err := ParseXFCC(tc.value)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("accepted: %v", got.Subject)
				}
				if !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("error %q, want it to say %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) || len(chain) != tc.chain {
				t.Fatalf("got %v with %d intermediates", got.Subject, len(chain))
			}
		})
	}
}

func TestParseEscapedPEM(t *testing.T) {
	a, b := testCert(t, "a"), testCert(t, "b")
	tests := []struct {
		name  string
		value string
		want  *x509.Certificate
		fails bool
	}{
		{"nginx's $ssl_client_escaped_cert", escaped(a), a, false},
		{"no certificate", "", nil, false},
		{"two certificates", escaped(a, b), nil, true},
		{"a private key block", url.PathEscape("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), nil, true},
		{"trailing garbage", escaped(a) + "x", nil, true},
		{"leading garbage", "x" + escaped(a), nil, true},
		{"bad escape", "%G1", nil, true},
		{"DER bytes", url.PathEscape(string(a.Raw)), nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEscapedPEM(tc.value)
			switch {
			case tc.fails && err == nil:
				t.Fatal("accepted")
			case !tc.fails && err != nil:
				t.Fatal(err)
			case tc.want == nil && got != nil, tc.want != nil && !tc.want.Equal(got):
				t.Fatalf("got %v", got)
			}
		})
	}
}

// TestCertificateSourceTrust: a certificate header is believed only from a
// trusted proxy; from any other peer it is ignored and the connection's
// own certificate (or none) counts.
func TestCertificateSourceTrust(t *testing.T) {
	client, proxy, forged := testCert(t, "client"), testCert(t, "proxy"), testCert(t, "forged")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		src     CertificateSource
		remote  string
		header  []string
		tlsPeer *x509.Certificate
		want    *x509.Certificate
		err     bool
	}{
		{"TLS peer certificate", CertificateSource{}, "192.0.2.1:5000", nil, client, client, false},
		{"no certificate", CertificateSource{}, "192.0.2.1:5000", nil, nil, nil, false},
		{"header from an untrusted peer ignored", CertificateSource{Header: "X-SSL-Client-Cert", TrustedProxies: trusted}, "192.0.2.1:5000", []string{escaped(forged)}, nil, nil, false},
		{"header from an untrusted peer ignored, TLS counts", CertificateSource{Header: "X-SSL-Client-Cert", TrustedProxies: trusted}, "192.0.2.1:5000", []string{escaped(forged)}, client, client, false},
		{"header without trusted proxies ignored", CertificateSource{Header: "X-SSL-Client-Cert"}, "10.0.0.1:5000", []string{escaped(forged)}, nil, nil, false},
		{"header from a trusted proxy", CertificateSource{Header: "X-SSL-Client-Cert", TrustedProxies: trusted}, "10.1.2.3:5000", []string{escaped(client)}, proxy, client, false},
		{"IPv4-mapped trusted proxy", CertificateSource{Header: "X-SSL-Client-Cert", TrustedProxies: trusted}, "[::ffff:10.1.2.3]:5000", []string{escaped(client)}, nil, client, false},
		{"XFCC from a trusted proxy", CertificateSource{Header: "x-forwarded-client-cert", TrustedProxies: trusted}, "[fd00::1]:5000", []string{"Cert=" + escaped(client)}, nil, client, false},
		{"trusted proxy without the header: no certificate, not the proxy's", CertificateSource{Header: "X-SSL-Client-Cert", TrustedProxies: trusted}, "10.1.2.3:5000", nil, proxy, nil, false},
		{"trusted proxy, empty header", CertificateSource{Header: "X-SSL-Client-Cert", TrustedProxies: trusted}, "10.1.2.3:5000", []string{""}, nil, nil, false},
		{"trusted proxy, two header lines", CertificateSource{Header: "X-SSL-Client-Cert", TrustedProxies: trusted}, "10.1.2.3:5000", []string{escaped(client), escaped(forged)}, nil, nil, true},
		{"trusted proxy, malformed header", CertificateSource{Header: "X-SSL-Client-Cert", TrustedProxies: trusted}, "10.1.2.3:5000", []string{"junk"}, nil, nil, true},
		{"trusted proxy, oversized header", CertificateSource{Header: "X-SSL-Client-Cert", TrustedProxies: trusted}, "10.1.2.3:5000", []string{strings.Repeat("A", MaxCertificateHeader+1)}, nil, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, h := range tc.header {
				r.Header.Add(tc.src.Header, h)
			}
			if tc.tlsPeer != nil {
				r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{tc.tlsPeer}}
			}
			got, _, err := tc.src.Certificate(r)
			if tc.err {
				if !errors.Is(err, ErrCertificateHeader) {
					t.Fatalf("error %v, want ErrCertificateHeader", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tc.want == nil) || got != nil && !got.Equal(tc.want) {
				t.Fatalf("got %v, want %v", name(got), name(tc.want))
			}
		})
	}
}

func name(c *x509.Certificate) string {
	if c == nil {
		return "none"
	}
	return c.Subject.CommonName
}

// FuzzParseXFCC: no panic, and a certificate is returned only with no
// error, and only one whose Hash (when given) matched.
func FuzzParseXFCC(f *testing.F) {
	a := testCert(f, "a")
	f.Add(`Hash=` + hashOf(a) + `;Cert="` + escaped(a) + `";Subject="CN=a";DNS=a`)
	f.Add(`Cert=` + escaped(a) + `,By=x`)
	f.Add(`a="\"`)
	f.Add(`;;=,"`)
	f.Fuzz(func(t *testing.T, v string) {
		c, chain, err := ParseXFCC(v)
		if err != nil && (c != nil || chain != nil) {
			t.Fatal("a certificate with an error")
		}
		if err == nil && c == nil {
			t.Fatal("no certificate and no error")
		}
	})
}

// FuzzParseEscapedPEM: no panic; a certificate only without an error.
func FuzzParseEscapedPEM(f *testing.F) {
	f.Add(escaped(testCert(f, "a")))
	f.Add("%2D%2D%2D%2D%2DBEGIN CERTIFICATE")
	f.Fuzz(func(t *testing.T, v string) {
		c, err := ParseEscapedPEM(v)
		if err != nil && c != nil {
			t.Fatal("a certificate with an error")
		}
	})
}
