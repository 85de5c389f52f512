package revocation

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/oidc"
)

// ContentTypeIntrospectionJWT is the media type of a JWT introspection
// response (RFC 9701 §5), asked for in Accept.
const ContentTypeIntrospectionJWT = "application/token-introspection+jwt"

// Introspect serves POST /oauth/introspect (RFC 7662 §2). The caller is a
// resource server authenticated as a client (never a public one) that some
// API lists among its introspection clients; a client that no API lists
// is refused with 403 unauthorized_client. For a token of an API the
// caller may not introspect, the answer is active false, as it is for a
// token that is unknown, malformed, signed by a key that is not ours or
// for another issuer, expired, revoked, of a disabled or deleted client or
// API, or a refresh token (only access tokens are introspected). An active
// token's answer carries its claims, with token_type Bearer (DPoP when
// bound to a key). With Accept application/token-introspection+jwt the
// answer is a JWT signed with the server's keys (RFC 9701 §5).
func (e *Endpoints) Introspect(w http.ResponseWriter, r *http.Request) {
	body, err := e.introspect(r)
	if err != nil {
		oauth.WriteError(w, e.cfg.Logger, err)
		return
	}
	oauth.SetNoStore(w.Header())
	if !wantsJWT(r.Header.Values("Accept")) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(body.answer)
		return
	}
	jwt, err := e.signAnswer(body)
	if err != nil {
		oauth.WriteError(w, e.cfg.Logger, oauth.ServerError(err))
		return
	}
	w.Header().Set("Content-Type", ContentTypeIntrospectionJWT)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(jwt))
}

// answer is an introspection answer and whom it is for.
type answer struct {
	answer map[string]any
	caller string
	now    time.Time
}

var inactive = map[string]any{"active": false}

func (e *Endpoints) introspect(r *http.Request) (answer, error) {
	req, client, snap, err := e.request(r, false)
	if err != nil {
		return answer{}, err
	}
	if !e.cfg.Rights.MayAny(client.ClientID) {
		return answer{}, &oauth.Error{Code: "unauthorized_client", Status: http.StatusForbidden,
			Description: "the client may not introspect tokens: no API lists it among its introspection clients"}
	}
	now := e.cfg.Now()
	a := answer{answer: inactive, caller: client.ClientID, now: now}
	if looksLikeJWT(req.Token) {
		if claims, ok := e.active(client, snap, req.Token, now); ok {
			a.answer = claims
		}
	}
	return a, nil
}

// active returns the claims of an access token that the caller may
// introspect and that is good now, with active true and its token_type.
func (e *Endpoints) active(caller *catalog.Client, snap *catalog.Snapshot, tok string, now time.Time) (map[string]any, bool) {
	c, payload, ok := e.accessClaims(tok)
	if !ok || now.Unix() >= c.Expiry {
		return nil, false
	}
	owner, ok := snap.Client(clientOf(c))
	if !ok || owner.Disabled {
		return nil, false
	}
	if !e.mayIntrospect(caller.ClientID, snap, c.Audience) {
		return nil, false
	}
	if e.cfg.Denylist.Revoked(jtiOf(payload), clientOf(c), c.Subject, c.IssuedAt) {
		return nil, false
	}
	var claims map[string]any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return nil, false
	}
	claims["active"] = true
	claims["token_type"] = "Bearer"
	if cnf, ok := claims["cnf"].(map[string]any); ok && cnf["jkt"] != nil {
		claims["token_type"] = "DPoP" // RFC 9449 §6.2
	}
	return claims, true
}

// mayIntrospect reports whether caller may introspect a token for aud: one
// of its audiences is an API that exists and lists the caller.
func (e *Endpoints) mayIntrospect(caller string, snap *catalog.Snapshot, aud oidc.Audience) bool {
	for _, a := range aud {
		if _, ok := snap.API(a); ok && e.cfg.Rights.May(caller, a) {
			return true
		}
	}
	return false
}

// signAnswer is RFC 9701 §5's JWT: the server as issuer, the caller as
// audience, the answer in token_introspection.
func (e *Endpoints) signAnswer(a answer) (string, error) {
	payload, err := json.Marshal(map[string]any{
		"iss": e.cfg.Issuer, "aud": a.caller, "iat": a.now.Unix(), "token_introspection": a.answer,
	})
	if err != nil {
		return "", err
	}
	return e.cfg.Signer.Sign(e.cfg.SigningAlg, keys.TypeIntrospection, payload)
}

// wantsJWT reports whether an Accept field asks for the JWT answer (RFC
// 9701 §4) over JSON: it names the JWT type with a quality not below
// application/json's.
func wantsJWT(accept []string) bool {
	var jwtQ, jsonQ float64 = -1, -1
	for _, field := range accept {
		for _, rng := range strings.Split(field, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(rng))
			if err != nil {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(v, 64); err != nil {
					continue
				}
			}
			switch mt {
			case ContentTypeIntrospectionJWT:
				jwtQ = max(jwtQ, q)
			case "application/json":
				jsonQ = max(jsonQ, q)
			}
		}
	}
	return jwtQ > 0 && jwtQ >= jsonQ
}
