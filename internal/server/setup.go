package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/postgres"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
)

// LatestSchemaVersions returns, per backend, the schema version this binary
// migrates to: the number of its newest embedded migration.
func LatestSchemaVersions() (sqliteVersion, postgresVersion int, err error) {
	if sqliteVersion, err = sqlite.LatestSchemaVersion(); err != nil {
		return 0, 0, err
	}
	if postgresVersion, err = postgres.LatestSchemaVersion(); err != nil {
		return 0, 0, err
	}
	return sqliteVersion, postgresVersion, nil
}

// Store is what gatehouse needs of a backend: the storage contract plus
// schema migrations.
type Store interface {
	storage.Storage
	Migrate(ctx context.Context) (int, error)
	SchemaVersion(ctx context.Context) (int, error)
}

var (
	_ Store = (*sqlite.Store)(nil)
	_ Store = (*postgres.Store)(nil)
	// The catalog syncs as soon as PostgreSQL announces a change.
	_ catalog.Notifier = (*postgres.Store)(nil)
)

// OpenStorage opens the database a DSN names — sqlite:PATH or a
// postgres:// URL — and brings its schema up to date.
func OpenStorage(ctx context.Context, cfg config.Config) (Store, error) {
	return OpenStorageWith(ctx, cfg, sqlite.Options{})
}

// OpenStorageWith is OpenStorage with the options of a SQLite database
// (serve's: without automatic checkpoints, which package checkpointer runs).
func OpenStorageWith(ctx context.Context, cfg config.Config, o sqlite.Options) (Store, error) {
	if dsn, ok := cfg.PostgresDSN(); ok {
		s, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, err // it names host, port and database, never the password
		}
		return s, nil
	}
	path, ok := cfg.SQLitePath()
	if !ok {
		return nil, fmt.Errorf("unsupported database %q: use sqlite:PATH or a postgres:// URL", config.RedactDSN(cfg.DB))
	}
	if dir := filepath.Dir(path); dir != "." {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("database directory %s: %w", dir, err)
		}
	}
	// The database holds secret digests and encrypted keys: create it
	// private to its owner (SQLite gives -wal and -shm the same mode).
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		_ = f.Close()
	}
	s, err := sqlite.OpenWith(ctx, path, o)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return s, nil
}

// MasterKeyFilePath is where the embedded default keeps its master key: a
// file beside the SQLite database.
func MasterKeyFilePath(cfg config.Config) (string, bool) {
	path, ok := cfg.SQLitePath()
	if !ok {
		return "", false
	}
	return path + ".key", true
}

// MasterKey resolves the key that encrypts signing keys at rest: the
// GATEHOUSE_MASTER_KEY environment variable, else --master-key-file, else the
// key file beside a SQLite database, which is created (mode 0600) when it does
// not exist yet and create is set. A PostgreSQL database has no such file:
// there, one of the first two is required, and every instance must be given
// the same key.
func MasterKey(cfg config.Config, log *slog.Logger, create bool) ([]byte, error) {
	switch {
	case cfg.MasterKey != "":
		k, err := keys.ParseMasterKey(cfg.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", config.EnvMasterKey, err)
		}
		return k, nil
	case cfg.MasterKeyFile != "":
		k, err := keys.LoadKeyFile(cfg.MasterKeyFile)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("master key file %s does not exist: create one with `gatehouse key generate-master --output %s`, or set %s",
				cfg.MasterKeyFile, cfg.MasterKeyFile, config.EnvMasterKey)
		}
		return k, err
	}
	if _, ok := cfg.PostgresDSN(); ok {
		return nil, fmt.Errorf("no master key: with PostgreSQL set %s or --master-key-file to the same key on every instance (`gatehouse key generate-master` makes one)", config.EnvMasterKey)
	}
	path, ok := MasterKeyFilePath(cfg)
	if !ok {
		return nil, fmt.Errorf("no master key: set %s or --master-key-file (`gatehouse key generate-master` makes one)", config.EnvMasterKey)
	}
	k, err := keys.LoadKeyFile(path)
	if err == nil {
		return k, nil
	}
	if errors.Is(err, fs.ErrNotExist) && !create {
		return nil, fmt.Errorf("no master key: the database's key file %s does not exist; set %s or --master-key-file to the key the server uses (a new key could not read the signing keys stored)",
			path, config.EnvMasterKey)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	k, err = keys.CreateKeyFile(path, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create master key file: %w", err)
	}
	log.Warn("created a master key file beside the database; back it up with the database, or set "+config.EnvMasterKey+" in production", "path", path, "mode", "0600")
	return k, nil
}
