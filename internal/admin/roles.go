package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/secret"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Role limits (Auth0's: a name of at most 50 characters, a description of
// at most 255).
const (
	MaxRoleNameLen        = 50
	MaxRoleDescriptionLen = 255
	roleIDRandomLen       = 16
)

func checkRole(r storage.Role) []string {
	var problems []string
	if strings.TrimSpace(r.Name) == "" {
		problems = append(problems, "role name is required")
	} else if utf8.RuneCountInString(r.Name) > MaxRoleNameLen {
		problems = append(problems, fmt.Sprintf("role name is longer than %d characters", MaxRoleNameLen))
	}
	if utf8.RuneCountInString(r.Description) > MaxRoleDescriptionLen {
		problems = append(problems, fmt.Sprintf("role description is longer than %d characters", MaxRoleDescriptionLen))
	}
	return problems
}

// CreateRole stores a new role; a name another role has is
// storage.ErrAlreadyExists.
func (s *Service) CreateRole(ctx context.Context, name, description string) (storage.Role, error) {
	now := s.now()
	r := storage.Role{Name: strings.TrimSpace(name), Description: strings.TrimSpace(description), CreatedAt: now, UpdatedAt: now}
	if problems := checkRole(r); len(problems) > 0 {
		return storage.Role{}, invalid("%s", strings.Join(problems, "; "))
	}
	var err error
	if r.ID, err = secret.ID(s.rand(), "rol_", roleIDRandomLen); err != nil {
		return storage.Role{}, err
	}
	if err := s.Store.CreateRole(ctx, r); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return storage.Role{}, describe(err, "a role named %q already exists", r.Name)
		}
		return storage.Role{}, fmt.Errorf("create role: %w", err)
	}
	s.record(ctx, storage.AuditRoleCreated, r.ID, map[string]string{"name": r.Name})
	return r, nil
}

// GetRole returns a role.
func (s *Service) GetRole(ctx context.Context, id string) (storage.Role, error) {
	r, err := s.Store.GetRole(ctx, id)
	return r, notFound(err, "role", id)
}

// ListRoles lists the roles by name.
func (s *Service) ListRoles(ctx context.Context) ([]storage.Role, error) {
	return s.Store.ListRoles(ctx)
}

// UpdateRole changes a role's name or description (nil: unchanged).
func (s *Service) UpdateRole(ctx context.Context, id string, name, description *string) (storage.Role, error) {
	r, err := s.GetRole(ctx, id)
	if err != nil {
		return storage.Role{}, err
	}
	if name != nil {
		r.Name = strings.TrimSpace(*name)
	}
	if description != nil {
		r.Description = strings.TrimSpace(*description)
	}
	if problems := checkRole(r); len(problems) > 0 {
		return storage.Role{}, invalid("%s", strings.Join(problems, "; "))
	}
	r.UpdatedAt = s.now()
	if err := s.Store.UpdateRole(ctx, r); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return storage.Role{}, describe(err, "a role named %q already exists", r.Name)
		}
		return storage.Role{}, notFound(err, "role", id)
	}
	s.record(ctx, storage.AuditRoleUpdated, r.ID, map[string]string{"name": r.Name})
	return r, nil
}

// DeleteRole deletes a role; its users lose its permissions with their
// next token.
func (s *Service) DeleteRole(ctx context.Context, id string) error {
	if err := s.Store.DeleteRole(ctx, id); err != nil {
		return notFound(err, "role", id)
	}
	s.record(ctx, storage.AuditRoleDeleted, id, nil)
	return nil
}

// checkPermissions reports the permissions that name no API, or a scope
// their API does not define (Auth0 refuses them too).
func (s *Service) checkPermissions(ctx context.Context, perms []storage.Permission) error {
	if len(perms) == 0 {
		return invalid("no permissions given")
	}
	var problems []string
	apis := map[string]*storage.API{}
	for _, p := range perms {
		api, ok := apis[p.Audience]
		if !ok {
			got, err := s.Store.GetAPI(ctx, p.Audience)
			switch {
			case errors.Is(err, storage.ErrNotFound):
			case err != nil:
				return fmt.Errorf("look up api: %w", err)
			default:
				api = &got
			}
			apis[p.Audience] = api
		}
		switch {
		case api == nil:
			problems = append(problems, fmt.Sprintf("API %q does not exist", p.Audience))
		case !slices.ContainsFunc(api.Scopes, func(sc storage.Scope) bool { return sc.Value == p.Scope }):
			problems = append(problems, fmt.Sprintf("API %q does not define scope %q", p.Audience, p.Scope))
		}
	}
	if len(problems) > 0 {
		return invalid("%s", strings.Join(problems, "; "))
	}
	return nil
}

func permissionList(perms []storage.Permission) string {
	out := make([]string, len(perms))
	for i, p := range perms {
		out[i] = p.Audience + " " + p.Scope
	}
	return strings.Join(out, ", ")
}

// AddRolePermissions gives a role permissions, each a scope its API defines.
func (s *Service) AddRolePermissions(ctx context.Context, roleID string, perms []storage.Permission) error {
	if err := s.checkPermissions(ctx, perms); err != nil {
		return err
	}
	if err := s.Store.AddRolePermissions(ctx, roleID, perms...); err != nil {
		return notFound(err, "role", roleID)
	}
	s.record(ctx, storage.AuditRolePermissionsAdded, roleID, map[string]string{"permissions": permissionList(perms)})
	return nil
}

// RemoveRolePermissions takes permissions from a role.
func (s *Service) RemoveRolePermissions(ctx context.Context, roleID string, perms []storage.Permission) error {
	if len(perms) == 0 {
		return invalid("no permissions given")
	}
	if err := s.Store.RemoveRolePermissions(ctx, roleID, perms...); err != nil {
		return notFound(err, "role", roleID)
	}
	s.record(ctx, storage.AuditRolePermissionsRemoved, roleID, map[string]string{"permissions": permissionList(perms)})
	return nil
}

// RolePermissions lists a role's permissions.
func (s *Service) RolePermissions(ctx context.Context, roleID string) ([]storage.Permission, error) {
	perms, err := s.Store.ListRolePermissions(ctx, roleID)
	return perms, notFound(err, "role", roleID)
}

// RoleUsers lists the users holding a role.
func (s *Service) RoleUsers(ctx context.Context, roleID string) ([]storage.User, error) {
	ids, err := s.Store.ListRoleUsers(ctx, roleID)
	if err != nil {
		return nil, notFound(err, "role", roleID)
	}
	out := make([]storage.User, 0, len(ids))
	for _, id := range ids {
		u, err := s.Store.GetUser(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// AssignRoles gives a user (by ID or email) roles.
func (s *Service) AssignRoles(ctx context.Context, userRef string, roleIDs []string) error {
	return s.userRoles(ctx, userRef, roleIDs, true)
}

// UnassignRoles takes roles from a user (by ID or email); the user loses
// their permissions with the next token.
func (s *Service) UnassignRoles(ctx context.Context, userRef string, roleIDs []string) error {
	return s.userRoles(ctx, userRef, roleIDs, false)
}

func (s *Service) userRoles(ctx context.Context, userRef string, roleIDs []string, assign bool) error {
	if len(roleIDs) == 0 {
		return invalid("no roles given")
	}
	u, err := s.GetUser(ctx, userRef)
	if err != nil {
		return err
	}
	action, op := storage.AuditUserRolesAssigned, s.Store.AssignRoles
	if !assign {
		action, op = storage.AuditUserRolesRemoved, s.Store.UnassignRoles
	}
	if err := op(ctx, u.UserID, roleIDs...); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return describe(err, "role %s not found", strings.Join(quoteAll(roleIDs), " or "))
		}
		return err
	}
	s.record(ctx, action, u.UserID, map[string]string{"roles": strings.Join(roleIDs, " ")})
	return nil
}

// UserRoles lists a user's roles.
func (s *Service) UserRoles(ctx context.Context, userRef string) ([]storage.Role, error) {
	u, err := s.GetUser(ctx, userRef)
	if err != nil {
		return nil, err
	}
	return s.Store.ListUserRoles(ctx, u.UserID)
}

// AddUserPermissions gives a user (by ID or email) permissions directly.
func (s *Service) AddUserPermissions(ctx context.Context, userRef string, perms []storage.Permission) error {
	return s.userPermissions(ctx, userRef, perms, true)
}

// RemoveUserPermissions takes permissions the user holds directly.
func (s *Service) RemoveUserPermissions(ctx context.Context, userRef string, perms []storage.Permission) error {
	return s.userPermissions(ctx, userRef, perms, false)
}

func (s *Service) userPermissions(ctx context.Context, userRef string, perms []storage.Permission, add bool) error {
	u, err := s.GetUser(ctx, userRef)
	if err != nil {
		return err
	}
	action, op := storage.AuditUserPermissionsAdded, s.Store.AddUserPermissions
	if add {
		err = s.checkPermissions(ctx, perms)
	} else {
		action, op = storage.AuditUserPermissionsRemoved, s.Store.RemoveUserPermissions
		if len(perms) == 0 {
			err = invalid("no permissions given")
		}
	}
	if err != nil {
		return err
	}
	if err := op(ctx, u.UserID, perms...); err != nil {
		return notFound(err, "user", userRef)
	}
	s.record(ctx, action, u.UserID, map[string]string{"permissions": permissionList(perms)})
	return nil
}

// HeldPermission is a permission a user holds, and where from: directly,
// through roles, or both (Auth0's sources).
type HeldPermission struct {
	storage.Permission
	Direct bool
	Roles  []storage.Role
}

// UserPermissions lists what a user (by ID or email) holds, directly and
// through roles, ordered by API then scope.
func (s *Service) UserPermissions(ctx context.Context, userRef string) ([]HeldPermission, error) {
	u, err := s.GetUser(ctx, userRef)
	if err != nil {
		return nil, err
	}
	var out []HeldPermission
	at := func(p storage.Permission) *HeldPermission {
		for i := range out {
			if out[i].Permission == p {
				return &out[i]
			}
		}
		out = append(out, HeldPermission{Permission: p})
		return &out[len(out)-1]
	}
	direct, err := s.Store.ListUserPermissions(ctx, u.UserID)
	if err != nil {
		return nil, notFound(err, "user", userRef)
	}
	for _, p := range direct {
		at(p).Direct = true
	}
	roles, err := s.Store.ListUserRoles(ctx, u.UserID)
	if err != nil {
		return nil, notFound(err, "user", userRef)
	}
	for _, r := range roles {
		perms, err := s.Store.ListRolePermissions(ctx, r.ID)
		if errors.Is(err, storage.ErrNotFound) { // deleted meanwhile
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, p := range perms {
			h := at(p)
			h.Roles = append(h.Roles, r)
		}
	}
	slices.SortFunc(out, func(x, y HeldPermission) int {
		if c := strings.Compare(x.Audience, y.Audience); c != 0 {
			return c
		}
		return strings.Compare(x.Scope, y.Scope)
	})
	return out, nil
}
