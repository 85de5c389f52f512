package testutil

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Backend is a store with its schema migrations (server.Store).
type Backend interface {
	storage.Storage
	Migrate(ctx context.Context) (int, error)
	SchemaVersion(ctx context.Context) (int, error)
}

// MemAuthz is a Backend that keeps in memory what its backend does not
// store yet: APIs' access policies and EnforcePolicies, grants' subject
// types, roles and permissions (storage.Authz). It lets tests drive the
// rules of people's tokens over HTTP before the backends store them. A
// client may not hold a client grant and a user grant for one API (the
// backend's unique key).
type MemAuthz struct {
	Backend

	mu        sync.Mutex
	apis      map[string]storage.API // the policy fields only
	subjects  map[string]string      // grant ID -> subject type
	roles     map[string]storage.Role
	rolePerms map[string][]storage.Permission
	userRoles map[string][]string
	userPerms map[string][]storage.Permission
}

var _ storage.Authz = (*MemAuthz)(nil)

// NewMemAuthz wraps b.
func NewMemAuthz(b Backend) *MemAuthz {
	return &MemAuthz{Backend: b, apis: map[string]storage.API{}, subjects: map[string]string{}, roles: map[string]storage.Role{},
		rolePerms: map[string][]storage.Permission{}, userRoles: map[string][]string{}, userPerms: map[string][]storage.Permission{}}
}

func (m *MemAuthz) withPolicy(a storage.API) storage.API {
	p, ok := m.apis[a.Identifier]
	if !ok {
		p = storage.API{UserPolicy: storage.PolicyRequireClientGrant, ClientPolicy: storage.PolicyRequireClientGrant}
	}
	a.UserPolicy, a.ClientPolicy, a.EnforcePolicies = p.UserPolicy, p.ClientPolicy, p.EnforcePolicies
	return a
}

func (m *MemAuthz) setPolicy(a storage.API) {
	if a.UserPolicy == "" {
		a.UserPolicy = storage.PolicyRequireClientGrant
	}
	if a.ClientPolicy == "" {
		a.ClientPolicy = storage.PolicyRequireClientGrant
	}
	m.apis[a.Identifier] = a
}

// CreateAPI stores the API and its policy.
func (m *MemAuthz) CreateAPI(ctx context.Context, a storage.API) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.Backend.CreateAPI(ctx, a); err != nil {
		return err
	}
	m.setPolicy(a)
	return nil
}

// UpdateAPI stores the API and its policy.
func (m *MemAuthz) UpdateAPI(ctx context.Context, a storage.API) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.Backend.UpdateAPI(ctx, a); err != nil {
		return err
	}
	m.setPolicy(a)
	return nil
}

// GetAPI returns the API with its policy.
func (m *MemAuthz) GetAPI(ctx context.Context, id string) (storage.API, error) {
	a, err := m.Backend.GetAPI(ctx, id)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.withPolicy(a), err
}

// ListAPIs returns the APIs with their policies.
func (m *MemAuthz) ListAPIs(ctx context.Context) ([]storage.API, error) {
	as, err := m.Backend.ListAPIs(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range as {
		as[i] = m.withPolicy(as[i])
	}
	return as, err
}

func (m *MemAuthz) withSubject(g storage.Grant) storage.Grant {
	g.SubjectType = m.subjects[g.ID]
	if g.SubjectType == "" {
		g.SubjectType = storage.SubjectClient
	}
	return g
}

// CreateGrant stores the grant and its subject type.
func (m *MemAuthz) CreateGrant(ctx context.Context, g storage.Grant) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.Backend.CreateGrant(ctx, g); err != nil {
		return err
	}
	m.subjects[g.ID] = g.SubjectType
	return nil
}

// GetGrant returns the grant with its subject type.
func (m *MemAuthz) GetGrant(ctx context.Context, id string) (storage.Grant, error) {
	g, err := m.Backend.GetGrant(ctx, id)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.withSubject(g), err
}

// ListGrants returns the grants with their subject types.
func (m *MemAuthz) ListGrants(ctx context.Context, f storage.GrantFilter) ([]storage.Grant, error) {
	gs, err := m.Backend.ListGrants(ctx, storage.GrantFilter{ClientID: f.ClientID, Audience: f.Audience})
	m.mu.Lock()
	defer m.mu.Unlock()
	out := gs[:0]
	for _, g := range gs {
		g = m.withSubject(g)
		if f.SubjectType == "" || f.SubjectType == g.SubjectType {
			out = append(out, g)
		}
	}
	return out, err
}

// CreateRole stores a role.
func (m *MemAuthz) CreateRole(_ context.Context, r storage.Role) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.roles {
		if o.ID == r.ID || o.Name == r.Name {
			return storage.ErrAlreadyExists
		}
	}
	m.roles[r.ID] = r
	return nil
}

// GetRole returns a role.
func (m *MemAuthz) GetRole(_ context.Context, id string) (storage.Role, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.roles[id]
	if !ok {
		return storage.Role{}, storage.ErrNotFound
	}
	return r, nil
}

// ListRoles returns the roles by name.
func (m *MemAuthz) ListRoles(context.Context) ([]storage.Role, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []storage.Role{}
	for _, r := range m.roles {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b storage.Role) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// UpdateRole renames or redescribes a role.
func (m *MemAuthz) UpdateRole(_ context.Context, r storage.Role) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.roles[r.ID]
	if !ok {
		return storage.ErrNotFound
	}
	for _, o := range m.roles {
		if o.ID != r.ID && o.Name == r.Name {
			return storage.ErrAlreadyExists
		}
	}
	old.Name, old.Description, old.UpdatedAt = r.Name, r.Description, r.UpdatedAt
	m.roles[r.ID] = old
	return nil
}

// DeleteRole deletes a role with its permissions and assignments.
func (m *MemAuthz) DeleteRole(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.roles[id]; !ok {
		return storage.ErrNotFound
	}
	delete(m.roles, id)
	delete(m.rolePerms, id)
	for u, rs := range m.userRoles {
		m.userRoles[u] = slices.DeleteFunc(rs, func(r string) bool { return r == id })
	}
	return nil
}

func (m *MemAuthz) checkPerms(ctx context.Context, perms []storage.Permission) error {
	for _, p := range perms {
		if _, err := m.Backend.GetAPI(ctx, p.Audience); err != nil {
			return err
		}
	}
	return nil
}

func addPerms(have, add []storage.Permission) []storage.Permission {
	for _, p := range add {
		if !slices.Contains(have, p) {
			have = append(have, p)
		}
	}
	slices.SortFunc(have, func(a, b storage.Permission) int {
		if c := strings.Compare(a.Audience, b.Audience); c != 0 {
			return c
		}
		return strings.Compare(a.Scope, b.Scope)
	})
	return have
}

func removePerms(have, drop []storage.Permission) []storage.Permission {
	return slices.DeleteFunc(have, func(p storage.Permission) bool { return slices.Contains(drop, p) })
}

// AddRolePermissions gives a role permissions.
func (m *MemAuthz) AddRolePermissions(ctx context.Context, roleID string, perms ...storage.Permission) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.roles[roleID]; !ok {
		return storage.ErrNotFound
	}
	if err := m.checkPerms(ctx, perms); err != nil {
		return err
	}
	m.rolePerms[roleID] = addPerms(m.rolePerms[roleID], perms)
	return nil
}

// RemoveRolePermissions takes permissions from a role.
func (m *MemAuthz) RemoveRolePermissions(_ context.Context, roleID string, perms ...storage.Permission) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.roles[roleID]; !ok {
		return storage.ErrNotFound
	}
	m.rolePerms[roleID] = removePerms(m.rolePerms[roleID], perms)
	return nil
}

// ListRolePermissions returns a role's permissions.
func (m *MemAuthz) ListRolePermissions(_ context.Context, roleID string) ([]storage.Permission, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.roles[roleID]; !ok {
		return nil, storage.ErrNotFound
	}
	return append([]storage.Permission{}, m.rolePerms[roleID]...), nil
}

// ListRoleUsers returns the users holding a role.
func (m *MemAuthz) ListRoleUsers(_ context.Context, roleID string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.roles[roleID]; !ok {
		return nil, storage.ErrNotFound
	}
	out := []string{}
	for u, rs := range m.userRoles {
		if slices.Contains(rs, roleID) {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out, nil
}

// AssignRoles gives a user roles.
func (m *MemAuthz) AssignRoles(ctx context.Context, userID string, roleIDs ...string) error {
	if _, err := m.Backend.GetUser(ctx, userID); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range roleIDs {
		if _, ok := m.roles[r]; !ok {
			return fmt.Errorf("role %s: %w", r, storage.ErrNotFound)
		}
	}
	for _, r := range roleIDs {
		if !slices.Contains(m.userRoles[userID], r) {
			m.userRoles[userID] = append(m.userRoles[userID], r)
		}
	}
	return nil
}

// UnassignRoles takes roles from a user.
func (m *MemAuthz) UnassignRoles(ctx context.Context, userID string, roleIDs ...string) error {
	if _, err := m.Backend.GetUser(ctx, userID); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.userRoles[userID] = slices.DeleteFunc(m.userRoles[userID], func(r string) bool { return slices.Contains(roleIDs, r) })
	return nil
}

// ListUserRoles returns a user's roles by name.
func (m *MemAuthz) ListUserRoles(ctx context.Context, userID string) ([]storage.Role, error) {
	if _, err := m.Backend.GetUser(ctx, userID); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []storage.Role{}
	for _, r := range m.userRoles[userID] {
		out = append(out, m.roles[r])
	}
	slices.SortFunc(out, func(a, b storage.Role) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// AddUserPermissions gives a user permissions directly.
func (m *MemAuthz) AddUserPermissions(ctx context.Context, userID string, perms ...storage.Permission) error {
	if _, err := m.Backend.GetUser(ctx, userID); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkPerms(ctx, perms); err != nil {
		return err
	}
	m.userPerms[userID] = addPerms(m.userPerms[userID], perms)
	return nil
}

// RemoveUserPermissions takes direct permissions from a user.
func (m *MemAuthz) RemoveUserPermissions(ctx context.Context, userID string, perms ...storage.Permission) error {
	if _, err := m.Backend.GetUser(ctx, userID); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.userPerms[userID] = removePerms(m.userPerms[userID], perms)
	return nil
}

// ListUserPermissions returns a user's direct permissions.
func (m *MemAuthz) ListUserPermissions(ctx context.Context, userID string) ([]storage.Permission, error) {
	if _, err := m.Backend.GetUser(ctx, userID); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]storage.Permission{}, m.userPerms[userID]...), nil
}

// UserScopes returns the scopes of audience the user holds, directly or
// through roles.
func (m *MemAuthz) UserScopes(_ context.Context, userID, audience string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	all := slices.Clone(m.userPerms[userID])
	for _, r := range m.userRoles[userID] {
		all = addPerms(all, m.rolePerms[r])
	}
	var out []string
	for _, p := range all {
		if p.Audience == audience && !slices.Contains(out, p.Scope) {
			out = append(out, p.Scope)
		}
	}
	slices.Sort(out)
	return out, nil
}
