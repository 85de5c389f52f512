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
	"sync"
	"unicode/utf8"
)

// MaxBodyBytes is the largest token request body accepted (docs/reference/protocol.md).
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
	// The authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.5) and
	// refresh_token (RFC 6749 §6) grants'.
	ParamCode         = "code"
	ParamRedirectURI  = "redirect_uri"
	ParamCodeVerifier = "code_verifier"
	ParamRefreshToken = "refresh_token"
	// A client assertion (RFC 7521 §4.2, RFC 7523 §2.2).
	ParamClientAssertionType = "client_assertion_type"
	ParamClientAssertion     = "client_assertion"
	// The revocation (RFC 7009 §2.1) and introspection (RFC 7662 §2.1)
	// requests'.
	ParamToken         = "token"
	ParamTokenTypeHint = "token_type_hint"
)

// AssertionTypeJWTBearer is the one client_assertion_type accepted: a JWT
// (RFC 7523 §2.2).
const AssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Client authentication methods (RFC 7591 §2 names).
const (
	AuthNone              = "none"
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	// AuthPrivateKeyJWT is a request that authenticates with a JWT client
	// assertion (RFC 7523 §2.2, OIDC Core §9 private_key_jwt); whose key
	// signed it, the client's own or a federated issuer's, the token
	// endpoint decides.
	AuthPrivateKeyJWT = "private_key_jwt"
)

// param identifies a known parameter; unknown parameters are ignored (RFC
// 6749 §3.2).
type param int

const (
	pGrantType param = iota
	pClientID
	pClientSecret
	pAudience
	pResource
	pScope
	pCode
	pRedirectURI
	pCodeVerifier
	pRefreshToken
	pClientAssertionType
	pClientAssertion
	pToken
	pTokenTypeHint
	numParams
)

var paramNames = [numParams]string{ParamGrantType, ParamClientID, ParamClientSecret, ParamAudience, ParamResource, ParamScope,
	ParamCode, ParamRedirectURI, ParamCodeVerifier, ParamRefreshToken, ParamClientAssertionType, ParamClientAssertion,
	ParamToken, ParamTokenTypeHint}

// knownParam returns the param a name stands for.
func knownParam(name string) (param, bool) {
	switch name {
	case ParamGrantType:
		return pGrantType, true
	case ParamClientID:
		return pClientID, true
	case ParamClientSecret:
		return pClientSecret, true
	case ParamAudience:
		return pAudience, true
	case ParamResource:
		return pResource, true
	case ParamScope:
		return pScope, true
	case ParamCode:
		return pCode, true
	case ParamRedirectURI:
		return pRedirectURI, true
	case ParamCodeVerifier:
		return pCodeVerifier, true
	case ParamRefreshToken:
		return pRefreshToken, true
	case ParamClientAssertionType:
		return pClientAssertionType, true
	case ParamClientAssertion:
		return pClientAssertion, true
	case ParamToken:
		return pToken, true
	case ParamTokenTypeHint:
		return pTokenTypeHint, true
	}
	return 0, false
}

// params are the known parameters of one request: each given at most once
// (RFC 6749 §3.1), except resource (RFC 8707 §2).
type params struct {
	has       [numParams]bool
	val       [numParams]string
	resources []string
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
	// Code, RedirectURI and CodeVerifier are the authorization_code
	// grant's (RFC 6749 §4.1.3, RFC 7636 §4.5); RefreshToken the
	// refresh_token grant's (RFC 6749 §6).
	Code         string
	RedirectURI  string
	CodeVerifier string
	RefreshToken string
	// Token and TokenTypeHint are the token a revocation (RFC 7009 §2.1)
	// or introspection (RFC 7662 §2.1) request is about, and its hint.
	Token         string
	TokenTypeHint string

	// ClientID and ClientSecret are the client's credentials from whichever
	// place AuthMethod names; AuthMethod is AuthNone when no secret was sent.
	// With AuthPrivateKeyJWT, ClientAssertion holds the JWT and ClientID
	// the body's client_id, which RFC 7521 §4.2 makes optional (empty then).
	ClientID        string
	ClientSecret    string
	ClientAssertion string
	AuthMethod      string
}

// ParseTokenRequest reads and checks a token request in the order docs/reference/protocol.md
// fixes: method, content type and size, parameters in the URL query,
// duplicates and JSON types, then the placement of client credentials. It
// accepts application/x-www-form-urlencoded (RFC 6749 §4.4.2) and
// application/json (Auth0) bodies. Every failure is an *Error.
func ParseTokenRequest(r *http.Request) (*TokenRequest, error) {
	if r.Method != http.MethodPost {
		return nil, MethodNotAllowed(http.MethodPost)
	}
	isJSON, ok := tokenContentType(r.Header.Get("Content-Type"))
	if !ok {
		return nil, InvalidRequest("the content type must be application/x-www-form-urlencoded or application/json")
	}
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge()
	}
	bp := bodyPool.Get().(*bytes.Buffer)
	defer putBody(bp)
	bp.Reset()
	_, err := bp.ReadFrom(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		return nil, InvalidRequest("the request body could not be read")
	}
	body := bp.Bytes()
	if len(body) > MaxBodyBytes {
		return nil, tooLarge()
	}
	if err := checkQuery(r.URL.RawQuery); err != nil {
		return nil, err
	}
	var p params
	if isJSON {
		err = parseJSON(body, &p)
	} else {
		err = parseForm(body, &p)
	}
	if err != nil {
		return nil, err
	}
	return fromParams(&p, r.Header.Values("Authorization"))
}

// bodyPool holds request body buffers; bodies are usually a few hundred bytes.
var bodyPool = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 1024)) }}

func putBody(b *bytes.Buffer) {
	if b.Cap() <= 16<<10 { // a rare large body is not kept
		bodyPool.Put(b)
	}
}

// tokenContentType reports whether ct is one of the two accepted media
// types (RFC 6749 §4.4.2 form, or JSON as Auth0 takes), and which. The
// common spellings are recognised without parsing; anything else goes
// through mime.ParseMediaType.
func tokenContentType(ct string) (isJSON, ok bool) {
	switch ct {
	case "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8", "application/x-www-form-urlencoded;charset=UTF-8":
		return false, true
	case "application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8":
		return true, true
	case "":
		return false, false
	}
	mediaType, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false, false
	}
	switch mediaType {
	case "application/x-www-form-urlencoded":
		return false, true
	case "application/json":
		return true, true
	}
	return false, false
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
		if _, known := knownParam(name); known {
			return InvalidRequest(fmt.Sprintf("parameter %q must be sent in the request body, not in the URL query", name))
		}
	}
	return nil
}

// parseForm reads an application/x-www-form-urlencoded body as
// url.ParseQuery does (the same escapes, the same refusal of ';'), keeping
// only the known parameters. Any malformed pair makes the whole body
// malformed, which is reported before a duplicate.
func parseForm(body []byte, p *params) error {
	malformed, dup := false, param(-1)
	for len(body) > 0 {
		var pair []byte
		if i := bytes.IndexByte(body, '&'); i >= 0 {
			pair, body = body[:i], body[i+1:]
		} else {
			pair, body = body, nil
		}
		if bytes.IndexByte(pair, ';') >= 0 {
			malformed = true
			continue
		}
		if len(pair) == 0 {
			continue
		}
		rawKey, rawVal := pair, []byte(nil)
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			rawKey, rawVal = pair[:i], pair[i+1:]
		}
		id, known := formKnown(rawKey)
		if !known {
			if !validEscapes(rawKey) || !validEscapes(rawVal) {
				malformed = true
			}
			continue
		}
		v, ok := formUnescape(rawVal)
		if !ok {
			malformed = true
			continue
		}
		if id == pResource {
			p.resources = append(p.resources, v)
			p.has[id] = true
			continue
		}
		if p.has[id] && dup < 0 {
			dup = id
		}
		if !p.has[id] {
			p.has[id], p.val[id] = true, v
		}
	}
	if malformed {
		return InvalidRequest("the form body is malformed")
	}
	if dup >= 0 {
		return duplicate(paramNames[dup])
	}
	return nil
}

// formKnown returns the known parameter a raw form key names, unescaping
// it only when it holds escapes.
func formKnown(raw []byte) (param, bool) {
	if bytes.IndexByte(raw, '%') < 0 && bytes.IndexByte(raw, '+') < 0 {
		return knownParam(string(raw)) // no allocation: the conversion is only compared
	}
	name, err := url.QueryUnescape(string(raw))
	if err != nil {
		return 0, false // the caller's validEscapes reports it
	}
	return knownParam(name)
}

// formUnescape decodes a form value ('+' is a space, %XX a byte) as
// url.QueryUnescape does, with one allocation: the string.
func formUnescape(raw []byte) (string, bool) {
	if bytes.IndexByte(raw, '%') < 0 && bytes.IndexByte(raw, '+') < 0 {
		return string(raw), true
	}
	var stack [256]byte
	out := stack[:0]
	if len(raw) > len(stack) {
		out = make([]byte, 0, len(raw))
	}
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '+':
			out = append(out, ' ')
		case '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return "", false
			}
			out = append(out, unhex(raw[i+1])<<4|unhex(raw[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return string(out), true
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// validEscapes reports whether every '%' in b starts a %XX escape, the only
// thing url.QueryUnescape refuses.
func validEscapes(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '%' {
			continue
		}
		if i+2 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) {
			return false
		}
		i += 2
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func duplicate(name string) *Error {
	return InvalidRequest(fmt.Sprintf("parameter %q is given more than once", name))
}

// parseJSON reads a JSON object whose known members must be strings (the
// resource member may also be an array of strings). Duplicate members,
// trailing data and non-object bodies are refused. The common body — a flat
// object of plain ASCII strings — is read by parseFlatJSON; anything else,
// errors included, by encoding/json.
func parseJSON(body []byte, p *params) error {
	var flat params
	if parseFlatJSON(body, &flat) {
		*p = flat
		return nil
	}
	return decodeJSON(body, p)
}

// parseFlatJSON reads body if it is a JSON object (RFC 8259 §4) whose
// members are all strings of printable ASCII without escapes, each known
// parameter at most once, and reports whether it did. It declines
// everything else (escapes, non-ASCII, other value types, duplicates, any
// syntax error) for decodeJSON to read or refuse; a differential fuzz test
// holds the two to the same result.
func parseFlatJSON(b []byte, p *params) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	for {
		key, j, ok := flatString(b, i)
		if !ok {
			return false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		val, j, ok := flatString(b, skipSpace(b, i+1))
		if !ok {
			return false
		}
		if id, known := knownParam(string(key)); known {
			if p.has[id] {
				return false // a duplicate: decodeJSON says so
			}
			p.has[id] = true
			if id == pResource {
				p.resources = []string{string(val)}
			} else {
				p.val[id] = string(val)
			}
		}
		i = skipSpace(b, j)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return skipSpace(b, i+1) == len(b)
		default:
			return false
		}
	}
}

// flatString returns the contents of the JSON string at b[i:] if it holds
// only printable ASCII other than '"' and '\\', and the index after it.
func flatString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// skipSpace skips JSON whitespace (RFC 8259 §2).
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// decodeJSON is parseJSON with encoding/json, for every body.
func decodeJSON(body []byte, p *params) error {
	malformed := InvalidRequest("the JSON body is malformed")
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		if err == nil {
			return InvalidRequest("the JSON body must be an object")
		}
		return malformed
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return malformed
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return malformed
		}
		id, known := knownParam(name)
		if !known {
			continue
		}
		if p.has[id] {
			return duplicate(name)
		}
		p.has[id] = true
		raw = bytes.TrimSpace(raw)
		var s string
		if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
			if id == pResource {
				p.resources = []string{s}
			} else {
				p.val[id] = s
			}
			continue
		}
		if id == pResource && len(raw) > 0 && raw[0] == '[' {
			var list []string
			if err := json.Unmarshal(raw, &list); err == nil {
				p.resources = list
				continue
			}
		}
		return InvalidRequest(fmt.Sprintf("parameter %q must be a string", name))
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return malformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return malformed
	}
	return nil
}

func fromParams(p *params, authz []string) (*TokenRequest, error) {
	for id := range numParams {
		if id != pResource && !utf8.ValidString(p.val[id]) {
			return nil, InvalidRequest(fmt.Sprintf("parameter %q is not valid UTF-8", paramNames[id]))
		}
	}
	for _, v := range p.resources {
		if !utf8.ValidString(v) {
			return nil, InvalidRequest(fmt.Sprintf("parameter %q is not valid UTF-8", ParamResource))
		}
	}
	req := &TokenRequest{
		GrantType:    p.val[pGrantType],
		Audience:     p.val[pAudience],
		Scope:        p.val[pScope],
		Code:         p.val[pCode],
		RedirectURI:  p.val[pRedirectURI],
		CodeVerifier: p.val[pCodeVerifier],
		RefreshToken: p.val[pRefreshToken],
	}
	req.Token, req.TokenTypeHint = p.val[pToken], p.val[pTokenTypeHint]
	for _, v := range p.resources {
		if v != "" {
			req.Resources = append(req.Resources, v)
		}
	}
	bodyID, bodySecret := p.val[pClientID], p.val[pClientSecret]
	if assertion, typ := p.val[pClientAssertion], p.val[pClientAssertionType]; assertion != "" || typ != "" {
		if err := checkAssertion(assertion, typ, bodySecret, len(authz)); err != nil {
			return nil, err
		}
		req.ClientID, req.ClientAssertion, req.AuthMethod = bodyID, assertion, AuthPrivateKeyJWT
		return req, nil
	}
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

// checkAssertion applies RFC 7521 §4.2 to a client assertion: both
// parameters or neither (an empty value counts as omitted), the JWT bearer
// type alone (RFC 7523 §2.2; another type is a method gatehouse does not
// offer, so invalid_client as RFC 7521 §4.2.1 says), and no second
// authentication method beside it (RFC 6749 §2.3).
func checkAssertion(assertion, typ, secret string, authHeaders int) error {
	switch {
	case typ == "":
		return InvalidRequest(`parameter "client_assertion_type" is required with "client_assertion"`)
	case assertion == "":
		return InvalidRequest(`parameter "client_assertion" is required with "client_assertion_type"`)
	case secret != "":
		return InvalidRequest("the client used more than one authentication method (client_assertion and client_secret)")
	case authHeaders > 0:
		return InvalidRequest("the client used more than one authentication method (client_assertion and the Authorization header)")
	case typ != AssertionTypeJWTBearer:
		return InvalidClient("client_assertion_type " + strconvQuote(typ) + " is not supported; use " + AssertionTypeJWTBearer)
	}
	return nil
}

// strconvQuote quotes s for an error description, cut short.
func strconvQuote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return fmt.Sprintf("%q", s)
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
