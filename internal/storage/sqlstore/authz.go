package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Roles, their permissions, the roles users hold and users' own
// permissions (storage.Authz). None of it appends to the change feed: the
// token endpoint reads a person's permissions at each exchange.

const roleColumns = "id, name, description, created_at, updated_at"

// CreateRole stores a role; storage.ErrAlreadyExists if its ID or name is
// taken.
func (s *Store) CreateRole(ctx context.Context, r storage.Role) error {
	_, err := s.exec(ctx, "INSERT INTO roles ("+roleColumns+") VALUES ($1, $2, $3, $4, $5)",
		r.ID, r.Name, r.Description, s.f.Time(r.CreatedAt), s.f.Time(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create role %q: %w", r.ID, s.translate(err))
	}
	return nil
}

// GetRole returns the role or storage.ErrNotFound.
func (s *Store) GetRole(ctx context.Context, id string) (storage.Role, error) {
	return selectOne(ctx, s, fmt.Sprintf("get role %q", id), scanRole, "SELECT "+roleColumns+" FROM roles WHERE id = $1", id)
}

// ListRoles returns every role ordered by name (byte order).
func (s *Store) ListRoles(ctx context.Context) ([]storage.Role, error) {
	return selectAll(ctx, s, "list roles", scanRole, "SELECT "+roleColumns+" FROM roles ORDER BY name")
}

// UpdateRole replaces a role's name, description and update time;
// storage.ErrNotFound if there is no such role, storage.ErrAlreadyExists if
// another role has the name.
func (s *Store) UpdateRole(ctx context.Context, r storage.Role) error {
	n, err := s.exec(ctx, "UPDATE roles SET name = $1, description = $2, updated_at = $3 WHERE id = $4",
		r.Name, r.Description, s.f.Time(r.UpdatedAt), r.ID)
	if err == nil && n == 0 {
		err = storage.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("update role %q: %w", r.ID, s.translate(err))
	}
	return nil
}

// DeleteRole deletes the role with its permissions and assignments (ON
// DELETE CASCADE), or returns storage.ErrNotFound.
func (s *Store) DeleteRole(ctx context.Context, id string) error {
	n, err := s.exec(ctx, "DELETE FROM roles WHERE id = $1", id)
	if err == nil && n == 0 {
		err = storage.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete role %q: %w", id, s.translate(err))
	}
	return nil
}

// AddRolePermissions gives the role perms in one transaction; those it
// holds stay. storage.ErrNotFound if the role or an API does not exist.
func (s *Store) AddRolePermissions(ctx context.Context, roleID string, perms ...storage.Permission) error {
	return s.permissions(ctx, "add permissions to role", "role", roleID, "SELECT 1 FROM roles WHERE id = $1",
		"INSERT INTO role_permissions (role_id, audience, scope) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", perms)
}

// RemoveRolePermissions takes perms from the role; storage.ErrNotFound if
// the role does not exist.
func (s *Store) RemoveRolePermissions(ctx context.Context, roleID string, perms ...storage.Permission) error {
	return s.permissions(ctx, "remove permissions from role", "role", roleID, "SELECT 1 FROM roles WHERE id = $1",
		"DELETE FROM role_permissions WHERE role_id = $1 AND audience = $2 AND scope = $3", perms)
}

// AddUserPermissions gives the user perms in one transaction; those the
// user holds stay. storage.ErrNotFound if the user or an API does not exist.
func (s *Store) AddUserPermissions(ctx context.Context, userID string, perms ...storage.Permission) error {
	return s.permissions(ctx, "add permissions to user", "user", userID, "SELECT 1 FROM users WHERE user_id = $1",
		"INSERT INTO user_permissions (user_id, audience, scope) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", perms)
}

// RemoveUserPermissions takes the user's direct perms; storage.ErrNotFound
// if the user does not exist.
func (s *Store) RemoveUserPermissions(ctx context.Context, userID string, perms ...storage.Permission) error {
	return s.permissions(ctx, "remove permissions from user", "user", userID, "SELECT 1 FROM users WHERE user_id = $1",
		"DELETE FROM user_permissions WHERE user_id = $1 AND audience = $2 AND scope = $3", perms)
}

// permissions runs stmt ($1 the owner, $2 the audience, $3 the scope) for
// each of perms in one transaction, after checking that the owner exists;
// a missing API fails the INSERT's foreign key (storage.ErrNotFound).
func (s *Store) permissions(ctx context.Context, what, kind, owner, existsQuery, stmt string, perms []storage.Permission) error {
	err := s.update(ctx, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, kind, owner, existsQuery); err != nil {
			return err
		}
		for _, p := range perms {
			if _, err := tx.ExecContext(ctx, stmt, owner, p.Audience, p.Scope); err != nil {
				return s.translate(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s %q: %w", what, owner, err)
	}
	return nil
}

// ListRolePermissions returns the role's permissions ordered by API, then
// scope; storage.ErrNotFound if the role does not exist.
func (s *Store) ListRolePermissions(ctx context.Context, roleID string) ([]storage.Permission, error) {
	return listOf(ctx, s, "list permissions of role", "role", roleID, "SELECT 1 FROM roles WHERE id = $1", scanPermission,
		"SELECT audience, scope FROM role_permissions WHERE role_id = $1 ORDER BY audience, scope")
}

// ListRoleUsers returns the IDs of the role's users in order;
// storage.ErrNotFound if the role does not exist.
func (s *Store) ListRoleUsers(ctx context.Context, roleID string) ([]string, error) {
	return listOf(ctx, s, "list users of role", "role", roleID, "SELECT 1 FROM roles WHERE id = $1", scanString,
		"SELECT user_id FROM user_roles WHERE role_id = $1 ORDER BY user_id")
}

// ListUserRoles returns the user's roles ordered by name;
// storage.ErrNotFound if the user does not exist.
func (s *Store) ListUserRoles(ctx context.Context, userID string) ([]storage.Role, error) {
	return listOf(ctx, s, "list roles of user", "user", userID, "SELECT 1 FROM users WHERE user_id = $1", scanRole,
		"SELECT r.id, r.name, r.description, r.created_at, r.updated_at FROM roles r JOIN user_roles ur ON ur.role_id = r.id WHERE ur.user_id = $1 ORDER BY r.name")
}

// ListUserPermissions returns the user's direct permissions ordered by
// API, then scope; storage.ErrNotFound if the user does not exist.
func (s *Store) ListUserPermissions(ctx context.Context, userID string) ([]storage.Permission, error) {
	return listOf(ctx, s, "list permissions of user", "user", userID, "SELECT 1 FROM users WHERE user_id = $1", scanPermission,
		"SELECT audience, scope FROM user_permissions WHERE user_id = $1 ORDER BY audience, scope")
}

// listOf runs query ($1 the owner) in one snapshot with the check that the
// owner exists.
func listOf[T any](ctx context.Context, s *Store, what, kind, owner, existsQuery string, scan func(rowScanner) (T, error), query string) ([]T, error) {
	var out []T
	err := s.read(ctx, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, kind, owner, existsQuery); err != nil {
			return err
		}
		var err error
		out, err = queryAll(ctx, tx, scan, query, owner)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", what, owner, err)
	}
	return out, nil
}

// AssignRoles gives the user the roles in one transaction; those the user
// holds stay. storage.ErrNotFound if the user or a role does not exist.
func (s *Store) AssignRoles(ctx context.Context, userID string, roleIDs ...string) error {
	return s.userRoles(ctx, "assign roles to user", userID,
		"INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", roleIDs)
}

// UnassignRoles takes the roles from the user; storage.ErrNotFound if the
// user does not exist.
func (s *Store) UnassignRoles(ctx context.Context, userID string, roleIDs ...string) error {
	return s.userRoles(ctx, "unassign roles from user", userID, "DELETE FROM user_roles WHERE user_id = $1 AND role_id = $2", roleIDs)
}

func (s *Store) userRoles(ctx context.Context, what, userID, stmt string, roleIDs []string) error {
	err := s.update(ctx, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "user", userID, "SELECT 1 FROM users WHERE user_id = $1"); err != nil {
			return err
		}
		for _, r := range roleIDs {
			if _, err := tx.ExecContext(ctx, stmt, userID, r); err != nil {
				return s.translate(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s %q: %w", what, userID, err)
	}
	return nil
}

// UserScopes returns the scopes of the API that the user holds directly or
// through a role, each once, in byte order.
func (s *Store) UserScopes(ctx context.Context, userID, audience string) ([]string, error) {
	return selectAll(ctx, s, fmt.Sprintf("scopes of user %q for %q", userID, audience), scanString,
		`SELECT scope FROM user_permissions WHERE user_id = $1 AND audience = $2
		UNION
		SELECT rp.scope FROM role_permissions rp JOIN user_roles ur ON ur.role_id = rp.role_id WHERE ur.user_id = $1 AND rp.audience = $2
		ORDER BY 1`, userID, audience)
}

func scanRole(r rowScanner) (storage.Role, error) {
	var v storage.Role
	err := r.Scan(&v.ID, &v.Name, &v.Description, at(&v.CreatedAt), at(&v.UpdatedAt))
	return v, err
}

func scanPermission(r rowScanner) (storage.Permission, error) {
	var p storage.Permission
	err := r.Scan(&p.Audience, &p.Scope)
	return p, err
}
