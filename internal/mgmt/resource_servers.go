package mgmt

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
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
	// TokenLifetimeForWeb is Auth0's lifetime of tokens from its implicit
	// flow, which gatehouse does not have: kept and shown, at most
	// token_lifetime.
	TokenLifetimeForWeb *int64 `json:"token_lifetime_for_web"`
	// EnforcePolicies and SubjectTypeAuthorization are Auth0's RBAC switch
	// and access policies.
	EnforcePolicies          *bool                     `json:"enforce_policies"`
	SubjectTypeAuthorization *SubjectTypeAuthorization `json:"subject_type_authorization"`
	// ProofOfPossession is Auth0's sender-constraint setting (null unsets).
	ProofOfPossession popInput `json:"proof_of_possession"`
}

// listAPIs lists the APIs, filtered by identifiers (Auth0's, repeatable).
func (h *Handler) listAPIs(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	ids := r.URL.Query()["identifiers"]
	return listing[storage.API, ResourceServer]{
		key: "resource_servers", load: h.store().ListAPIs, view: h.viewAPI, filters: []string{"identifiers"},
		cursor: func(a storage.API) string { return a.Identifier },
		keep:   func(a storage.API) bool { return len(ids) == 0 || slices.Contains(ids, a.Identifier) },
	}.serve(r)
}

// apiAccepted are the fields of Auth0's resource server judged apart from
// apiInput: the fixed ones and the read-only ones.
var apiAccepted = slices.Concat(fixedNames(apiFixed), apiReadOnly)

func (h *Handler) createAPI(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in apiInput
	extra, derr := decodeWith(w, r, &in, apiAccepted)
	if derr != nil {
		return 0, nil, derr
	}
	if in.Identifier == nil {
		return 0, nil, badBody(`field "identifier" is required`)
	}
	p, problems := in.patch()
	problems = append(problems, checkFixedFields(apiFixed, extra)...)
	problems = append(problems, refusedOnCreate([]string{"id"}, extra)...)
	if raw, ok := extra["is_system"]; ok && !matches(jsonValue(raw), false) {
		problems = append(problems, "is_system true is not supported: the built-in management API is the only system API")
	}
	if err := joinProblems(problems); err != nil {
		return 0, nil, err
	}
	// Auth0's management API creates an API in its own dialect when none
	// is given; this is the Auth0-compatible surface, so it does too (the
	// command line's default stays RFC 9068).
	api := p.Apply(admin.APIInput{Identifier: *in.Identifier, TokenDialect: storage.DialectAuth0})
	created, err := h.svc().CreateAPI(r.Context(), api)
	if err != nil {
		return 0, nil, translate(err, apiRes)
	}
	return one(r, http.StatusCreated, h.viewAPI(created))
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
	p.ProofOfPossession = in.ProofOfPossession.patch()
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
	if in.TokenLifetimeForWeb != nil {
		if *in.TokenLifetimeForWeb < 0 || *in.TokenLifetimeForWeb > 1<<32 {
			problems = append(problems, fmt.Sprintf("token_lifetime_for_web %d must be seconds, not more than token_lifetime", *in.TokenLifetimeForWeb))
		} else {
			p.Extras = &storage.APIExtras{TokenLifetimeForWeb: time.Duration(*in.TokenLifetimeForWeb) * time.Second}
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
	extra, derr := decodeWith(w, r, &in, apiAccepted)
	if derr != nil {
		return 0, nil, derr
	}
	api, err := h.findAPI(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, translate(err, apiRes)
	}
	p, problems := in.patch()
	if in.Identifier != nil && *in.Identifier != api.Identifier {
		problems = append([]string{"identifier is immutable: create a new resource server instead"}, problems...)
	}
	if api.Identifier == h.audience && in.Name != nil && *in.Name != api.Name {
		problems = append(problems, fmt.Sprintf("name %q: the built-in management API keeps its name %q, by which Auth0's tooling recognises it", *in.Name, api.Name))
	}
	problems = append(problems, checkFixedFields(apiFixed, extra)...)
	problems = append(problems, checkReadOnly(apiReadOnly, extra, h.viewAPI(api), "the server sets it")...)
	if err := joinProblems(problems); err != nil {
		return 0, nil, err
	}
	updated, err := h.svc().UpdateAPI(r.Context(), api.Identifier, p)
	if err != nil {
		return 0, nil, translate(err, apiRes)
	}
	return one(r, http.StatusOK, h.viewAPI(updated))
}

// findAPI finds an API by its id or its identifier (Auth0 accepts both),
// the identifier escaped once in the path or, as Auth0's Terraform provider
// sends it, twice (https:%252F%252Fapi…): a path segment unescaped once
// that still holds an escaped identifier is unescaped again.
func (h *Handler) findAPI(ctx context.Context, idOrIdentifier string) (storage.API, error) {
	api, err := h.svc().GetAPI(ctx, idOrIdentifier)
	if !isNotFound(err) {
		return api, err
	}
	if strings.Contains(idOrIdentifier, "%") {
		if once, uerr := url.PathUnescape(idOrIdentifier); uerr == nil && once != idOrIdentifier {
			if api, oerr := h.store().GetAPI(ctx, once); !isNotFound(oerr) {
				return api, oerr
			}
		}
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
	return one(r, http.StatusOK, h.viewAPI(api))
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
