package mgmt

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

var apiRes = resource{conflict: CodeResourceConflict}

type scopeInput struct {
	Value       string `json:"value"`
	Description string `json:"description"`
}

type apiInput struct {
	Name          *string       `json:"name"`
	Identifier    *string       `json:"identifier"`
	Scopes        *[]scopeInput `json:"scopes"`
	SigningAlg    *string       `json:"signing_alg"`
	TokenLifetime *int64        `json:"token_lifetime"`
	TokenDialect  *string       `json:"token_dialect"`
}

func (h *Handler) listAPIs(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	return listed(r, "resource_servers", h.store().ListAPIs, h.viewAPI)
}

func (h *Handler) createAPI(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in apiInput
	if err := decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	if in.Identifier == nil {
		return 0, nil, badBody(`field "identifier" is required`)
	}
	api := admin.APIInput{Identifier: *in.Identifier}
	var problems []string
	if in.Name != nil {
		api.Name = *in.Name
	}
	if in.Scopes != nil {
		api.Scopes = make([]storage.Scope, len(*in.Scopes))
		for i, s := range *in.Scopes {
			api.Scopes[i] = storage.Scope(s)
		}
	}
	if in.SigningAlg != nil {
		api.SigningAlg = *in.SigningAlg
		if api.SigningAlg == "" {
			api.SigningAlg = "-" // refused below by the admin service, not defaulted
		}
	}
	if in.TokenLifetime != nil {
		if *in.TokenLifetime <= 0 || *in.TokenLifetime > int64(admin.MaxTokenLifetime/time.Second) {
			problems = append(problems, fmt.Sprintf("token_lifetime %d must be seconds from 1 to %d (30 days)", *in.TokenLifetime, int64(admin.MaxTokenLifetime/time.Second)))
		} else {
			api.TokenLifetime = time.Duration(*in.TokenLifetime) * time.Second
		}
	}
	if in.TokenDialect != nil {
		d, ok := dialectFromWire[*in.TokenDialect]
		if !ok {
			problems = append(problems, fmt.Sprintf("token_dialect %q must be access_token (Auth0's JWT) or rfc9068_profile (RFC 9068); the _authz dialects (RBAC permissions) are not supported", *in.TokenDialect))
		}
		api.TokenDialect = d
	}
	if len(problems) > 0 {
		return 0, nil, badBody(strings.Join(problems, "; "))
	}
	created, err := h.svc().CreateAPI(r.Context(), api)
	if err != nil {
		return 0, nil, translate(err, apiRes)
	}
	return http.StatusCreated, h.viewAPI(created), nil
}

// findAPI finds an API by its id or its identifier (Auth0 accepts both).
func (h *Handler) findAPI(ctx context.Context, idOrIdentifier string) (storage.API, error) {
	api, err := h.svc().GetAPI(ctx, idOrIdentifier)
	if !isNotFound(err) {
		return api, err
	}
	all, lerr := h.store().ListAPIs(ctx)
	if lerr != nil {
		return storage.API{}, lerr
	}
	if i := slices.IndexFunc(all, func(a storage.API) bool { return ResourceServerID(a.Identifier) == idOrIdentifier }); i >= 0 {
		return all[i], nil
	}
	return storage.API{}, err
}

func (h *Handler) getAPI(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	api, err := h.findAPI(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, translate(err, apiRes)
	}
	return http.StatusOK, h.viewAPI(api), nil
}

func (h *Handler) deleteAPI(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	api, err := h.findAPI(r.Context(), r.PathValue("id"))
	if err != nil {
		return deleted(err)
	}
	if api.Identifier == h.audience {
		return 0, nil, newError(http.StatusForbidden, CodeNotSupported, "the management API is built in and cannot be deleted")
	}
	return deleted(h.svc().DeleteAPI(r.Context(), api.Identifier))
}
