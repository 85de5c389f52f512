package admin

import (
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// MaxSANLen bounds a registered subject alternative name.
const MaxSANLen = 1024

// checkSAN checks a client's tls_client_auth subject alternative name
// (RFC 8705 §2.1.2): a machine client's only, of a known kind, and a value
// of that kind: a DNS name (no wildcard: it is compared, not expanded), an
// absolute URI, an IP address, an email address.
func checkSAN(c storage.Client) []string {
	san := c.TLSClientAuthSAN
	if san.Kind == "" && san.Value == "" {
		return nil
	}
	if IsLogin(c.AppType) {
		return []string{"tls_client_auth is for machine-to-machine clients"}
	}
	bad := func(what string) []string {
		return []string{fmt.Sprintf("tls_client_auth_san_%s %q is not %s", san.Kind, san.Value, what)}
	}
	v := san.Value
	if v == "" || len(v) > MaxSANLen || strings.ContainsAny(v, " \t\r\n") {
		return []string{fmt.Sprintf("tls_client_auth_san_%s must be 1 to %d characters without white space", san.Kind, MaxSANLen)}
	}
	switch san.Kind {
	case storage.SANDNS:
		if strings.Contains(v, "*") || strings.HasPrefix(v, ".") || strings.HasSuffix(v, ".") || strings.Contains(v, "..") {
			return bad("a DNS name (no wildcard)")
		}
	case storage.SANURI:
		if u, err := url.Parse(v); err != nil || u.Scheme == "" {
			return bad("an absolute URI")
		}
	case storage.SANIP:
		if _, err := netip.ParseAddr(v); err != nil {
			return bad("an IP address")
		}
	case storage.SANEmail:
		if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
			return bad("an email address")
		}
	default:
		return []string{fmt.Sprintf("subject alternative name kind %q is not dns, uri, ip or email", san.Kind)}
	}
	return nil
}
