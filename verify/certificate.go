package verify

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// HeaderXFCC is Envoy's X-Forwarded-Client-Cert header, the one
// [CertificateSource].Header reads in Envoy's format; any other header name
// is read as a URL-encoded PEM certificate (nginx's $ssl_client_escaped_cert).
const HeaderXFCC = "X-Forwarded-Client-Cert"

// MaxCertificateHeader is the longest client certificate header read, in
// bytes; a longer one is an error.
const MaxCertificateHeader = 16 << 10

// ErrCertificateHeader means a trusted proxy's client certificate header
// could not be read: the proxy is misconfigured, or passes on what its own
// client sent.
var ErrCertificateHeader = errors.New("the client certificate header from the proxy cannot be read")

// CertificateSource says where a request's TLS client certificate is found
// (RFC 8705 §2, §3): on the request's own TLS connection, or, behind a
// reverse proxy that terminates TLS, in a header the proxy sets. The header
// is believed only when the request's direct peer (RemoteAddr) is in
// TrustedProxies; from any other peer it is ignored.
//
// Two header formats are read:
//
//   - Envoy's X-Forwarded-Client-Cert (HeaderXFCC): exactly one element
//     (forward_client_cert_details SANITIZE_SET), whose Cert is the
//     URL-encoded PEM certificate, Chain optionally its URL-encoded chain,
//     and Hash, when present, the hex SHA-256 of the certificate, which must
//     match it. More than one element (APPEND_FORWARD) is an error: which
//     one is the client's cannot be told safely.
//   - any other header name: a URL-encoded PEM certificate, as nginx sends
//     $ssl_client_escaped_cert (`proxy_set_header X-SSL-Client-Cert
//     $ssl_client_escaped_cert;`); empty means no certificate.
//
// The proxy must overwrite the header on every request (Envoy's
// SANITIZE_SET, nginx's proxy_set_header do): a proxy that passes on a
// header its own client sent lets that client claim any certificate.
type CertificateSource struct {
	// Header names the header a trusted proxy puts the certificate in;
	// empty reads only the TLS connection.
	Header string
	// TrustedProxies are the peers whose Header is believed. A request
	// from a trusted proxy is judged by the header alone: the proxy's own
	// TLS client certificate is not the client's.
	TrustedProxies []netip.Prefix
}

// Certificate returns the client certificate of r and the intermediates
// presented with it (nil, nil, nil when there is none), or an error wrapping
// ErrCertificateHeader when a trusted proxy's header is malformed.
func (s *CertificateSource) Certificate(r *http.Request) (*x509.Certificate, []*x509.Certificate, error) {
	if s != nil && s.Header != "" && s.trusted(r.RemoteAddr) {
		values := r.Header.Values(s.Header)
		switch len(values) {
		case 0:
			return nil, nil, nil
		case 1:
		default:
			return nil, nil, fmt.Errorf("%w: %d %s header lines", ErrCertificateHeader, len(values), s.Header)
		}
		v := values[0]
		if len(v) > MaxCertificateHeader {
			return nil, nil, fmt.Errorf("%w: over %d bytes", ErrCertificateHeader, MaxCertificateHeader)
		}
		var cert *x509.Certificate
		var chain []*x509.Certificate
		var err error
		if strings.EqualFold(s.Header, HeaderXFCC) {
			cert, chain, err = ParseXFCC(v)
		} else {
			cert, err = ParseEscapedPEM(v)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrCertificateHeader, err)
		}
		return cert, chain, nil
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, nil, nil
	}
	return r.TLS.PeerCertificates[0], r.TLS.PeerCertificates[1:], nil
}

func (s *CertificateSource) trusted(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Thumbprint is the certificate's `x5t#S256` (RFC 8705 §3.1): the base64url
// SHA-256 of its DER encoding, without padding.
func Thumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ParseEscapedPEM reads one URL-encoded PEM certificate, as nginx's
// $ssl_client_escaped_cert writes it. An empty value is no certificate;
// anything but exactly one CERTIFICATE block (and white space) is an
// error.
func ParseEscapedPEM(v string) (*x509.Certificate, error) {
	if v == "" {
		return nil, nil
	}
	p, err := url.PathUnescape(v)
	if err != nil {
		return nil, errors.New("not URL-encoded")
	}
	certs, err := parsePEM(p, 1)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// parsePEM reads max CERTIFICATE blocks at most, at least one, and nothing
// but white space around them.
func parsePEM(s string, max int) ([]*x509.Certificate, error) {
	rest := []byte(s)
	var out []*x509.Certificate
	for {
		rest = trimSpace(rest)
		if len(rest) == 0 {
			break
		}
		if len(out) == max {
			return nil, fmt.Errorf("more than %d certificate(s)", max)
		}
		if !strings.HasPrefix(string(rest), "-----BEGIN ") {
			return nil, errors.New("not a PEM certificate")
		}
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil || b.Type != "CERTIFICATE" || len(b.Headers) > 0 {
			return nil, errors.New("not a PEM certificate")
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate: %v", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no certificate")
	}
	return out, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}

// maxChain is the most intermediates an XFCC Chain may hold.
const maxChain = 8

// ParseXFCC reads Envoy's X-Forwarded-Client-Cert: exactly one element of
// semicolon-separated key=value pairs (keys case-insensitive, values
// possibly double-quoted with \" escapes; an unquoted value may hold '='
// but not ',', ';' or '"'), whose Cert is the client
// certificate (URL-encoded PEM). Chain, when present, is its URL-encoded
// PEM chain (the certificate first, as Envoy writes it; the intermediates
// are returned). Hash, when present, must be the hex SHA-256 of the
// certificate. Keys are given once each (URI and DNS may repeat); an
// element without Cert is an error, since client authentication needs the
// certificate itself, not its hash.
func ParseXFCC(v string) (*x509.Certificate, []*x509.Certificate, error) {
	pairs, err := splitXFCC(v)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	var certV, chainV, hashV string
	for _, kv := range pairs {
		key := strings.ToLower(kv[0])
		switch key {
		case "by", "hash", "cert", "chain", "subject":
			if seen[key] {
				return nil, nil, fmt.Errorf("XFCC: %s given twice", kv[0])
			}
			seen[key] = true
		case "uri", "dns":
		default:
			return nil, nil, fmt.Errorf("XFCC: unknown key %q", trunc(kv[0]))
		}
		switch key {
		case "cert":
			certV = kv[1]
		case "chain":
			chainV = kv[1]
		case "hash":
			hashV = kv[1]
		}
	}
	if certV == "" {
		return nil, nil, errors.New("XFCC: no Cert (set Envoy's forward_client_cert_details set_current_client_cert_details cert: true)")
	}
	cert, err := ParseEscapedPEM(certV)
	if err != nil {
		return nil, nil, fmt.Errorf("XFCC Cert: %v", err)
	}
	if hashV != "" {
		want, err := hex.DecodeString(hashV)
		sum := sha256.Sum256(cert.Raw)
		if err != nil || subtle.ConstantTimeCompare(want, sum[:]) != 1 {
			return nil, nil, errors.New("XFCC: Hash is not the SHA-256 of Cert")
		}
	}
	var chain []*x509.Certificate
	if chainV != "" {
		p, err := url.PathUnescape(chainV)
		if err != nil {
			return nil, nil, errors.New("XFCC Chain: not URL-encoded")
		}
		all, err := parsePEM(p, maxChain+1)
		if err != nil {
			return nil, nil, fmt.Errorf("XFCC Chain: %v", err)
		}
		if !all[0].Equal(cert) {
			return nil, nil, errors.New("XFCC: Chain does not start with Cert")
		}
		chain = all[1:]
	}
	return cert, chain, nil
}

// splitXFCC splits the one element of an XFCC value into its key=value
// pairs, unquoting quoted values. A comma outside quotes (a second element),
// an empty key, a pair without '=' or an unterminated quote is an error.
func splitXFCC(v string) ([][2]string, error) {
	var pairs [][2]string
	i := 0
	for {
		j := i
		for j < len(v) && v[j] != '=' && v[j] != ';' && v[j] != ',' && v[j] != '"' {
			j++
		}
		if j == len(v) || v[j] != '=' || j == i {
			if j < len(v) && v[j] == ',' {
				return nil, errors.New("XFCC: more than one element (use Envoy's SANITIZE_SET)")
			}
			return nil, errors.New("XFCC: a pair is not key=value")
		}
		key := v[i:j]
		j++ // past '='
		var val string
		if j < len(v) && v[j] == '"' {
			var b strings.Builder
			j++
			for {
				if j >= len(v) {
					return nil, errors.New("XFCC: unterminated quoted value")
				}
				c := v[j]
				if c == '\\' && j+1 < len(v) && v[j+1] == '"' {
					b.WriteByte('"')
					j += 2
					continue
				}
				if c == '"' {
					j++
					break
				}
				b.WriteByte(c)
				j++
			}
			val = b.String()
		} else {
			k := j
			for k < len(v) && v[k] != ';' && v[k] != ',' && v[k] != '"' {
				k++
			}
			if k < len(v) && v[k] == '"' {
				return nil, errors.New("XFCC: unquoted value holds '\"'")
			}
			val, j = v[j:k], k
		}
		pairs = append(pairs, [2]string{key, val})
		switch {
		case j == len(v):
			return pairs, nil
		case v[j] == ',':
			return nil, errors.New("XFCC: more than one element (use Envoy's SANITIZE_SET)")
		case v[j] != ';':
			return nil, errors.New("XFCC: a value is followed by neither ';' nor the end")
		}
		i = j + 1
	}
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
