package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in version order.
func migrations() ([]storage.Migration, error) {
	return storage.ReadMigrations(migrationFiles, "migrations")
}

// Migrate applies the embedded migrations that the database lacks, each in
// its own transaction, and reports how many it applied. It is idempotent,
// and safe when several processes migrate the same file at once: each
// migration's transaction begins with BEGIN IMMEDIATE and re-checks whether
// the migration was applied in the meantime.
func (s *Store) Migrate(ctx context.Context) (applied int, err error) {
	ms, err := migrations()
	if err != nil {
		return 0, err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			applied_at INTEGER NOT NULL
		) STRICT`)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	for _, m := range ms {
		did := false
		err := s.write(ctx, func(tx *sql.Tx) error {
			done, err := exists(ctx, tx, "SELECT 1 FROM schema_migrations WHERE version = ?", m.Version)
			if err != nil || done {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx,
				"INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
				m.Version, time.Now().UnixMicro()); err != nil {
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
// database, 0 if none.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var version int
	err := s.read(ctx, func(tx *sql.Tx) error {
		ok, err := exists(ctx, tx,
			"SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'")
		if err != nil || !ok {
			return err
		}
		return tx.QueryRowContext(ctx,
			"SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&version)
	})
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return version, nil
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
