package mgmt

import (
	"context"
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Roles and permissions in Auth0's shapes (its role-based access control).

var roleRes = resource{conflict: CodeRoleConflict}

// Role is a role in Auth0's shape.
type Role struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

func viewRole(r storage.Role) Role { return Role{ID: r.ID, Name: r.Name, Description: r.Description} }

// Permission is a permission in Auth0's shape: a scope of a resource
// server, with the API's name and the scope's description.
type Permission struct {
	ResourceServerIdentifier string `json:"resource_server_identifier"`
	PermissionName           string `json:"permission_name"`
	ResourceServerName       string `json:"resource_server_name"`
	Description              string `json:"description"`
	// Sources, of a user's permission, says where the user holds it from.
	Sources []PermissionSource `json:"sources,omitempty"`
}

// PermissionSource is Auth0's source of a user's permission: DIRECT, or
// ROLE with the role's ID and name.
type PermissionSource struct {
	SourceID   string `json:"source_id"`
	SourceName string `json:"source_name"`
	SourceType string `json:"source_type"`
}

// RoleUser is a user holding a role, in Auth0's shape.
type RoleUser struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
}

type roleInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// permissionRef is a permission as a request names it.
type permissionRef struct {
	ResourceServerIdentifier string `json:"resource_server_identifier"`
	PermissionName           string `json:"permission_name"`
}

type permissionsInput struct {
	Permissions *[]permissionRef `json:"permissions"`
}

// list returns the permissions of the body, which must name at least one.
func (in permissionsInput) list() ([]storage.Permission, *Error) {
	if in.Permissions == nil || len(*in.Permissions) == 0 {
		return nil, badBody(`field "permissions" must list at least one permission`)
	}
	out := make([]storage.Permission, len(*in.Permissions))
	for i, p := range *in.Permissions {
		if p.ResourceServerIdentifier == "" || p.PermissionName == "" {
			return nil, badBody("each permission needs resource_server_identifier and permission_name")
		}
		out[i] = storage.Permission{Audience: p.ResourceServerIdentifier, Scope: p.PermissionName}
	}
	return out, nil
}

// viewPermissions describes perms with their APIs' names and scopes'
// descriptions, read once per API.
func (h *Handler) viewPermissions(ctx context.Context, perms []admin.HeldPermission) []Permission {
	apis := map[string]storage.API{}
	out := make([]Permission, len(perms))
	for i, p := range perms {
		api, ok := apis[p.Audience]
		if !ok {
			api, _ = h.store().GetAPI(ctx, p.Audience) // gone meanwhile: no name
			apis[p.Audience] = api
		}
		v := Permission{ResourceServerIdentifier: p.Audience, PermissionName: p.Scope, ResourceServerName: api.Name}
		for _, s := range api.Scopes {
			if s.Value == p.Scope {
				v.Description = s.Description
			}
		}
		if p.Direct {
			v.Sources = append(v.Sources, PermissionSource{SourceType: "DIRECT"})
		}
		for _, r := range p.Roles {
			v.Sources = append(v.Sources, PermissionSource{SourceID: r.ID, SourceName: r.Name, SourceType: "ROLE"})
		}
		out[i] = v
	}
	return out
}

func (h *Handler) listRoles(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	q := r.URL.Query()
	filter, err := query(q, "name_filter")
	if err != nil {
		return 0, nil, err
	}
	return listed(r, "roles", func(ctx context.Context) ([]storage.Role, error) {
		all, err := h.svc().ListRoles(ctx)
		if err != nil || filter == "" {
			return all, err
		}
		// Auth0's name_filter: the roles whose name contains it, case-insensitively.
		var out []storage.Role
		for _, r := range all {
			if strings.Contains(strings.ToLower(r.Name), strings.ToLower(filter)) {
				out = append(out, r)
			}
		}
		return out, nil
	}, viewRole, "name_filter")
}

func (h *Handler) createRole(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in roleInput
	if err := decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	if in.Name == nil {
		return 0, nil, badBody(`field "name" is required`)
	}
	var desc string
	if in.Description != nil {
		desc = *in.Description
	}
	role, err := h.svc().CreateRole(r.Context(), *in.Name, desc)
	if err != nil {
		return 0, nil, translate(err, roleRes)
	}
	return http.StatusOK, viewRole(role), nil // Auth0 answers 200
}

func (h *Handler) getRole(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	role, err := h.svc().GetRole(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, translate(err, roleRes)
	}
	return http.StatusOK, viewRole(role), nil
}

func (h *Handler) updateRole(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in roleInput
	if err := decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	role, err := h.svc().UpdateRole(r.Context(), r.PathValue("id"), in.Name, in.Description)
	if err != nil {
		return 0, nil, translate(err, roleRes)
	}
	return http.StatusOK, viewRole(role), nil
}

func (h *Handler) deleteRole(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	return deleted(h.svc().DeleteRole(r.Context(), r.PathValue("id")))
}

func (h *Handler) listRolePermissions(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	return listed(r, "permissions", func(ctx context.Context) ([]Permission, error) {
		perms, err := h.svc().RolePermissions(ctx, r.PathValue("id"))
		held := make([]admin.HeldPermission, len(perms))
		for i, p := range perms {
			held[i] = admin.HeldPermission{Permission: p}
		}
		return h.viewPermissions(ctx, held), err
	}, same[Permission])
}

func same[T any](v T) T { return v }

// changePermissions is POST or DELETE of a role's or a user's permissions:
// Auth0 answers 201 to an addition and 204 to a removal, with no body.
func changePermissions(w http.ResponseWriter, r *http.Request, res resource, add, remove func(ctx context.Context, id string, perms []storage.Permission) error) (int, any, *Error) {
	var in permissionsInput
	if err := decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	perms, perr := in.list()
	if perr != nil {
		return 0, nil, perr
	}
	op, status := add, http.StatusCreated
	if r.Method == http.MethodDelete {
		op, status = remove, http.StatusNoContent
	}
	if err := op(r.Context(), r.PathValue("id"), perms); err != nil {
		return 0, nil, translate(err, res)
	}
	return status, nil, nil
}

func (h *Handler) changeRolePermissions(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	return changePermissions(w, r, roleRes, h.svc().AddRolePermissions, h.svc().RemoveRolePermissions)
}

func (h *Handler) listRoleUsers(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	return listed(r, "users", func(ctx context.Context) ([]storage.User, error) { return h.svc().RoleUsers(ctx, r.PathValue("id")) },
		func(u storage.User) RoleUser { return RoleUser{UserID: u.UserID, Email: u.Email, Name: u.Name} })
}

// assignRoleUsers is POST /roles/{id}/users {"users": [...]}.
func (h *Handler) assignRoleUsers(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in struct {
		Users *[]string `json:"users"`
	}
	if err := decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	if in.Users == nil || len(*in.Users) == 0 {
		return 0, nil, badBody(`field "users" must list at least one user ID`)
	}
	id := r.PathValue("id")
	if _, err := h.svc().GetRole(r.Context(), id); err != nil {
		return 0, nil, translate(err, roleRes)
	}
	for _, u := range *in.Users {
		if err := h.svc().AssignRoles(r.Context(), u, []string{id}); err != nil {
			return 0, nil, translate(err, roleRes)
		}
	}
	return http.StatusOK, nil, nil
}

func (h *Handler) listUserRoles(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	return listed(r, "roles", func(ctx context.Context) ([]storage.Role, error) { return h.svc().UserRoles(ctx, r.PathValue("id")) }, viewRole)
}

// changeUserRoles is POST (204) or DELETE (204) /users/{id}/roles
// {"roles": [...]}.
func (h *Handler) changeUserRoles(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in struct {
		Roles *[]string `json:"roles"`
	}
	if err := decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	if in.Roles == nil || len(*in.Roles) == 0 {
		return 0, nil, badBody(`field "roles" must list at least one role ID`)
	}
	op := h.svc().AssignRoles
	if r.Method == http.MethodDelete {
		op = h.svc().UnassignRoles
	}
	if err := op(r.Context(), r.PathValue("id"), *in.Roles); err != nil {
		return 0, nil, translate(err, userRes)
	}
	return http.StatusNoContent, nil, nil
}

func (h *Handler) listUserPermissions(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	return listed(r, "permissions", func(ctx context.Context) ([]Permission, error) {
		held, err := h.svc().UserPermissions(ctx, r.PathValue("id"))
		return h.viewPermissions(ctx, held), err
	}, same[Permission])
}

func (h *Handler) changeUserPermissions(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	return changePermissions(w, r, userRes, h.svc().AddUserPermissions, h.svc().RemoveUserPermissions)
}
