package mgmt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// fixedField is a field of Auth0's Management API v2 schema that gatehouse
// accepts at the one value it behaves as, so that a configuration written
// for Auth0 (Terraform, the Deploy CLI, an export) applies without drift:
// null or that value is accepted, anything else is a 400 that names the
// field, the value and why. docs/management-api.md lists every field.
type fixedField struct {
	name string
	// value is what gatehouse behaves as, in the JSON form: nil stands
	// for "nothing" (null, "", false, [] or {}). An object accepts any of
	// its members, each at its value.
	value any
	// echo: responses carry value (Auth0's GET returns the field).
	echo bool
	why  string
}

// fixedNames returns the names of fields.
func fixedNames(fields []fixedField) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.name
	}
	return out
}

// checkFixed reports each field of got whose value is not the one its
// fixedField accepts.
func checkFixedFields(fields []fixedField, got map[string]json.RawMessage) []string {
	var problems []string
	for _, f := range fields {
		raw, ok := got[f.name]
		if !ok {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			problems = append(problems, fmt.Sprintf("field %q is not valid JSON", f.name))
			continue
		}
		if !matches(v, f.value) {
			want := "null"
			if f.value != nil {
				want = compact(f.value)
			}
			problems = append(problems, fmt.Sprintf("%s %s is not supported: %s (accepted: %s)", f.name, compact(v), f.why, want))
		}
	}
	return problems
}

// matches reports whether got, a decoded JSON value, is what want stands
// for: null always is (the default, which is gatehouse's behaviour).
func matches(got, want any) bool {
	switch w := want.(type) {
	case nil:
		return empty(got)
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return got == nil
		}
		for k, v := range g {
			if wv, ok := w[k]; ok && !matches(v, wv) || !ok && !empty(v) {
				return false
			}
		}
		return true
	}
	return got == nil || reflect.DeepEqual(got, jsonValue(want))
}

// empty reports whether a decoded JSON value says nothing: null, "",
// false, [] or an object of such values.
func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case []any:
		return len(v) == 0
	case map[string]any:
		for _, x := range v {
			if !empty(x) {
				return false
			}
		}
		return true
	}
	return false
}

// jsonValue is v as json.Unmarshal into an any would give it back
// (numbers as float64).
func jsonValue(v any) any {
	var out any
	b, _ := json.Marshal(v)
	_ = json.Unmarshal(b, &out)
	return out
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkReadOnly reports each field of got that differs from the current
// object's (cur, its view): read-only fields may be sent back as they were
// read, never changed.
func checkReadOnly(names []string, got map[string]json.RawMessage, cur any, why string) []string {
	var obj map[string]json.RawMessage
	b, _ := json.Marshal(cur)
	_ = json.Unmarshal(b, &obj)
	var problems []string
	for _, name := range names {
		raw, ok := got[name]
		if !ok {
			continue
		}
		var g, c any
		_ = json.Unmarshal(raw, &g)
		_ = json.Unmarshal(obj[name], &c)
		if !reflect.DeepEqual(g, c) {
			problems = append(problems, fmt.Sprintf("%s is read-only: it is %s, the request has %s; %s", name, string(bytes.TrimSpace(obj[name])), compact(g), why))
		}
	}
	return problems
}

// refusedOnCreate reports read-only fields sent to a create, where the
// server assigns them; those listed in fixed were judged already.
func refusedOnCreate(names []string, got map[string]json.RawMessage) []string {
	var problems []string
	for _, name := range names {
		if _, ok := got[name]; ok {
			problems = append(problems, fmt.Sprintf("%s is assigned by the server and cannot be given on create", name))
		}
	}
	return problems
}

// joinProblems is the 400 of a body's problems, or nil.
func joinProblems(problems []string) *Error {
	if len(problems) == 0 {
		return nil
	}
	return badBody(strings.Join(slices.Compact(problems), "; "))
}

// The fields of Auth0's resource server that gatehouse accepts at its own
// behaviour (docs/management-api.md has the table of every field).
var apiFixed = []fixedField{
	{name: "skip_consent_for_verifiable_first_party_clients", value: true, echo: true,
		why: "first-party clients never see the consent page; to ask users for consent, make the client third-party (is_first_party false)"},
	{name: "signing_secret", why: "HS256 is not supported: tokens are signed with asymmetric keys published in the JWKS"},
	{name: "verificationLocation", why: "token introspection with a resource server's JWKS is not supported"},
	{name: "options", why: "resource server options are not supported"},
	{name: "consent_policy", why: "transactional authorization is not supported"},
	{name: "authorization_details", why: "rich authorization requests (RFC 9396) are not supported"},
	{name: "token_encryption", why: "encrypted access tokens (JWE) are not supported"},
	{name: "proof_of_possession", why: "sender-constrained access tokens are not supported"},
}

// apiReadOnly are the resource server's fields the server sets; PATCH
// also keeps the identifier.
var apiReadOnly = []string{"id", "is_system"}

// The fields of Auth0's client that gatehouse accepts at its own behaviour.
func (h *Handler) clientFixed() []fixedField {
	refresh := map[string]any{"rotation_type": "rotating", "expiration_type": "expiring", "leeway": 0,
		"infinite_token_lifetime": false, "infinite_idle_token_lifetime": false}
	if h.cfg.RefreshTokenLifetime > 0 {
		refresh["token_lifetime"] = int64(h.cfg.RefreshTokenLifetime.Seconds())
	}
	if h.cfg.RefreshTokenIdle > 0 {
		refresh["idle_token_lifetime"] = int64(h.cfg.RefreshTokenIdle.Seconds())
	}
	return []fixedField{
		{name: "oidc_conformant", value: true, echo: true, why: "the server follows OpenID Connect strictly"},
		{name: "jwt_configuration", value: map[string]any{"alg": "RS256", "lifetime_in_seconds": 3600, "secret_encoded": false}, echo: true,
			why: "ID tokens are signed with RS256 keys published in the JWKS and last an hour"},
		{name: "cross_origin_authentication", value: false, echo: true, why: "cross-origin (embedded) login is not supported; users log in on the hosted login page"},
		{name: "cross_origin_loc", why: "cross-origin (embedded) login is not supported"},
		{name: "sso_disabled", value: false, echo: true, why: "the hosted login page's session serves every client (single sign-on)"},
		{name: "sso", why: "identity provider single sign-on is not supported"},
		{name: "custom_login_page_on", value: true, echo: true, why: "users log in on the server's hosted login page"},
		{name: "custom_login_page", why: "custom login pages are not supported"},
		{name: "custom_login_page_preview", why: "custom login pages are not supported"},
		{name: "form_template", why: "form templates are not supported"},
		{name: "refresh_token", value: refresh, echo: true,
			why: "refresh tokens rotate, reuse of a rotated one ends its login, and their lifetimes are the server's --refresh-token-lifetime and --refresh-token-idle"},
		{name: "is_token_endpoint_ip_header_trusted", value: false, echo: true, why: "the token endpoint does not take the end user's IP from a header"},
		{name: "organization_usage", value: "deny", echo: true, why: "organizations are not supported"},
		{name: "organization_require_behavior", value: "no_prompt", why: "organizations are not supported"},
		{name: "default_organization", why: "organizations are not supported"},
		{name: "addons", why: "add-ons (SAML, WS-Fed, …) are not supported"},
		{name: "mobile", why: "mobile app settings are not supported"},
		{name: "native_social_login", why: "native social login is not supported"},
		{name: "encryption_key", why: "encrypted responses are not supported"},
		{name: "initiate_login_uri", why: "third-party initiated login is not supported"},
		{name: "oidc_backchannel_logout", why: "back-channel logout is not supported"},
		{name: "oidc_logout", why: "back-channel logout is not supported"},
		{name: "signed_request_object", why: "signed request objects (JAR) are not supported"},
		{name: "compliance_level", why: "compliance levels (FAPI) are not supported"},
		{name: "require_proof_of_possession", why: "sender-constrained access tokens are not supported"},
		{name: "require_pushed_authorization_requests", why: "pushed authorization requests are not supported"},
	}
}

// clientReadOnly are the client's fields the server sets.
var clientReadOnly = []string{"client_id"}

// The fields of Auth0's client grant that gatehouse accepts at its own
// behaviour.
var grantFixed = []fixedField{
	{name: "allow_any_organization", value: false, echo: true, why: "organizations are not supported"},
	{name: "organization_usage", value: "deny", echo: true, why: "organizations are not supported"},
	{name: "authorization_details_types", why: "rich authorization requests (RFC 9396) are not supported"},
}

// grantReadOnly are the grant's fields the server sets; PATCH also keeps
// client_id and audience.
var grantReadOnly = []string{"id"}
