package config

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// ClientCAPool reads --tls-client-ca: the CA certificates that issue
// clients' certificates for tls_client_auth (RFC 8705 §2.1). nil when the
// setting is empty.
func (c *Config) ClientCAPool() (*x509.CertPool, error) {
	if c.TLSClientCA == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(c.TLSClientCA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := raw; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", c.TLSClientCA, n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", c.TLSClientCA)
	}
	return pool, nil
}

// RequestClientCertOnMain reports whether the main listener asks for a TLS
// client certificate: it serves TLS, has a client CA and no separate
// --mtls-addr listener.
func (c *Config) RequestClientCertOnMain() bool {
	return c.TLS() && c.TLSClientCA != "" && c.MTLSAddr == ""
}

// ClientCertificates reports whether the server can see clients' TLS
// certificates at all: on one of its own listeners, or from a trusted
// proxy's header.
func (c *Config) ClientCertificates() bool {
	return c.RequestClientCertOnMain() || c.MTLSAddr != "" || c.ClientCertHeader != ""
}

// MTLSEndpointBase is the public base URL of the mutual-TLS endpoint
// aliases (RFC 8705 §5): --mtls-base-url, or the issuer's scheme and host
// with --mtls-addr's port; "" when there are none.
func (c *Config) MTLSEndpointBase() string {
	if c.MTLSBaseURL != "" {
		return strings.TrimRight(c.MTLSBaseURL, "/")
	}
	if c.MTLSAddr == "" || c.Issuer == "" {
		return ""
	}
	u, err := url.Parse(c.Issuer)
	if err != nil {
		return ""
	}
	_, port, err := net.SplitHostPort(c.MTLSAddr)
	if err != nil || port == "0" {
		return ""
	}
	u.Host = net.JoinHostPort(u.Hostname(), port)
	return strings.TrimRight(u.String(), "/")
}

// validateMTLS checks the mutual-TLS settings: a readable CA file, an
// alias listener only with TLS and on its own address, an https alias URL,
// and a certificate header only with trusted proxies to believe it from.
func (c *Config) validateMTLS() []error {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if _, err := c.ClientCAPool(); err != nil {
		bad("tls-client-ca: %v", err)
	}
	if c.MTLSAddr != "" {
		_, port, err := net.SplitHostPort(c.MTLSAddr)
		p, perr := strconv.Atoi(port)
		switch {
		case err != nil || perr != nil || p < 0 || p > 65535:
			bad("mtls-addr %q must be host:port", c.MTLSAddr)
		case !c.TLS():
			bad("mtls-addr needs tls-cert and tls-key: the mutual-TLS listener serves TLS")
		case c.MTLSAddr == c.Addr && p != 0:
			bad("mtls-addr %q is the main listener's address: leave it empty and set tls-client-ca to request client certificates there", c.MTLSAddr)
		}
	}
	if c.MTLSBaseURL != "" {
		if u, err := url.Parse(c.MTLSBaseURL); err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			bad("mtls-base-url %q must be an https URL without query or fragment", c.MTLSBaseURL)
		}
	}
	if c.ClientCertHeader != "" {
		switch {
		case !validHeaderName(c.ClientCertHeader):
			bad("client-cert-header %q is not a header name", c.ClientCertHeader)
		case c.TrustedProxies == "":
			bad("client-cert-header needs trusted-proxies: the header is believed only from them")
		case isForwardingHeader(c.ClientCertHeader):
			bad("client-cert-header %q is a header the server reads for something else", c.ClientCertHeader)
		}
	}
	return problems
}

func isForwardingHeader(h string) bool {
	switch http.CanonicalHeaderKey(h) {
	case "Authorization", "X-Forwarded-For", "Forwarded", "Host", "Cookie", "Content-Type", "Content-Length":
		return true
	}
	return false
}

// validHeaderName checks an RFC 9110 §5.1 field name (a token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
