package mgmt

import (
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// san is the tls_client_auth subject alternative name the body gives
// (RFC 8705 §2.1.2): nil when it names none, the zero SAN when it clears
// it with "", a 400 when it gives more than one.
func (in clientInput) san() (*storage.SAN, *Error) {
	var out *storage.SAN
	for _, f := range []struct {
		kind string
		v    *string
	}{{storage.SANDNS, in.TLSClientAuthSANDNS}, {storage.SANURI, in.TLSClientAuthSANURI}, {storage.SANIP, in.TLSClientAuthSANIP}, {storage.SANEmail, in.TLSClientAuthSANEmail}} {
		if f.v == nil {
			continue
		}
		if *f.v == "" {
			if out == nil {
				out = &storage.SAN{}
			}
			continue
		}
		if out != nil && out.Kind != "" {
			return nil, badBody("give at most one of tls_client_auth_san_dns, tls_client_auth_san_uri, tls_client_auth_san_ip and tls_client_auth_san_email (RFC 8705 §2.1.2)")
		}
		out = &storage.SAN{Kind: f.kind, Value: *f.v}
	}
	return out, nil
}

// san is the SAN the view shows, the zero SAN when none.
func (v Client) san() storage.SAN {
	for _, s := range []storage.SAN{{Kind: storage.SANDNS, Value: v.TLSClientAuthSANDNS}, {Kind: storage.SANURI, Value: v.TLSClientAuthSANURI},
		{Kind: storage.SANIP, Value: v.TLSClientAuthSANIP}, {Kind: storage.SANEmail, Value: v.TLSClientAuthSANEmail}} {
		if s.Value != "" {
			return s
		}
	}
	return storage.SAN{}
}

// viewSAN sets the client view's tls_client_auth_san_* field of san.
func (v *Client) viewSAN(san storage.SAN) {
	switch san.Kind {
	case storage.SANDNS:
		v.TLSClientAuthSANDNS = san.Value
	case storage.SANURI:
		v.TLSClientAuthSANURI = san.Value
	case storage.SANIP:
		v.TLSClientAuthSANIP = san.Value
	case storage.SANEmail:
		v.TLSClientAuthSANEmail = san.Value
	}
}
