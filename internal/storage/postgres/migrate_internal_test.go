package postgres

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/storagetest"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// TestAuthzMigration: a database of schema 11 (before 0012_authz) with APIs
// and grants, migrated on Open.
func TestAuthzMigration(t *testing.T) {
	dsn, _ := testutil.PostgresSchema(t, "gh_authz_")
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	storagetest.AuthzMigrationOf(t, db, flavor, 12, func(values ...string) string {
		return `'{` + strings.Join(values, ",") + `}'`
	}, func() storage.Storage {
		s, err := Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
