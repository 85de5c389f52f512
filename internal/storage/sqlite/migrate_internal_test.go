package sqlite

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/storagetest"
)

// TestAuthzMigration: a database of schema 12 (before 0013_authz) with
// APIs and grants, migrated on Open.
func TestAuthzMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	db, err := sql.Open("sqlite", dsn(path, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storagetest.AuthzMigrationOf(t, db, flavor, 13, func(values ...string) string {
		return `'["` + strings.Join(values, `","`) + `"]'`
	}, func() storage.Storage {
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
