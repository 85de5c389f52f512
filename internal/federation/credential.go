package federation

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Credential limits (docs/clients-without-secrets.md).
const (
	// DefaultMaxLifetime caps the remaining lifetime of an external token
	// when the credential sets none: an hour, the lifetime Kubernetes gives
	// projected tokens by default (expirationSeconds 3607 falls within the
	// leeway).
	DefaultMaxLifetime = time.Hour
	// MaxMaxLifetime is the largest cap a credential may set.
	MaxMaxLifetime = 24 * time.Hour
	// MaxCredentialsPerClient bounds a client's federated credentials, and
	// so the work of one request.
	MaxCredentialsPerClient = 20
	// MaxClaimConditions bounds one credential's claim conditions.
	MaxClaimConditions = 10
	// maxField bounds the issuer, subject, audience, claim names and values.
	maxField = 512
)

// MaxLifetime returns fc's cap on the remaining lifetime of the tokens it
// accepts.
func MaxLifetime(fc *storage.FederatedCredential) time.Duration {
	if fc.MaxLifetime > 0 {
		return fc.MaxLifetime
	}
	return DefaultMaxLifetime
}

// Check reports every problem with a new federated credential: the issuer
// must be an https URL (http only on a loopback host, which the Verifier
// fetches only under its InsecureHTTP setting) without query, fragment or
// user information (OpenID Connect Discovery 1.0 §3); the subject a valid
// pattern; the claim names valid paths; the cap at most MaxMaxLifetime.
func Check(fc storage.FederatedCredential) []string {
	var problems []string
	if err := CheckIssuer(fc.Issuer); err != nil {
		problems = append(problems, err.Error())
	}
	if err := CheckSubject(fc.Subject); err != nil {
		problems = append(problems, err.Error())
	}
	if len(fc.Audience) > maxField || !utf8.ValidString(fc.Audience) {
		problems = append(problems, fmt.Sprintf("the audience must be valid UTF-8 of at most %d bytes", maxField))
	}
	if len(fc.Claims) > MaxClaimConditions {
		problems = append(problems, fmt.Sprintf("at most %d claim conditions", MaxClaimConditions))
	}
	for k, v := range fc.Claims {
		if err := checkClaimPath(k); err != nil {
			problems = append(problems, err.Error())
		}
		if v == "" || len(v) > maxField || !utf8.ValidString(v) {
			problems = append(problems, fmt.Sprintf("the condition on claim %q needs a value of 1 to %d bytes", k, maxField))
		}
	}
	if fc.MaxLifetime < 0 || fc.MaxLifetime > MaxMaxLifetime {
		problems = append(problems, fmt.Sprintf("the max lifetime must be between 0 (the default, %s) and %s", DefaultMaxLifetime, MaxMaxLifetime))
	} else if fc.MaxLifetime%time.Second != 0 {
		problems = append(problems, "the max lifetime must be whole seconds")
	}
	return problems
}

// CheckIssuer reports whether iss may name a trusted issuer: an absolute
// https URL, or http on a loopback host, with no query, fragment or user
// information.
func CheckIssuer(iss string) error {
	u, err := url.Parse(iss)
	if err != nil || iss == "" || len(iss) > maxField || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("the issuer must be an absolute https URL")
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.Contains(iss, "#") || u.User != nil {
		return fmt.Errorf("the issuer URL must have no query, fragment or user information")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && Loopback(u.Hostname()):
	default:
		return fmt.Errorf("the issuer must be an https URL (http only on a loopback host, for development)")
	}
	return nil
}

// Loopback reports whether host is localhost or a loopback address.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckSubject reports whether pattern is a valid subject: 1 to 512 bytes
// of UTF-8 with no control characters, in which '*' stands for one or more
// characters other than ':' and no two '*' are adjacent.
func CheckSubject(pattern string) error {
	if pattern == "" || len(pattern) > maxField || !utf8.ValidString(pattern) {
		return fmt.Errorf("the subject must be 1 to %d bytes of UTF-8", maxField)
	}
	for _, r := range pattern {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("the subject must not hold control characters")
		}
	}
	if strings.Contains(pattern, "**") {
		return fmt.Errorf(`the subject must not hold "**": each '*' matches one or more characters other than ':'`)
	}
	if pattern == "*" {
		return fmt.Errorf(`the subject "*" would match every workload of the issuer: name at least part of it`)
	}
	return nil
}

// MatchSubject reports whether sub matches pattern, anchored at both ends:
// each '*' of pattern stands for one or more characters other than ':', so
// that a wildcard never reaches into the next field of subjects such as
// GitHub's repo:OWNER/REPO:ref:REF or Kubernetes'
// system:serviceaccount:NAMESPACE:NAME. Without '*' the match is exact.
// As no '*' takes a ':', the fields between ':' of pattern and sub pair up
// one to one, and each pair is matched in time linear in their lengths
// (matchField), whatever the number of '*'.
func MatchSubject(pattern, sub string) bool {
	if strings.IndexByte(pattern, '*') < 0 {
		return pattern == sub
	}
	for {
		p, pRest, pMore := strings.Cut(pattern, ":")
		s, sRest, sMore := strings.Cut(sub, ":")
		if pMore != sMore || !matchField(p, s) {
			return false
		}
		if !pMore {
			return true
		}
		pattern, sub = pRest, sRest
	}
}

// matchField reports whether s matches p, whose every '*' stands for one or
// more bytes: the classic wildcard match that backtracks to the last '*'
// alone (a later '*' can take whatever an earlier one would have), here
// with the one byte each '*' must take consumed as it is met.
func matchField(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0 // the last '*' met, and where its match ends
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, pi, si = pi, pi+1, si+1
			mark = si
		case pi < len(p) && p[pi] == s[si]:
			pi, si = pi+1, si+1
		case star >= 0:
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	return pi == len(p)
}

// checkClaimPath reports whether path names a claim: names separated by
// '/', none empty, for a claim nested in objects (Kubernetes'
// kubernetes.io/namespace). The registered claims that the Verifier
// checks itself may not be conditions.
func checkClaimPath(path string) error {
	if path == "" || len(path) > maxField || !utf8.ValidString(path) {
		return fmt.Errorf("a claim name must be 1 to %d bytes of UTF-8", maxField)
	}
	for _, name := range strings.Split(path, "/") {
		if name == "" {
			return fmt.Errorf("the claim %q has an empty name between '/'", path)
		}
	}
	switch path {
	case "iss", "sub", "aud", "exp", "nbf", "iat":
		return fmt.Errorf("the claim %q is checked by the credential itself: use --issuer, --subject, --audience or --max-lifetime", path)
	}
	return nil
}

// claimValue returns the claim at path of claims as a string: a string
// itself, a number or a boolean as its JSON text. Objects, arrays, null
// and missing claims have none.
func claimValue(claims map[string]any, path string) (string, bool) {
	var v any = claims
	for name := range strings.SplitSeq(path, "/") {
		obj, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		if v, ok = obj[name]; !ok {
			return "", false
		}
	}
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	}
	return "", false
}
