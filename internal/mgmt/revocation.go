package mgmt

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// RevokedTokens is gatehouse's answer to a revocation of every token of a
// client or user (admin.RevokedTokens): access tokens issued at or before
// revoked_before are inactive at introspection until expires_at, when the
// last of them has expired anyway.
type RevokedTokens struct {
	ClientID        string `json:"client_id,omitempty"`
	UserID          string `json:"user_id,omitempty"`
	RevokedBefore   string `json:"revoked_before"`
	ExpiresAt       string `json:"expires_at"`
	RefreshFamilies int64  `json:"refresh_token_families"`
}

func viewRevoked(r admin.RevokedTokens) RevokedTokens {
	v := RevokedTokens{RevokedBefore: r.Before.UTC().Format(time.RFC3339), ExpiresAt: r.ExpiresAt.UTC().Format(time.RFC3339), RefreshFamilies: r.RefreshFamilies}
	if r.Kind == storage.RevokeClient {
		v.ClientID = r.ID
	} else {
		v.UserID = r.ID
	}
	return v
}

// revokeClientTokens is POST /clients/{id}/revoke-tokens (gatehouse's):
// every token of the client is revoked.
func (h *Handler) revokeClientTokens(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	out, err := h.svc().RevokeClientTokens(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, translate(err, clientRes)
	}
	return http.StatusOK, viewRevoked(out), nil
}

// revokeUserTokens is POST /users/{id}/revoke-tokens (gatehouse's): every
// token about the user is revoked.
func (h *Handler) revokeUserTokens(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	out, err := h.svc().RevokeUserTokens(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, translate(err, userRes)
	}
	return http.StatusOK, viewRevoked(out), nil
}

// IntrospectionClient is a client that may introspect a resource server's
// tokens at /oauth/introspect (gatehouse's).
type IntrospectionClient struct {
	ClientID  string  `json:"client_id"`
	CreatedAt *string `json:"created_at"`
}

func viewIntrospector(in storage.Introspector) IntrospectionClient {
	return IntrospectionClient{ClientID: in.ClientID, CreatedAt: ts(in.CreatedAt)}
}

// listIntrospectors is GET /resource-servers/{id}/introspection-clients.
func (h *Handler) listIntrospectors(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	api, err := h.findAPI(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, translate(err, apiRes)
	}
	return listed(r, "clients", func(ctx context.Context) ([]storage.Introspector, error) {
		return h.svc().ListIntrospectors(ctx, api.Identifier)
	}, viewIntrospector)
}

// changeIntrospectors is POST (201) or DELETE (204)
// /resource-servers/{id}/introspection-clients {"clients": [...]}: the
// clients are given, or lose, the right to introspect the API's tokens.
func (h *Handler) changeIntrospectors(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in struct {
		Clients *[]string `json:"clients"`
	}
	if err := decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	if in.Clients == nil || len(*in.Clients) == 0 {
		return 0, nil, badBody(`field "clients" must list at least one client ID`)
	}
	api, err := h.findAPI(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, translate(err, apiRes)
	}
	for _, c := range *in.Clients {
		if r.Method == http.MethodDelete {
			err = h.svc().RemoveIntrospector(r.Context(), api.Identifier, c)
		} else {
			_, err = h.svc().AddIntrospector(r.Context(), api.Identifier, c)
		}
		if err != nil {
			return 0, nil, translate(err, apiRes)
		}
	}
	if r.Method == http.MethodDelete {
		return http.StatusNoContent, nil, nil
	}
	return http.StatusCreated, nil, nil
}
