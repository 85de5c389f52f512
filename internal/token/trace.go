package token

import (
	"errors"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
)

// The span attributes of a token request, named after the RFC 6749
// parameters they come from. None ever holds a secret, a token, a code, a
// verifier or a header value: client_id only once the client has
// authenticated (a failed attempt's client_id may be a secret pasted in the
// wrong field), the audience only when it is a registered API, the grant
// type only when the endpoint serves it.
const (
	AttrClientID  = attribute.Key("oauth.client_id")
	AttrAudience  = attribute.Key("oauth.audience")
	AttrGrantType = attribute.Key("oauth.grant_type")
	// AttrError is the RFC 6749 §5.2 error code of a refused request.
	AttrError = attribute.Key("oauth.error")
)

// otherGrantType stands for a grant_type the endpoint does not serve (the
// HTTP semantic conventions' word for a value outside the known set).
const otherGrantType = "_OTHER"

func setAttr(r *http.Request, kv attribute.KeyValue) {
	trace.SpanFromContext(r.Context()).SetAttributes(kv)
}

func (e *Endpoint) traceGrantType(r *http.Request, gt string) {
	if gt == "" {
		return
	}
	if _, ok := e.grants[gt]; !ok {
		gt = otherGrantType
	}
	setAttr(r, AttrGrantType.String(gt))
}

func traceClient(r *http.Request, clientID string) { setAttr(r, AttrClientID.String(clientID)) }

func traceAudience(r *http.Request, aud string) { setAttr(r, AttrAudience.String(aud)) }

// traceRequestedAudience records the audience a user-login grant asked
// for, when it names a registered API.
func traceRequestedAudience(r *http.Request, snap *catalog.Snapshot, req *oauth.TokenRequest) {
	aud := req.Audience
	if aud == "" && len(req.Resources) == 1 {
		aud = req.Resources[0]
	}
	if _, ok := snap.API(aud); ok && aud != "" {
		traceAudience(r, aud)
	}
}

// traceError records the error code the response carries (server_error
// for anything that is not an *oauth.Error, as oauth.WriteError answers).
func traceError(r *http.Request, err error) {
	code := "server_error"
	var oe *oauth.Error
	if errors.As(err, &oe) {
		code = oe.Code
	}
	setAttr(r, AttrError.String(code))
}
