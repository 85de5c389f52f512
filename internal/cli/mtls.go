package cli

import (
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// sanUsage describes --tls-client-auth-san.
const sanUsage = "authenticate the client with tls_client_auth (RFC 8705 §2.1.2) by a certificate of the server's --tls-client-ca that holds this subject alternative name: dns:NAME, uri:URI, ip:ADDRESS or email:ADDRESS; the client's secret no longer authenticates it"

// sanFlag is --tls-client-auth-san KIND:VALUE; empty is none.
type sanFlag struct{ san *storage.SAN }

func (f sanFlag) String() string {
	if f.san == nil || f.san.Kind == "" {
		return ""
	}
	return f.san.Kind + ":" + f.san.Value
}

func (f sanFlag) Set(v string) error {
	if v == "" {
		*f.san = storage.SAN{}
		return nil
	}
	kind, value, ok := strings.Cut(v, ":")
	switch kind {
	case storage.SANDNS, storage.SANURI, storage.SANIP, storage.SANEmail:
	default:
		ok = false
	}
	if !ok || value == "" {
		return fmt.Errorf("%q must be dns:NAME, uri:URI, ip:ADDRESS or email:ADDRESS", v)
	}
	*f.san = storage.SAN{Kind: kind, Value: value}
	return nil
}

func (sanFlag) Type() string { return "KIND:VALUE" }
