package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in version order.
func migrations() ([]storage.Migration, error) {
	return storage.ReadMigrations(migrationFiles, "migrations")
}

// LatestSchemaVersion returns the version of the newest embedded migration:
// the schema version this binary migrates to.
func LatestSchemaVersion() (int, error) {
	ms, err := migrations()
	if err != nil {
		return 0, err
	}
	if len(ms) == 0 {
		return 0, nil
	}
	return ms[len(ms)-1].Version, nil
}

// Migrate applies the embedded migrations that the schema lacks and reports
// how many it applied. It is idempotent, and safe when several processes
// migrate the same schema at once: each migration runs in its own
// transaction (PostgreSQL DDL is transactional) that first takes the
// schema's migration lock and re-checks whether the migration was applied
// in the meantime.
func (s *Store) Migrate(ctx context.Context) (applied int, err error) {
	ms, err := migrations()
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		did := false
		err := s.retry(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx,
				"SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))", lockMigrate); err != nil {
				return fmt.Errorf("take migration lock: %w", err)
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version    integer     NOT NULL PRIMARY KEY,
				applied_at timestamptz NOT NULL DEFAULT now()
			)`); err != nil {
				return fmt.Errorf("create schema_migrations: %w", err)
			}
			done, err := exists(ctx, tx, "SELECT 1 FROM schema_migrations WHERE version = $1", m.Version)
			if err != nil || done {
				return err
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", m.Version); err != nil {
				return err
			}
			did = true
			return nil
		})
		if err != nil {
			return applied, fmt.Errorf("migrate: apply %s: %w", m.Name, err)
		}
		if did {
			applied++
		}
	}
	return applied, nil
}

// SchemaVersion returns the version of the newest migration applied to the
// schema, 0 if none.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var version int
	err := s.read(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx,
			"SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil || !exists {
			return err
		}
		return tx.QueryRow(ctx, "SELECT COALESCE(max(version), 0) FROM schema_migrations").Scan(&version)
	})
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return version, nil
}
