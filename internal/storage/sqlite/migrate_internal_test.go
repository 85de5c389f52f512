package sqlite

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/storage/storagetest"
)

// TestAuthzMigration: a database of schema 12 (before 0013_authz) with
// APIs and grants, migrated on Open.
func TestAuthzMigration(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "g.db")
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old := *flavor
	old.Migrations = storagetest.MigrationsBefore(t, flavor.Migrations, 13)
	if _, err := sqlstore.New(db, &old).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	storagetest.AuthzMigration(t, func(q string) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}, func(values ...string) string {
		return `'["` + strings.Join(values, `","`) + `"]'`
	}, func() storage.Storage {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
