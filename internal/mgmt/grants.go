package mgmt

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

var grantRes = resource{conflict: CodeGrantConflict}

type grantInput struct {
	ClientID *string   `json:"client_id"`
	Audience *string   `json:"audience"`
	Scope    *[]string `json:"scope"`
	// SubjectType is Auth0's: "client" (the default) or "user".
	SubjectType *string `json:"subject_type"`
}

// listGrants lists grants, filtered as Auth0's by audience, client_id and
// subject_type, and by allow_any_organization at the value every grant
// here has (false): true matches none.
func (h *Handler) listGrants(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	q := r.URL.Query()
	var f storage.GrantFilter
	var err *Error
	if f.Audience, err = query(q, "audience"); err != nil {
		return 0, nil, err
	}
	if f.ClientID, err = query(q, "client_id"); err != nil {
		return 0, nil, err
	}
	if f.SubjectType, err = query(q, "subject_type"); err != nil {
		return 0, nil, err
	}
	anyOrg, err := boolQuery(q, "allow_any_organization")
	if err != nil {
		return 0, nil, err
	}
	none := anyOrg != nil && *anyOrg
	return listing[storage.Grant, ClientGrant]{
		key: "client_grants", view: viewGrant, filters: []string{"audience", "client_id", "allow_any_organization", "subject_type"},
		load:   func(ctx context.Context) ([]storage.Grant, error) { return h.store().ListGrants(ctx, f) },
		cursor: func(g storage.Grant) string { return timeCursor(g.CreatedAt, g.ID) },
		keep:   func(storage.Grant) bool { return !none },
	}.serve(r)
}

// grantAccepted are the fields of Auth0's client grant judged apart from
// grantInput: the fixed ones and the read-only ones.
var grantAccepted = slices.Concat(fixedNames(grantFixed), grantReadOnly)

func (h *Handler) createGrant(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in grantInput
	extra, derr := decodeWith(w, r, &in, grantAccepted)
	if derr != nil {
		return 0, nil, derr
	}
	problems := slices.Concat(checkFixedFields(grantFixed, extra), refusedOnCreate(grantReadOnly, extra))
	if err := joinProblems(problems); err != nil {
		return 0, nil, err
	}
	var missing []string
	if in.ClientID == nil {
		missing = append(missing, `"client_id"`)
	}
	if in.Audience == nil {
		missing = append(missing, `"audience"`)
	}
	if in.Scope == nil {
		missing = append(missing, `"scope"`)
	}
	if len(missing) > 0 {
		return 0, nil, badBody("required field " + strings.Join(missing, ", ") + " missing")
	}
	subject := storage.SubjectClient
	if in.SubjectType != nil {
		subject = *in.SubjectType
		if subject == "" { // the admin service would take it for the default
			return 0, nil, badBody(`subject_type "" must be client or user`)
		}
	}
	g, err := h.svc().CreateGrantFor(r.Context(), subject, *in.ClientID, *in.Audience, *in.Scope)
	if err != nil {
		return 0, nil, translate(err, grantRes)
	}
	return one(r, http.StatusCreated, viewGrant(g))
}

// findGrant reads the grant the path names.
func (h *Handler) findGrant(r *http.Request) (storage.Grant, *Error) {
	id := r.PathValue("id")
	g, err := h.store().GetGrant(r.Context(), id)
	if isNotFound(err) {
		return storage.Grant{}, newError(http.StatusNotFound, codeInexistentGrant, `grant "`+id+`" not found`)
	}
	if err != nil {
		return storage.Grant{}, translate(err, grantRes)
	}
	return g, nil
}

func (h *Handler) getGrant(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	g, err := h.findGrant(r)
	if err != nil {
		return 0, nil, err
	}
	return one(r, http.StatusOK, viewGrant(g))
}

type grantPatch struct {
	Scope *[]string `json:"scope"`
}

// grantFixedOnPatch are what a grant is for: a PATCH may send them back
// unchanged.
var grantFixedOnPatch = []string{"client_id", "audience", "subject_type"}

// grantPatchAccepted are the fields of a PATCH judged apart from
// grantPatch.
var grantPatchAccepted = slices.Concat(grantAccepted, grantFixedOnPatch)

// updateGrant replaces a grant's scopes, as Auth0's PATCH does.
func (h *Handler) updateGrant(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in grantPatch
	extra, derr := decodeWith(w, r, &in, grantPatchAccepted)
	if derr != nil {
		return 0, nil, derr
	}
	cur, ferr := h.findGrant(r)
	if ferr != nil {
		return 0, nil, ferr
	}
	problems := slices.Concat(checkFixedFields(grantFixed, extra),
		checkReadOnly(grantReadOnly, extra, viewGrant(cur), "the server sets it"),
		checkReadOnly(grantFixedOnPatch, extra, viewGrant(cur), "a grant is for one client, one API and one subject type: create another grant instead"))
	if err := joinProblems(problems); err != nil {
		return 0, nil, err
	}
	if in.Scope == nil {
		return 0, nil, badBody(`field "scope" is required`)
	}
	g, err := h.svc().UpdateGrant(r.Context(), cur.ID, *in.Scope)
	if err != nil {
		return 0, nil, translate(err, grantRes)
	}
	return one(r, http.StatusOK, viewGrant(g))
}

func (h *Handler) deleteGrant(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	return deleted(h.svc().DeleteGrant(r.Context(), r.PathValue("id")))
}
