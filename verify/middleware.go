package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/dpop"
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
			claims, isDPoP, err := v.verifyRequest(r)
			if err != nil {
				v.refuseErr(w, err, isDPoP)
				return
			}
			var missing []string
			for _, s := range scopes {
				if !has(claims, s) {
					missing = append(missing, s)
				}
			}
			if len(missing) > 0 {
				v.refuse(w, isDPoP, http.StatusForbidden, "insufficient_scope",
					"the access token lacks the "+what+" "+strings.Join(missing, " "), strings.Join(scopes, " "))
				return
			}
			if n := v.cfg.DPoP.Nonces; isDPoP && n != nil { // the next nonce, before this one expires (RFC 9449 §9)
				w.Header().Set(dpop.NonceHeader, n.Current(v.now()))
			}
			next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), claims)))
		})
	}
}

// refuseErr answers a request whose token or proof was refused, as RFC
// 6750 §3 and RFC 9449 §7.1 say, in the scheme the request used.
func (v *Verifier) refuseErr(w http.ResponseWriter, err error, isDPoP bool) {
	why := reason(err)
	switch {
	case errors.Is(why, ErrAuthorization):
		v.refuse(w, false, http.StatusBadRequest, "invalid_request", strings.TrimPrefix(err.Error(), "verify: "+ErrAuthorization.Error()+": "), "")
	case errors.Is(why, ErrNoToken):
		h := w.Header()
		h.Add("WWW-Authenticate", "Bearer realm="+quote(v.cfg.Realm))
		h.Add("WWW-Authenticate", "DPoP algs="+quote(dpopAlgs))
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusUnauthorized)
	case errors.Is(why, ErrKeysUnavailable), errors.Is(why, ErrIntrospectionUnavailable), errors.Is(err, dpop.ErrReplayFull):
		w.Header().Set("Retry-After", "5")
		desc := why.Error()
		if errors.Is(err, dpop.ErrReplayFull) {
			desc = dpop.ErrReplayFull.Error()
		}
		writeJSON(w, http.StatusServiceUnavailable, "temporarily_unavailable", desc)
	case errors.Is(why, ErrDPoPNonce):
		w.Header().Set(dpop.NonceHeader, v.cfg.DPoP.Nonces.Current(v.now()))
		v.refuse(w, true, http.StatusUnauthorized, dpop.CodeUseNonce, why.Error(), "")
	case errors.Is(why, ErrDPoPProof):
		v.refuse(w, true, http.StatusUnauthorized, dpop.CodeInvalidProof, proofReason(err).Error(), "")
	default: // the token; a bound one presented as Bearer is answered in the DPoP scheme
		v.refuse(w, isDPoP || errors.Is(why, ErrDPoPBound), http.StatusUnauthorized, "invalid_token", why.Error(), "")
	}
}

// refuse writes an RFC 6750 §3 error, or in the DPoP scheme an RFC 9449
// §7.1 one: the challenge and the JSON body.
func (v *Verifier) refuse(w http.ResponseWriter, isDPoP bool, status int, code, desc, scope string) {
	ch := "Bearer realm=" + quote(v.cfg.Realm)
	if isDPoP {
		ch = "DPoP algs=" + quote(dpopAlgs)
	}
	ch += ", error=" + quote(code) + ", error_description=" + quote(desc)
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
