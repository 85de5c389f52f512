package mgmt_test

import (
	"testing"
)

// TestClientMTLSFields: tls_client_certificate_bound_access_tokens and one
// tls_client_auth_san_* (RFC 8705 §3.4, §2.1.2) are set, shown, changed
// and cleared on machine clients, and refused on login clients, two SANs
// at once, or a SAN that is not of its kind.
func TestClientMTLSFields(t *testing.T) {
	e := newEnv(t)
	c := e.must(201, "POST", "/api/v2/clients", `{"name":"svc","tls_client_certificate_bound_access_tokens":true,
		"tls_client_auth_san_uri":"spiffe://example.org/ns/prod/sa/orders"}`).obj(t)
	if c["tls_client_certificate_bound_access_tokens"] != true || c["tls_client_auth_san_uri"] != "spiffe://example.org/ns/prod/sa/orders" {
		t.Fatalf("created: %v", c)
	}
	path := "/api/v2/clients/" + str(c, "client_id")
	if r := e.must(200, "PATCH", path, `{"tls_client_auth_san_ip":"192.0.2.7","tls_client_auth_san_uri":""}`).obj(t); r["tls_client_auth_san_ip"] != "192.0.2.7" || r["tls_client_auth_san_uri"] != nil {
		t.Fatalf("after PATCH: %v", r)
	}
	if r := e.must(200, "PATCH", path, `{"tls_client_auth_san_ip":"","tls_client_certificate_bound_access_tokens":false}`).obj(t); r["tls_client_auth_san_ip"] != nil || r["tls_client_certificate_bound_access_tokens"] != false {
		t.Fatalf("after clearing: %v", r)
	}
	for _, tc := range []struct{ name, method, path, body, want string }{
		{"two SANs", "POST", "/api/v2/clients", `{"name":"x","tls_client_auth_san_dns":"a.example.com","tls_client_auth_san_ip":"192.0.2.1"}`, "at most one"},
		{"wildcard DNS", "POST", "/api/v2/clients", `{"name":"x","tls_client_auth_san_dns":"*.example.com"}`, "no wildcard"},
		{"bad IP", "PATCH", path, `{"tls_client_auth_san_ip":"192.0.2"}`, "not an IP address"},
		{"bad email", "PATCH", path, `{"tls_client_auth_san_email":"ops"}`, "not an email address"},
		{"relative URI", "PATCH", path, `{"tls_client_auth_san_uri":"orders"}`, "not an absolute URI"},
		{"bound login client", "POST", "/api/v2/clients", `{"name":"x","app_type":"spa","callbacks":["https://spa.example.com/"],"tls_client_certificate_bound_access_tokens":true}`, "machine-to-machine"},
		{"login client SAN", "POST", "/api/v2/clients", `{"name":"x","app_type":"regular_web","callbacks":["https://app.example.com/"],"tls_client_auth_san_dns":"a.example.com"}`, "machine-to-machine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, tc.name, e.as(tc.method, tc.path, tc.body), 400, "invalid_body", tc.want)
		})
	}
}
