package storage

import (
	"context"
	"time"
)

// Audit actions of roles and permissions (beside storage/audit.go's).
const (
	AuditRoleCreated            = "role.created"
	AuditRoleUpdated            = "role.updated"
	AuditRoleDeleted            = "role.deleted"
	AuditRolePermissionsAdded   = "role.permissions_added"
	AuditRolePermissionsRemoved = "role.permissions_removed"
	AuditUserRolesAssigned      = "user.roles_assigned"
	AuditUserRolesRemoved       = "user.roles_removed"
	AuditUserPermissionsAdded   = "user.permissions_added"
	AuditUserPermissionsRemoved = "user.permissions_removed"
)

// Permission is one scope of one API that a role or a user may hold
// (Auth0's permission: resource_server_identifier and permission_name).
type Permission struct {
	Audience string // the API's identifier
	Scope    string // one of the scopes the API defines
}

// Role is a named set of permissions that users hold (Auth0's role-based
// access control). Name is unique.
type Role struct {
	ID          string // "rol_" and random characters
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Authz is the part of the storage contract that keeps roles, their
// permissions and what users hold. Its writes do not append to the change
// feed: the token endpoint reads a person's permissions from the store at
// each code or refresh exchange, so a change counts from the next token.
// Adding what is already there and removing what is not are no-ops.
type Authz interface {
	// CreateRole stores a role; ErrAlreadyExists if its ID or name is taken.
	CreateRole(ctx context.Context, r Role) error
	// GetRole returns the role or ErrNotFound.
	GetRole(ctx context.Context, id string) (Role, error)
	// ListRoles returns every role ordered by name.
	ListRoles(ctx context.Context) ([]Role, error)
	// UpdateRole replaces the name, description and UpdatedAt of role
	// r.ID; ErrNotFound if there is none, ErrAlreadyExists if another role
	// has the name.
	UpdateRole(ctx context.Context, r Role) error
	// DeleteRole deletes the role with its permissions and assignments,
	// or returns ErrNotFound.
	DeleteRole(ctx context.Context, id string) error

	// AddRolePermissions gives the role perms, in one transaction;
	// ErrNotFound if the role or the API of one of them does not exist.
	AddRolePermissions(ctx context.Context, roleID string, perms ...Permission) error
	// RemoveRolePermissions takes perms from the role; ErrNotFound if the
	// role does not exist.
	RemoveRolePermissions(ctx context.Context, roleID string, perms ...Permission) error
	// ListRolePermissions returns the role's permissions ordered by API,
	// then scope; ErrNotFound if the role does not exist.
	ListRolePermissions(ctx context.Context, roleID string) ([]Permission, error)
	// ListRoleUsers returns the IDs of the users holding the role, in
	// order; ErrNotFound if the role does not exist.
	ListRoleUsers(ctx context.Context, roleID string) ([]string, error)

	// AssignRoles gives the user the roles, in one transaction;
	// ErrNotFound if the user or one of the roles does not exist.
	AssignRoles(ctx context.Context, userID string, roleIDs ...string) error
	// UnassignRoles takes the roles from the user; ErrNotFound if the user
	// does not exist.
	UnassignRoles(ctx context.Context, userID string, roleIDs ...string) error
	// ListUserRoles returns the user's roles ordered by name; ErrNotFound
	// if the user does not exist.
	ListUserRoles(ctx context.Context, userID string) ([]Role, error)

	// AddUserPermissions gives the user perms directly, in one
	// transaction; ErrNotFound if the user or the API of one of them does
	// not exist.
	AddUserPermissions(ctx context.Context, userID string, perms ...Permission) error
	// RemoveUserPermissions takes direct perms from the user; ErrNotFound
	// if the user does not exist.
	RemoveUserPermissions(ctx context.Context, userID string, perms ...Permission) error
	// ListUserPermissions returns the permissions the user holds directly
	// (not through roles) ordered by API, then scope; ErrNotFound if the
	// user does not exist.
	ListUserPermissions(ctx context.Context, userID string) ([]Permission, error)

	// UserScopes returns the scopes of the API audience that the user
	// holds, directly or through a role, each once and in order: what an
	// API with EnforcePolicies lets a person's token carry. An unknown
	// user or API holds none.
	UserScopes(ctx context.Context, userID, audience string) ([]string, error)
}
