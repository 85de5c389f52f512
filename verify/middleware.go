package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

type ctxKey struct{}

// ClaimsFromContext returns the claims the middleware put in the request
// context.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(*Claims)
	return c, ok
}

// ContextWithClaims returns ctx carrying c, as the middleware does; handy
// to test handlers without tokens.
func ContextWithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// Middleware admits requests with a valid Bearer access token (RFC 6750
// §2.1) and passes the claims on in the request context; see Require.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return v.Require()(next)
}

// Require returns middleware that admits requests whose Bearer token is
// valid and carries every one of scopes, and answers the others as RFC 6750
// §3 says:
//
//   - no token: 401 with `WWW-Authenticate: Bearer realm="…"` and no error;
//   - a malformed Authorization header: 400 error="invalid_request";
//   - an invalid or expired token: 401 error="invalid_token" with an
//     error_description that says why;
//   - a missing scope: 403 error="insufficient_scope" with scope="…";
//   - keys unavailable: 503 with Retry-After.
//
// Error answers carry a JSON body {"error","error_description"} and
// Cache-Control: no-store.
func (v *Verifier) Require(scopes ...string) func(http.Handler) http.Handler {
	return v.require(scopes, (*Claims).HasScope, "scope")
}

// RequirePermissions is Require for permissions ([Claims.HasPermission]):
// a person's token in an _authz dialect must list each one in its
// `permissions` claim, a token without that claim in its `scope`. A
// missing one is a 403 insufficient_scope naming them.
func (v *Verifier) RequirePermissions(perms ...string) func(http.Handler) http.Handler {
	return v.require(perms, (*Claims).HasPermission, "permission")
}

func (v *Verifier) require(scopes []string, has func(*Claims, string) bool, what string) func(http.Handler) http.Handler {
	scopes = append([]string(nil), scopes...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, problem := bearer(r.Header.Values("Authorization"))
			switch {
			case problem != "":
				v.refuse(w, http.StatusBadRequest, "invalid_request", problem, "")
				return
			case token == "":
				w.Header().Set("WWW-Authenticate", "Bearer realm="+quote(v.cfg.Realm))
				w.Header().Set("Cache-Control", "no-store")
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			claims, err := v.Verify(r.Context(), token)
			if err != nil {
				why := reason(err)
				if errors.Is(why, ErrKeysUnavailable) || errors.Is(why, ErrIntrospectionUnavailable) {
					w.Header().Set("Retry-After", "5")
					writeJSON(w, http.StatusServiceUnavailable, "temporarily_unavailable", why.Error())
					return
				}
				v.refuse(w, http.StatusUnauthorized, "invalid_token", why.Error(), "")
				return
			}
			var missing []string
			for _, s := range scopes {
				if !has(claims, s) {
					missing = append(missing, s)
				}
			}
			if len(missing) > 0 {
				v.refuse(w, http.StatusForbidden, "insufficient_scope",
					"the access token lacks the "+what+" "+strings.Join(missing, " "), strings.Join(scopes, " "))
				return
			}
			next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), claims)))
		})
	}
}

// bearer extracts the token of an "Authorization: Bearer" header (RFC 6750
// §2.1). No header, or another scheme, is no token; a malformed header is a
// problem.
func bearer(values []string) (token, problem string) {
	if len(values) == 0 {
		return "", ""
	}
	if len(values) > 1 {
		return "", "more than one Authorization header"
	}
	scheme, rest, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", ""
	}
	token = strings.TrimLeft(rest, " ")
	switch {
	case token == "":
		return "", "the Bearer token is empty"
	case strings.ContainsAny(token, " \t,"):
		return "", "the Authorization header holds more than a Bearer token"
	}
	return token, ""
}

// refuse writes an RFC 6750 §3 error: the challenge and the JSON body.
func (v *Verifier) refuse(w http.ResponseWriter, status int, code, desc, scope string) {
	ch := "Bearer realm=" + quote(v.cfg.Realm) + ", error=" + quote(code) + ", error_description=" + quote(desc)
	if scope != "" {
		ch += ", scope=" + quote(scope)
	}
	w.Header().Set("WWW-Authenticate", ch)
	writeJSON(w, status, code, desc)
}

func writeJSON(w http.ResponseWriter, status int, code, desc string) {
	body, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{code, desc})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// quote makes an RFC 9110 §5.6.4 quoted-string, keeping only the
// characters RFC 6750 §3 allows in its attributes.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r <= 0x7e:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
