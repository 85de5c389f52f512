package webform

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Guard makes and checks the CSRF tokens of a set of forms.
type Guard struct {
	// Key is the HMAC key (32 bytes or more), the same on every instance.
	Key []byte
	// Origin is the scheme://host[:port] the forms are served from.
	Origin string
}

// OriginOf is the origin of u as a browser serializes it in the Origin
// header (RFC 6454 §6.1): scheme and host in lower case, and the port only
// when it is not the scheme's default, so that an issuer written
// https://host:443 matches the Origin its own pages send.
func OriginOf(u *url.URL) string {
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		return scheme + "://" + net.JoinHostPort(host, port)
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host
}

// BrowserValueLen is the length of a browser cookie value that Token and
// Check accept: 256 random bits, base64url without padding.
const BrowserValueLen = 43

// Token returns the CSRF token of a browser's forms: an HMAC-SHA256, under
// the key, of the browser's CSRF cookie value and of its session cookie
// value ("" before any session). A page elsewhere can neither read the
// cookies nor, without the key, make a token that matches them (a naive
// double submit accepts any value the attacker sets in both), and a token
// of one session is worthless in another.
func (g Guard) Token(browser, session string) string {
	m := hmac.New(sha256.New, g.Key)
	m.Write([]byte("gatehouse csrf v1\x00"))
	m.Write([]byte(browser))
	m.Write([]byte{0})
	m.Write([]byte(session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SameOrigin reports whether a state-changing request may have come from
// the forms' own pages: Origin, when sent, is g.Origin ("null", sent by a
// sandboxed or privacy-redirected context, is refused); without Origin,
// Sec-Fetch-Site, when sent, is same-origin.
func (g Guard) SameOrigin(r *http.Request) bool {
	if o, ok := r.Header["Origin"]; ok {
		return len(o) == 1 && o[0] == g.Origin
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site == "" || site == "same-origin"
}

// Check checks a state-changing form: SameOrigin, and token is the Token
// of the browser's cookie values (browser must have BrowserValueLen
// characters), compared in constant time.
func (g Guard) Check(r *http.Request, browser, session, token string) bool {
	if !g.SameOrigin(r) || len(browser) != BrowserValueLen {
		return false
	}
	return hmac.Equal([]byte(g.Token(browser, session)), []byte(token))
}

// PageHeaders sets the headers of a server-rendered page: never cached,
// never framed (clickjacking, RFC 6749 §10.13; frame-ancestors in csp for
// browsers that read it, X-Frame-Options for those that do not), no MIME
// sniffing, a Referer only to this origin (so that the browser keeps
// sending Origin on the page's forms), and the page's CSP.
func PageHeaders(h http.Header, csp string) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", csp)
	h.Set("Referrer-Policy", "same-origin")
}
