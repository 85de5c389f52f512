package storagetest

import (
	"database/sql"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlstore"
)

// AuthzMigrationOf runs AuthzMigration on db, which speaks flavor f: it
// migrates db to the schema before migration version, fills it, and opens
// it with open, which migrates the rest.
func AuthzMigrationOf(t *testing.T, db *sql.DB, f *sqlstore.Flavor, version int, list func(values ...string) string, open func() storage.Storage) {
	t.Helper()
	ctx := t.Context()
	old := *f
	old.Migrations = migrationsBefore(t, f.Migrations, version)
	if _, err := sqlstore.New(db, &old).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	AuthzMigration(t, func(q string) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}, list, open)
}

// migrationsBefore returns the migrations of f (in its folder migrations/)
// older than version.
func migrationsBefore(t *testing.T, f fs.FS, version int) fs.FS {
	t.Helper()
	ms, err := storage.ReadMigrations(f, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, m := range ms {
		if m.Version < version {
			out["migrations/"+m.Name] = &fstest.MapFile{Data: []byte(m.SQL)}
		}
	}
	return out
}

// AuthzMigration checks the migration that brings access policies, grant
// subject types, roles and permissions to a database (docs/authorization.md):
// exec runs a statement on the database at the schema just before it, list
// writes a list literal of the dialect, and open opens the database, which
// migrates it. Every existing API takes require_client_grant for people
// but the built-in management API, deny_all; every existing grant is a
// client's own and keeps what it had; a user grant may then join it.
func AuthzMigration(t *testing.T, exec func(query string), list func(values ...string) string, open func() storage.Storage) {
	ctx := t.Context()
	const (
		api   = "https://api.example.com/"
		mgmt  = "https://id.example.com/api/v2/"
		other = "https://other.example.com/api/v2/" // not gatehouse's: its name says so
	)
	for _, a := range [][2]string{{api, "Orders"}, {mgmt, "gatehouse Management API"}, {other, "Their API, version 2"}} {
		exec(`INSERT INTO apis (identifier, name, scopes, token_lifetime, signing_alg, token_dialect)
			VALUES ('` + a[0] + `', '` + a[1] + `', '[{"value":"read","description":"Read"}]', 60, 'RS256', 'rfc9068')`)
	}
	exec(`INSERT INTO clients (client_id, name, description, app_type, grant_types, disabled)
		VALUES ('c1', 'web', '', 'regular_web', ` + list("authorization_code") + `, false)`)
	exec(`INSERT INTO client_grants (id, client_id, audience, scope) VALUES ('g1', 'c1', '` + api + `', ` + list("read") + `)`)
	exec(`INSERT INTO client_grants (id, client_id, audience, scope) VALUES ('g2', 'c1', '` + mgmt + `', ` + list("read") + `)`)

	s := open()
	for id, want := range map[string]string{api: storage.PolicyRequireClientGrant, mgmt: storage.PolicyDenyAll, other: storage.PolicyRequireClientGrant} {
		a := get[storage.API](t, "GetAPI")(s.GetAPI(ctx, id))
		if a.UserPolicy != want || a.ClientPolicy != storage.PolicyRequireClientGrant || a.EnforcePolicies || a.Name == "" || len(a.Scopes) != 1 {
			t.Errorf("migrated API %s: %+v, want user policy %s", id, a, want)
		}
	}
	g1, g2 := storage.Grant{ID: "g1", ClientID: "c1", Audience: api, Scope: []string{"read"}, SubjectType: storage.SubjectClient},
		storage.Grant{ID: "g2", ClientID: "c1", Audience: mgmt, Scope: []string{"read"}, SubjectType: storage.SubjectClient}
	sameGrants(t, "migrated grants", get[[]storage.Grant](t, "ListGrants")(s.ListGrants(ctx, storage.GrantFilter{ClientID: "c1"})), g1, g2)
	user := storage.Grant{ID: "g3", ClientID: "c1", Audience: api, Scope: []string{"read"}, SubjectType: storage.SubjectUser, CreatedAt: at(1)}
	must(t, "CreateGrant(user) beside a migrated client grant", s.CreateGrant(ctx, user))
	again := storage.Grant{ID: "g4", ClientID: "c1", Audience: api, CreatedAt: at(2)}
	wantErr(t, "a second client grant after the migration", s.CreateGrant(ctx, again), storage.ErrAlreadyExists)
	// The rebuilt grants still follow their API out.
	must(t, "DeleteAPI", s.DeleteAPI(ctx, api))
	sameGrants(t, "grants after DeleteAPI", get[[]storage.Grant](t, "ListGrants")(s.ListGrants(ctx, storage.GrantFilter{ClientID: "c1"})), g2)
	must(t, "CreateRole", s.CreateRole(ctx, newRole("r1", "viewer", 1)))
	must(t, "AddRolePermissions", s.AddRolePermissions(ctx, "r1", storage.Permission{Audience: mgmt, Scope: "read"}))
}
