package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// The access policies of APIs, the subject types of grants, roles and
// permissions (storage.Authz).

// testAPIPolicies: an API's user and client policies and enforce_policies
// round-trip and change; "" is stored as require_client_grant.
func testAPIPolicies(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	open, closed, plain := newAPI(apiA), newAPI(apiB), newAPI("https://c.example.com/")
	open.UserPolicy, open.EnforcePolicies, open.TokenDialect = storage.PolicyAllowAll, true, storage.DialectAuth0Authz
	closed.UserPolicy, closed.ClientPolicy = storage.PolicyDenyAll, storage.PolicyDenyAll
	for _, a := range []storage.API{open, closed, plain} {
		must(t, "CreateAPI", s.CreateAPI(ctx, a))
	}
	got := get[[]storage.API](t, "ListAPIs")(s.ListAPIs(ctx))
	sameAPIs(t, "ListAPIs", got, open, closed, plain)
	if p := got[2]; p.UserPolicy != storage.PolicyRequireClientGrant || p.ClientPolicy != storage.PolicyRequireClientGrant {
		t.Errorf("an API created without policies reads back %q/%q, want require_client_grant", p.UserPolicy, p.ClientPolicy)
	}
	open.UserPolicy, open.EnforcePolicies, open.TokenDialect = storage.PolicyRequireClientGrant, false, storage.DialectRFC9068
	closed.UserPolicy, closed.ClientPolicy = storage.PolicyAllowAll, storage.PolicyRequireClientGrant
	must(t, "UpdateAPI", s.UpdateAPI(ctx, open))
	must(t, "UpdateAPI", s.UpdateAPI(ctx, closed))
	sameAPIs(t, "GetAPI after update", []storage.API{get[storage.API](t, "GetAPI")(s.GetAPI(ctx, apiA))}, open)
	sameAPIs(t, "GetAPI after update", []storage.API{get[storage.API](t, "GetAPI")(s.GetAPI(ctx, apiB))}, closed)
}

// testGrantSubjectTypes: a client may hold one grant of each subject type
// for an API; ListGrants filters by subject type; "" is stored as client.
func testGrantSubjectTypes(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	seed(t, ctx, s) // g1: c1's client grant for apiA (subject type "")
	user := newGrant("g3", "c1", apiA, at(5))
	user.SubjectType, user.Scope = storage.SubjectUser, []string{"read:things", "write:things"}
	before := latest(t, ctx, s)
	must(t, "CreateGrant(user)", s.CreateGrant(ctx, user))
	if cs := changesSince(t, ctx, s, before); len(cs) != 1 || cs[0].Entity != storage.EntityClient || cs[0].ID != "c1" {
		t.Errorf("a user grant's changes %v, want one for client c1", cs)
	}
	again := newGrant("g4", "c1", apiA, at(6))
	again.SubjectType = storage.SubjectUser
	wantErr(t, "a second user grant for the pair", s.CreateGrant(ctx, again), storage.ErrAlreadyExists)
	clientAgain := newGrant("g5", "c1", apiA, at(6))
	clientAgain.SubjectType = storage.SubjectClient
	wantErr(t, "a second client grant for the pair", s.CreateGrant(ctx, clientAgain), storage.ErrAlreadyExists)

	g1 := newGrant("g1", "c1", apiA, at(3))
	sameGrants(t, "GetGrant(user)", []storage.Grant{get[storage.Grant](t, "GetGrant")(s.GetGrant(ctx, "g3"))}, user)
	if g := get[storage.Grant](t, "GetGrant")(s.GetGrant(ctx, "g1")); g.SubjectType != storage.SubjectClient {
		t.Errorf("a grant created without a subject type reads back %q, want client", g.SubjectType)
	}
	sameGrants(t, "ListGrants(c1)", get[[]storage.Grant](t, "ListGrants")(s.ListGrants(ctx, storage.GrantFilter{ClientID: "c1"})), g1, user)
	sameGrants(t, "ListGrants(user)", get[[]storage.Grant](t, "ListGrants")(s.ListGrants(ctx, storage.GrantFilter{SubjectType: storage.SubjectUser})), user)
	sameGrants(t, "ListGrants(client, apiA)", get[[]storage.Grant](t, "ListGrants")(
		s.ListGrants(ctx, storage.GrantFilter{Audience: apiA, SubjectType: storage.SubjectClient})), g1, newGrant("g2", "c2", apiA, at(4)))
	must(t, "UpdateGrant", s.UpdateGrant(ctx, "g3", []string{"read:things"}))
	if g := get[storage.Grant](t, "GetGrant")(s.GetGrant(ctx, "g3")); g.SubjectType != storage.SubjectUser || !slices.Equal(g.Scope, []string{"read:things"}) {
		t.Errorf("after UpdateGrant: %+v", g)
	}
}

func newRole(id, name string, created int) storage.Role {
	return storage.Role{ID: id, Name: name, Description: "the " + name + " role", CreatedAt: at(created), UpdatedAt: at(created)}
}

func sameRoles(t *testing.T, what string, got []storage.Role, want ...storage.Role) {
	t.Helper()
	same(t, what, got, want, func(r storage.Role) storage.Role {
		r.CreatedAt, r.UpdatedAt = normTime(r.CreatedAt), normTime(r.UpdatedAt)
		return r
	}, func(r storage.Role) []time.Time { return []time.Time{r.CreatedAt, r.UpdatedAt} })
}

func samePerms(t *testing.T, what string, got []storage.Permission, want ...storage.Permission) {
	t.Helper()
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// authzOf is the store's Authz part.
func authzOf(s storage.Storage) storage.Authz { return s }

// testRoles: create, read, rename and delete roles, with their sentinels;
// role writes append nothing to the change feed.
func testRoles(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	a := authzOf(s)
	viewer, admin := newRole("r1", "viewer", 1), newRole("r2", "admin", 2)
	must(t, "CreateRole", a.CreateRole(ctx, viewer))
	must(t, "CreateRole", a.CreateRole(ctx, admin))
	wantErr(t, "CreateRole(taken ID)", a.CreateRole(ctx, newRole("r1", "other", 3)), storage.ErrAlreadyExists)
	wantErr(t, "CreateRole(taken name)", a.CreateRole(ctx, newRole("r3", "viewer", 3)), storage.ErrAlreadyExists)
	sameRoles(t, "ListRoles (by name)", get[[]storage.Role](t, "ListRoles")(a.ListRoles(ctx)), admin, viewer)
	sameRoles(t, "GetRole", []storage.Role{get[storage.Role](t, "GetRole")(a.GetRole(ctx, "r1"))}, viewer)
	_, err := a.GetRole(ctx, "r9")
	wantErr(t, "GetRole(missing)", err, storage.ErrNotFound)

	viewer.Name, viewer.Description, viewer.UpdatedAt = "reader", "", at(5)
	must(t, "UpdateRole", a.UpdateRole(ctx, viewer))
	sameRoles(t, "GetRole after update", []storage.Role{get[storage.Role](t, "GetRole")(a.GetRole(ctx, "r1"))}, viewer)
	clash := viewer
	clash.Name = "admin"
	wantErr(t, "UpdateRole(taken name)", a.UpdateRole(ctx, clash), storage.ErrAlreadyExists)
	wantErr(t, "UpdateRole(missing)", a.UpdateRole(ctx, newRole("r9", "x", 1)), storage.ErrNotFound)
	must(t, "DeleteRole", a.DeleteRole(ctx, "r2"))
	wantErr(t, "DeleteRole(missing)", a.DeleteRole(ctx, "r2"), storage.ErrNotFound)
	sameRoles(t, "ListRoles after delete", get[[]storage.Role](t, "ListRoles")(a.ListRoles(ctx)), viewer)
	if n := latest(t, ctx, s); n != 0 {
		t.Errorf("role writes appended %d changes, want none", n)
	}
}

// testPermissions: roles' and users' permissions, users' roles, what a
// user holds for an API, the cascades of deleting a role or an API, and
// that a failed write changes nothing.
func testPermissions(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	a := authzOf(s)
	must(t, "CreateAPI", s.CreateAPI(ctx, newAPI(apiA)))
	must(t, "CreateAPI", s.CreateAPI(ctx, newAPI(apiB)))
	must(t, "CreateUser", s.CreateUser(ctx, newUser("u1", "one@example.com", 1)))
	must(t, "CreateUser", s.CreateUser(ctx, newUser("u2", "two@example.com", 2)))
	must(t, "CreateRole", a.CreateRole(ctx, newRole("r1", "viewer", 1)))
	must(t, "CreateRole", a.CreateRole(ctx, newRole("r2", "writer", 2)))
	readA, writeA, readB := storage.Permission{Audience: apiA, Scope: "read:things"}, storage.Permission{Audience: apiA, Scope: "write:things"},
		storage.Permission{Audience: apiB, Scope: "read:things"}
	missingAPI := storage.Permission{Audience: "https://missing.example.com/", Scope: "read:things"}

	must(t, "AddRolePermissions", a.AddRolePermissions(ctx, "r1", readB, readA))
	must(t, "AddRolePermissions (again)", a.AddRolePermissions(ctx, "r1", readA))
	must(t, "AddRolePermissions", a.AddRolePermissions(ctx, "r2", writeA, readA))
	wantErr(t, "AddRolePermissions(missing role)", a.AddRolePermissions(ctx, "r9", readA), storage.ErrNotFound)
	wantErr(t, "AddRolePermissions(missing API)", a.AddRolePermissions(ctx, "r1", writeA, missingAPI), storage.ErrNotFound)
	samePerms(t, "ListRolePermissions(r1)", get[[]storage.Permission](t, "ListRolePermissions")(a.ListRolePermissions(ctx, "r1")), readA, readB)
	_, err := a.ListRolePermissions(ctx, "r9")
	wantErr(t, "ListRolePermissions(missing)", err, storage.ErrNotFound)

	must(t, "AssignRoles", a.AssignRoles(ctx, "u1", "r1", "r2"))
	must(t, "AssignRoles (again)", a.AssignRoles(ctx, "u1", "r1"))
	must(t, "AssignRoles", a.AssignRoles(ctx, "u2", "r1"))
	wantErr(t, "AssignRoles(missing user)", a.AssignRoles(ctx, "u9", "r1"), storage.ErrNotFound)
	wantErr(t, "AssignRoles(a missing role)", a.AssignRoles(ctx, "u2", "r2", "r9"), storage.ErrNotFound)
	sameRoles(t, "ListUserRoles(u2) after a failed AssignRoles", get[[]storage.Role](t, "ListUserRoles")(a.ListUserRoles(ctx, "u2")), newRole("r1", "viewer", 1))
	sameRoles(t, "ListUserRoles(u1)", get[[]storage.Role](t, "ListUserRoles")(a.ListUserRoles(ctx, "u1")), newRole("r1", "viewer", 1), newRole("r2", "writer", 2))
	_, err = a.ListUserRoles(ctx, "u9")
	wantErr(t, "ListUserRoles(missing)", err, storage.ErrNotFound)
	if got := get[[]string](t, "ListRoleUsers")(a.ListRoleUsers(ctx, "r1")); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Errorf("ListRoleUsers(r1) = %v", got)
	}
	_, err = a.ListRoleUsers(ctx, "r9")
	wantErr(t, "ListRoleUsers(missing)", err, storage.ErrNotFound)

	must(t, "AddUserPermissions", a.AddUserPermissions(ctx, "u2", writeA))
	wantErr(t, "AddUserPermissions(missing user)", a.AddUserPermissions(ctx, "u9", writeA), storage.ErrNotFound)
	wantErr(t, "AddUserPermissions(missing API)", a.AddUserPermissions(ctx, "u2", readB, missingAPI), storage.ErrNotFound)
	samePerms(t, "ListUserPermissions(u2)", get[[]storage.Permission](t, "ListUserPermissions")(a.ListUserPermissions(ctx, "u2")), writeA)
	_, err = a.ListUserPermissions(ctx, "u9")
	wantErr(t, "ListUserPermissions(missing)", err, storage.ErrNotFound)

	scopes := func(user, aud string) []string {
		t.Helper()
		return get[[]string](t, "UserScopes")(a.UserScopes(ctx, user, aud))
	}
	for _, tc := range []struct {
		user, aud string
		want      []string
	}{
		{"u1", apiA, []string{"read:things", "write:things"}}, // both roles, read:things once
		{"u1", apiB, []string{"read:things"}},
		{"u2", apiA, []string{"read:things", "write:things"}}, // a role and a direct permission
		{"u9", apiA, nil},
		{"u1", "https://missing.example.com/", nil},
	} {
		if got := scopes(tc.user, tc.aud); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("UserScopes(%s, %s) = %v, want %v", tc.user, tc.aud, got, tc.want)
		}
	}

	must(t, "UnassignRoles", a.UnassignRoles(ctx, "u1", "r2", "r9"))
	must(t, "RemoveRolePermissions", a.RemoveRolePermissions(ctx, "r1", readB, writeA))
	must(t, "RemoveUserPermissions", a.RemoveUserPermissions(ctx, "u2", writeA, readB))
	wantErr(t, "UnassignRoles(missing user)", a.UnassignRoles(ctx, "u9", "r1"), storage.ErrNotFound)
	wantErr(t, "RemoveRolePermissions(missing role)", a.RemoveRolePermissions(ctx, "r9", readA), storage.ErrNotFound)
	wantErr(t, "RemoveUserPermissions(missing user)", a.RemoveUserPermissions(ctx, "u9", readA), storage.ErrNotFound)
	if got := scopes("u1", apiA); !slices.Equal(got, []string{"read:things"}) {
		t.Errorf("UserScopes(u1, apiA) after removals = %v", got)
	}
	if got := scopes("u1", apiB); len(got) != 0 {
		t.Errorf("UserScopes(u1, apiB) after removals = %v", got)
	}

	// Deleting a role takes its permissions from its users; deleting an API
	// takes every permission for it.
	must(t, "AddUserPermissions", a.AddUserPermissions(ctx, "u1", readB))
	must(t, "DeleteRole", a.DeleteRole(ctx, "r1"))
	if got := scopes("u2", apiA); len(got) != 0 {
		t.Errorf("UserScopes(u2, apiA) after its role was deleted = %v", got)
	}
	if rs := get[[]storage.Role](t, "ListUserRoles")(a.ListUserRoles(ctx, "u2")); len(rs) != 0 {
		t.Errorf("u2 still holds %v", rs)
	}
	must(t, "AddRolePermissions", a.AddRolePermissions(ctx, "r2", readB))
	must(t, "DeleteAPI", s.DeleteAPI(ctx, apiB))
	samePerms(t, "ListUserPermissions(u1) after DeleteAPI", get[[]storage.Permission](t, "ListUserPermissions")(a.ListUserPermissions(ctx, "u1")))
	samePerms(t, "ListRolePermissions(r2) after DeleteAPI", get[[]storage.Permission](t, "ListRolePermissions")(a.ListRolePermissions(ctx, "r2")), readA, writeA)
	must(t, "CreateAPI again", s.CreateAPI(ctx, newAPI(apiB)))
	if got := scopes("u1", apiB); len(got) != 0 {
		t.Errorf("an API created again with a deleted one's identifier brings back %v", got)
	}
}
