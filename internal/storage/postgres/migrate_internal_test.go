package postgres

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/storage/storagetest"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// TestAuthzMigration: a database of schema 11 (before 0012_authz) with APIs
// and grants, migrated on Open.
func TestAuthzMigration(t *testing.T) {
	ctx := t.Context()
	dsn, _ := testutil.PostgresSchema(t, "gh_authz_")
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	old := *flavor
	old.Migrations = storagetest.MigrationsBefore(t, flavor.Migrations, 12)
	if _, err := sqlstore.New(db, &old).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	storagetest.AuthzMigration(t, func(q string) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}, func(values ...string) string {
		return `'{` + strings.Join(values, ",") + `}'`
	}, func() storage.Storage {
		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
