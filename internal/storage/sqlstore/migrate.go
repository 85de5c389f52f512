package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// ErrSchemaTooNew is returned by Migrate for a database whose schema a
// newer gatehouse migrated: this binary does not know its tables.
var ErrSchemaTooNew = errors.New("the database schema is newer than this gatehouse")

// migrations returns the flavor's migrations in version order.
func (f *Flavor) migrations() ([]storage.Migration, error) {
	return storage.ReadMigrations(f.Migrations, "migrations")
}

// LatestSchemaVersion returns the version of the flavor's newest
// migration: the schema version this binary migrates to.
func (f *Flavor) LatestSchemaVersion() (int, error) {
	ms, err := f.migrations()
	if err != nil || len(ms) == 0 {
		return 0, err
	}
	return ms[len(ms)-1].Version, nil
}

// Migrate applies the flavor's migrations that the database lacks, each in
// its own write transaction, and reports how many it applied. It is
// idempotent, and safe when several processes migrate the same database at
// once: each migration's transaction takes the flavor's migration lock (or,
// for SQLite, begins with BEGIN IMMEDIATE) and re-checks whether the
// migration was applied in the meantime. A database whose schema is newer
// than the newest migration is refused with ErrSchemaTooNew, before
// anything is written.
func (s *Store) Migrate(ctx context.Context) (applied int, err error) {
	ms, err := s.f.migrations()
	if err != nil {
		return 0, err
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].Version
	}
	found, err := s.SchemaVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	if found > latest {
		return 0, fmt.Errorf("%w: schema version %d found, the newest this binary knows is %d: upgrade gatehouse",
			ErrSchemaTooNew, found, latest)
	}
	for _, m := range ms {
		if m.Version <= found {
			continue
		}
		did := false
		err := s.update(ctx, func(tx *sql.Tx) error {
			if s.f.MigrationLock != "" {
				if _, err := tx.ExecContext(ctx, s.f.MigrationLock); err != nil {
					return fmt.Errorf("take migration lock: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, s.f.CreateMigrationsTable); err != nil {
				return fmt.Errorf("create schema_migrations: %w", err)
			}
			done, err := exists(ctx, tx, "SELECT 1 FROM schema_migrations WHERE version = $1", m.Version)
			if err != nil || done {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
				m.Version, s.f.Time(time.Now())); err != nil {
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
		ok, err := exists(ctx, tx, s.f.HasMigrationsTable)
		if err != nil || !ok {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&version)
	})
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return version, nil
}
