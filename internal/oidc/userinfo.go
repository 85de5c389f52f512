package oidc

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/dpop"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/token"
)

// UserStore reads users (storage.Storage).
type UserStore interface {
	GetUser(ctx context.Context, userID string) (storage.User, error)
}

// Userinfo serves the UserInfo endpoint (OIDC Core §5.3): GET or POST with
// a Bearer access token (RFC 6750 §2.1, or §2.2 in a POST form) that was
// issued for it, carrying the openid scope.
type Userinfo struct {
	Verifier *Verifier
	// Audience is the userinfo endpoint's own audience, which a user's
	// access token carries (token.UserTokens.UserinfoAudience).
	Audience string
	Store    UserStore
	Now      func() time.Time
	Logger   *slog.Logger
	// Origins, if set, lets pages read the answers (CORS): an error when
	// some client lists the page's origin, the claims only when the
	// access token's client does. Nil: no page may read them.
	Origins Origins
	// Denylist, if set, refuses revoked access tokens (RFC 7009; package
	// revocation) as invalid_token.
	Denylist interface {
		Revoked(jti, clientID, subject string, iat int64) bool
	}
	// DPoP checks the proofs of DPoP-bound tokens (RFC 9449 §7) for
	// requests to URL, the endpoint as clients call it; nil refuses such
	// tokens.
	DPoP *dpop.Checker
	URL  string
	// ClientCertificate, if set, reads the request's TLS client certificate
	// (the connection's, or a trusted proxy's header), which a
	// certificate-bound token (cnf x5t#S256, RFC 8705 §3) must come with;
	// nil refuses such tokens.
	ClientCertificate func(r *http.Request) (*x509.Certificate, []*x509.Certificate, error)
}

// Origins is the CORS policy of the userinfo endpoint: which origins
// (exactly as the Origin header names them) a client lists.
type Origins interface {
	AnyAllows(origin string) bool
	ClientAllows(origin, clientID string) bool
}

func (u *Userinfo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	origin := r.Header.Get("Origin")
	if origin != "" && u.Origins != nil {
		w.Header().Add("Vary", "Origin")
		if u.Origins.AnyAllows(origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin) // errors, until the token names its client
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		bearerError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET or POST")
		return
	}
	tok, ok := bearer(r)
	if !ok {
		bearerError(w, http.StatusBadRequest, "invalid_request", "the access token was sent in more than one way")
		return
	}
	isDPoP := false
	if tok == "" {
		tok = dpopToken(r)
		isDPoP = tok != ""
	}
	if tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="userinfo"`)
		w.WriteHeader(http.StatusUnauthorized) // RFC 6750 §3.1: no error code without a token
		return
	}
	c, err := u.Verifier.Verify(tok, u.now())
	if err != nil {
		bearerError(w, http.StatusUnauthorized, "invalid_token", err.Error())
		return
	}
	if u.Denylist != nil && u.Denylist.Revoked(c.JTI, clientOf(c), c.Subject, c.IssuedAt) {
		bearerError(w, http.StatusUnauthorized, "invalid_token", "the access token was revoked")
		return
	}
	if !u.checkBinding(w, r, tok, c, isDPoP) {
		return
	}
	if !c.Audience.Has(u.Audience) {
		bearerError(w, http.StatusUnauthorized, "invalid_token", "the access token is not for the userinfo endpoint")
		return
	}
	scope := strings.Fields(c.Scope)
	if !contains(scope, "openid") {
		bearerError(w, http.StatusForbidden, "insufficient_scope", "the access token lacks the openid scope")
		return
	}
	user, err := u.Store.GetUser(r.Context(), c.Subject)
	if errors.Is(err, storage.ErrNotFound) || err == nil && user.Disabled {
		bearerError(w, http.StatusUnauthorized, "invalid_token", "the user no longer exists or is disabled")
		return
	}
	if err != nil {
		if u.Logger != nil {
			u.Logger.Error("userinfo: read user", "err", err)
		}
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if origin != "" && (u.Origins == nil || !u.Origins.ClientAllows(origin, clientOf(c))) {
		w.Header().Del("Access-Control-Allow-Origin") // another client's page may not read this user
	}
	out := map[string]any{"sub": user.UserID}
	name, email, verified := token.ProfileClaims(user, scope)
	if name != "" {
		out["name"] = name
	}
	if email != "" {
		out["email"], out["email_verified"] = email, *verified
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (u *Userinfo) now() time.Time {
	if u.Now != nil {
		return u.Now()
	}
	return time.Now()
}

// clientOf is the client an access token was issued to (RFC 9068 §2.2
// client_id, else azp).
func clientOf(c Claims) string {
	if c.ClientID != "" {
		return c.ClientID
	}
	return c.AZP
}

// bearer returns the request's access token from the Authorization header
// or, for a form POST, the access_token parameter; false when both are
// given (RFC 6750 §2: one method per request).
func bearer(r *http.Request) (string, bool) {
	var tok string
	if h := r.Header.Get("Authorization"); h != "" {
		if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
			tok = strings.TrimSpace(h[7:])
		} else {
			return "", true // another scheme: no Bearer token
		}
	}
	if r.Method == http.MethodPost {
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
			r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
			if err := r.ParseForm(); err == nil {
				if v := r.PostForm.Get("access_token"); v != "" {
					if tok != "" {
						return "", false
					}
					tok = v
				}
			}
		}
	}
	return tok, true
}

// bearerError answers with an RFC 6750 §3 error.
func bearerError(w http.ResponseWriter, status int, code, desc string) {
	challengeError(w, `Bearer realm="userinfo"`, status, code, desc)
}

// challengeError answers with an RFC 6750 §3 (or RFC 9449 §7.1) error in
// the challenge's scheme.
func challengeError(w http.ResponseWriter, challenge string, status int, code, desc string) {
	w.Header().Set("WWW-Authenticate", challenge+`, error="`+code+`", error_description="`+strings.ReplaceAll(desc, `"`, `'`)+`"`)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
