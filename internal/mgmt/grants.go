package mgmt

import (
	"context"
	"net/http"
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

// listGrants lists grants, filtered by audience and client_id as Auth0's.
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
	return listed(r, "client_grants", func(ctx context.Context) ([]storage.Grant, error) { return h.store().ListGrants(ctx, f) }, viewGrant)
}

func (h *Handler) createGrant(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in grantInput
	if err := decode(w, r, &in); err != nil {
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
	return http.StatusCreated, viewGrant(g), nil
}

func (h *Handler) getGrant(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	id := r.PathValue("id")
	g, err := h.store().GetGrant(r.Context(), id)
	if isNotFound(err) {
		return 0, nil, newError(http.StatusNotFound, codeInexistentGrant, `grant "`+id+`" not found`)
	}
	if err != nil {
		return 0, nil, translate(err, grantRes)
	}
	return http.StatusOK, viewGrant(g), nil
}

type grantPatch struct {
	Scope *[]string `json:"scope"`
}

// updateGrant replaces a grant's scopes, as Auth0's PATCH does.
func (h *Handler) updateGrant(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in grantPatch
	if err := decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	if in.Scope == nil {
		return 0, nil, badBody(`field "scope" is required`)
	}
	g, err := h.svc().UpdateGrant(r.Context(), r.PathValue("id"), *in.Scope)
	if err != nil {
		return 0, nil, translate(err, grantRes)
	}
	return http.StatusOK, viewGrant(g), nil
}

func (h *Handler) deleteGrant(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	return deleted(h.svc().DeleteGrant(r.Context(), r.PathValue("id")))
}
