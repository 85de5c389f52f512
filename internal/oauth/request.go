package oauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// MaxBodyBytes is the largest token request body accepted (DESIGN §1).
const MaxBodyBytes = 64 << 10

// Token request parameter names (RFC 6749 §4.4.2, §2.3.1; RFC 8707 §2;
// Auth0's audience).
const (
	ParamGrantType    = "grant_type"
	ParamClientID     = "client_id"
	ParamClientSecret = "client_secret"
	ParamAudience     = "audience"
	ParamResource     = "resource"
	ParamScope        = "scope"
)

// Client authentication methods (RFC 7591 §2 names).
const (
	AuthNone              = "none"
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
)

// knownParams are the parameters whose value must be a single string.
// Unknown parameters are ignored (RFC 6749 §3.2).
var knownParams = map[string]bool{
	ParamGrantType: true, ParamClientID: true, ParamClientSecret: true,
	ParamAudience: true, ParamResource: true, ParamScope: true,
}

// TokenRequest is a parsed, syntactically valid token request. Parameters
// sent without a value are treated as omitted (RFC 6749 §3.1).
type TokenRequest struct {
	GrantType string
	Audience  string
	// Resources holds the RFC 8707 resource values; more than one is
	// invalid_target, which the audience step decides.
	Resources []string
	Scope     string

	// ClientID and ClientSecret are the client's credentials from whichever
	// place AuthMethod names; AuthMethod is AuthNone when no secret was sent.
	ClientID     string
	ClientSecret string
	AuthMethod   string
}

// ParseTokenRequest reads and checks a token request in the order DESIGN §1
// fixes: method, content type and size, parameters in the URL query,
// duplicates and JSON types, then the placement of client credentials. It
// accepts application/x-www-form-urlencoded (RFC 6749 §4.4.2) and
// application/json (Auth0) bodies. Every failure is an *Error.
func ParseTokenRequest(r *http.Request) (*TokenRequest, error) {
	if r.Method != http.MethodPost {
		return nil, MethodNotAllowed(http.MethodPost)
	}
	ct := r.Header.Get("Content-Type")
	mediaType, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || (mediaType != "application/x-www-form-urlencoded" && mediaType != "application/json") {
		return nil, InvalidRequest("the content type must be application/x-www-form-urlencoded or application/json")
	}
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		return nil, InvalidRequest("the request body could not be read")
	}
	if len(body) > MaxBodyBytes {
		return nil, tooLarge()
	}
	if err := checkQuery(r.URL.RawQuery); err != nil {
		return nil, err
	}
	var params map[string][]string
	if mediaType == "application/json" {
		params, err = parseJSON(body)
	} else {
		params, err = parseForm(body)
	}
	if err != nil {
		return nil, err
	}
	return fromParams(params, r.Header.Values("Authorization"))
}

func tooLarge() *Error {
	return InvalidRequest(fmt.Sprintf("the request body exceeds %d KiB", MaxBodyBytes>>10))
}

// checkQuery refuses token parameters, credentials above all, in the URL
// query (RFC 6749 §2.3.1: credentials must not be in the request URI).
func checkQuery(raw string) error {
	if raw == "" {
		return nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return InvalidRequest("the URL query is malformed")
	}
	for name := range q {
		if knownParams[name] {
			return InvalidRequest(fmt.Sprintf("parameter %q must be sent in the request body, not in the URL query", name))
		}
	}
	return nil
}

func parseForm(body []byte) (map[string][]string, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, InvalidRequest("the form body is malformed")
	}
	params := make(map[string][]string, len(vals))
	for name, v := range vals {
		if !knownParams[name] {
			continue
		}
		if len(v) > 1 && name != ParamResource {
			return nil, duplicate(name)
		}
		params[name] = v
	}
	return params, nil
}

func duplicate(name string) *Error {
	return InvalidRequest(fmt.Sprintf("parameter %q is given more than once", name))
}

// parseJSON reads a JSON object whose known members must be strings (the
// resource member may also be an array of strings). Duplicate members,
// trailing data and non-object bodies are refused.
func parseJSON(body []byte) (map[string][]string, error) {
	malformed := InvalidRequest("the JSON body is malformed")
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		if err == nil {
			return nil, InvalidRequest("the JSON body must be an object")
		}
		return nil, malformed
	}
	params := make(map[string][]string)
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, malformed
		}
		if !knownParams[name] {
			continue
		}
		if seen[name] {
			return nil, duplicate(name)
		}
		seen[name] = true
		raw = bytes.TrimSpace(raw)
		var s string
		if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
			params[name] = []string{s}
			continue
		}
		if name == ParamResource && len(raw) > 0 && raw[0] == '[' {
			var list []string
			if err := json.Unmarshal(raw, &list); err == nil {
				params[name] = list
				continue
			}
		}
		return nil, InvalidRequest(fmt.Sprintf("parameter %q must be a string", name))
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, malformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, malformed
	}
	return params, nil
}

func fromParams(params map[string][]string, authz []string) (*TokenRequest, error) {
	one := func(name string) string {
		if v := params[name]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	for name, vals := range params {
		for _, v := range vals {
			if !utf8.ValidString(v) {
				return nil, InvalidRequest(fmt.Sprintf("parameter %q is not valid UTF-8", name))
			}
		}
	}
	req := &TokenRequest{
		GrantType: one(ParamGrantType),
		Audience:  one(ParamAudience),
		Scope:     one(ParamScope),
	}
	for _, v := range params[ParamResource] {
		if v != "" {
			req.Resources = append(req.Resources, v)
		}
	}
	bodyID, bodySecret := one(ParamClientID), one(ParamClientSecret)
	switch len(authz) {
	case 0:
		req.ClientID, req.ClientSecret = bodyID, bodySecret
		req.AuthMethod = AuthNone
		if bodySecret != "" {
			req.AuthMethod = AuthClientSecretPost
		}
		return req, nil
	case 1:
	default:
		return nil, InvalidRequest("the Authorization header is given more than once")
	}
	id, secret, err := ParseBasic(authz[0])
	if err != nil {
		return nil, err
	}
	if bodySecret != "" {
		return nil, InvalidRequest("the client used more than one authentication method (HTTP Basic and client_secret in the body)")
	}
	if bodyID != "" && bodyID != id {
		return nil, InvalidRequest("client_id in the body does not match the HTTP Basic credentials")
	}
	req.ClientID, req.ClientSecret, req.AuthMethod = id, secret, AuthClientSecretBasic
	return req, nil
}

// ParseBasic decodes HTTP Basic client credentials (RFC 7617), whose client
// identifier and secret are form-URL-encoded first (RFC 6749 §2.3.1).
func ParseBasic(header string) (id, secret string, err error) {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", InvalidRequest("the Authorization header must use the Basic scheme")
	}
	raw, decErr := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if decErr != nil {
		return "", "", InvalidRequest("the HTTP Basic credentials are not valid base64")
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", InvalidRequest("the HTTP Basic credentials lack the ':' separator")
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", InvalidRequest("the HTTP Basic client identifier is not form-URL-encoded")
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", InvalidRequest("the HTTP Basic client secret is not form-URL-encoded")
	}
	if !utf8.ValidString(id) || !utf8.ValidString(secret) {
		return "", "", InvalidRequest("the HTTP Basic credentials are not valid UTF-8")
	}
	return id, secret, nil
}
