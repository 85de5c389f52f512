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
	// AllowOfflineAccess is Auth0's switch for refresh tokens of users'
	// logins for the API.
	AllowOfflineAccess *bool `json:"allow_offline_access"`
	// TokenReuse is gatehouse's: a client asking again gets the token it
	// was already issued for the API while over half its lifetime remains.
	TokenReuse *bool `json:"token_reuse"`
	// EnforcePolicies and SubjectTypeAuthorization are Auth0's RBAC switch
	// and access policies.
	EnforcePolicies          *bool                     `json:"enforce_policies"`
	SubjectTypeAuthorization *SubjectTypeAuthorization `json:"subject_type_authorization"`
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
	p, problems := in.patch()
	if len(problems) > 0 {
		return 0, nil, badBody(strings.Join(problems, "; "))
	}
	api := admin.APIInput{Identifier: *in.Identifier}
	if p.Name != nil {
		api.Name = *p.Name
	}
	if p.Scopes != nil {
		api.Scopes = *p.Scopes
	}
	if p.SigningAlg != nil {
		api.SigningAlg = *p.SigningAlg
	}
	if p.TokenLifetime != nil {
		api.TokenLifetime = *p.TokenLifetime
	}
	if p.TokenDialect != nil {
		api.TokenDialect = *p.TokenDialect
	}
	if p.AllowOfflineAccess != nil {
		api.AllowOfflineAccess = *p.AllowOfflineAccess
	}
	if p.TokenReuse != nil {
		api.TokenReuse = *p.TokenReuse
	}
	if p.UserPolicy != nil {
		api.UserPolicy = *p.UserPolicy
	}
	if p.ClientPolicy != nil {
		api.ClientPolicy = *p.ClientPolicy
	}
	if p.EnforcePolicies != nil {
		api.EnforcePolicies = *p.EnforcePolicies
	}
	created, err := h.svc().CreateAPI(r.Context(), api)
	if err != nil {
		return 0, nil, translate(err, apiRes)
	}
	return http.StatusCreated, h.viewAPI(created), nil
}

// patch converts the wire fields but the identifier to the admin
// service's, reporting the values that have no meaning here.
func (in apiInput) patch() (admin.APIPatch, []string) {
	var p admin.APIPatch
	var problems []string
	p.Name = in.Name
	p.AllowOfflineAccess = in.AllowOfflineAccess
	p.TokenReuse = in.TokenReuse
	p.EnforcePolicies = in.EnforcePolicies
	if sta := in.SubjectTypeAuthorization; sta != nil {
		if sta.User != nil {
			p.UserPolicy = &sta.User.Policy
		}
		if sta.Client != nil {
			p.ClientPolicy = &sta.Client.Policy
		}
	}
	if in.Scopes != nil {
		scopes := make([]storage.Scope, len(*in.Scopes))
		for i, s := range *in.Scopes {
			scopes[i] = storage.Scope(s)
		}
		p.Scopes = &scopes
	}
	if in.SigningAlg != nil {
		if *in.SigningAlg == "" { // the admin service would take it for the default
			problems = append(problems, fmt.Sprintf(`signing algorithm "" must be one of %s`, strings.Join(admin.SigningAlgs, ", ")))
		}
		p.SigningAlg = in.SigningAlg
	}
	if in.TokenLifetime != nil {
		// 0 would be the default to the admin service, and a huge number
		// would overflow; the rest is the admin service's to judge.
		if *in.TokenLifetime <= 0 || *in.TokenLifetime > 1<<32 {
			problems = append(problems, fmt.Sprintf("token_lifetime %d must be seconds from 1 to %d (30 days)", *in.TokenLifetime, int64(admin.MaxTokenLifetime/time.Second)))
		} else {
			d := time.Duration(*in.TokenLifetime) * time.Second
			p.TokenLifetime = &d
		}
	}
	if in.TokenDialect != nil {
		d, ok := dialectFromWire[*in.TokenDialect]
		if !ok {
			problems = append(problems, fmt.Sprintf("token_dialect %q must be access_token (Auth0's JWT), rfc9068_profile (RFC 9068), or either with _authz (people's permissions)", *in.TokenDialect))
		}
		p.TokenDialect = &d
	}
	return p, problems
}

// updateAPI changes an API; its identifier is immutable.
func (h *Handler) updateAPI(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in apiInput
	if err := decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	api, err := h.findAPI(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, translate(err, apiRes)
	}
	p, problems := in.patch()
	if in.Identifier != nil && *in.Identifier != api.Identifier {
		problems = append([]string{"identifier is immutable: create a new resource server instead"}, problems...)
	}
	if len(problems) > 0 {
		return 0, nil, badBody(strings.Join(problems, "; "))
	}
	updated, err := h.svc().UpdateAPI(r.Context(), api.Identifier, p)
	if err != nil {
		return 0, nil, translate(err, apiRes)
	}
	return http.StatusOK, h.viewAPI(updated), nil
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
