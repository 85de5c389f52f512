package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema migration.
type migration struct {
	version int
	name    string
	sql     string
}

var migrationName = regexp.MustCompile(`^(\d+)_[a-z0-9_]+\.sql$`)

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []migration
	seen := map[int]string{}
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("embedded migration %s: name is not NNNN_name.sql", e.Name())
		}
		v, err := strconv.Atoi(m[1])
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("embedded migration %s: bad version", e.Name())
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("embedded migrations %s and %s: same version %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(migrationFiles, "migrations/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("read embedded migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
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
			done, err := exists(ctx, tx, "SELECT 1 FROM schema_migrations WHERE version = ?", m.version)
			if err != nil || done {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx,
				"INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
				m.version, time.Now().UnixMicro()); err != nil {
				return err
			}
			did = true
			return nil
		})
		if err != nil {
			return applied, fmt.Errorf("migrate: apply %s: %w", m.name, err)
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
	return ms[len(ms)-1].version, nil
}
