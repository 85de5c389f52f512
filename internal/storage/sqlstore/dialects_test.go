package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/postgres"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlstore"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// store is what the dialects' Stores add to the contract.
type store interface {
	storage.Storage
	Migrate(ctx context.Context) (int, error)
	SchemaVersion(ctx context.Context) (int, error)
	DB() *sql.DB
}

// dialect opens Stores of one dialect.
type dialect struct {
	name string
	// latest is the newest migration's version.
	latest func() (int, error)
	// newDatabase makes a new, empty database for t (or skips t) and
	// returns the opener of Stores on it.
	newDatabase func(t testing.TB) func(ctx context.Context) (store, error)
}

var dialects = []dialect{
	{"sqlite", sqlite.LatestSchemaVersion, func(t testing.TB) func(ctx context.Context) (store, error) {
		path := filepath.Join(t.TempDir(), "g.db")
		return func(ctx context.Context) (store, error) { return sqlite.Open(ctx, path) }
	}},
	{"postgres", postgres.LatestSchemaVersion, func(t testing.TB) func(ctx context.Context) (store, error) {
		dsn, _ := testutil.PostgresSchema(t, "gh_test_")
		return func(ctx context.Context) (store, error) { return postgres.Open(ctx, dsn) }
	}},
}

// forEach runs test once per dialect, each a subtest.
func forEach(t *testing.T, test func(t *testing.T, d dialect)) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) { test(t, d) })
	}
}

// mustOpen opens a Store, closed when t ends.
func mustOpen(t testing.TB, open func(ctx context.Context) (store, error)) store {
	t.Helper()
	s, err := open(t.Context())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestMigrate(t *testing.T) {
	forEach(t, func(t *testing.T, d dialect) {
		ctx := t.Context()
		latest, err := d.latest()
		if err != nil || latest < 1 {
			t.Fatalf("LatestSchemaVersion = %d, %v; want >= 1", latest, err)
		}
		open := d.newDatabase(t)
		s1 := mustOpen(t, open)
		if v, err := s1.SchemaVersion(ctx); err != nil || v != latest {
			t.Fatalf("SchemaVersion after Open = %d, %v; want %d", v, err, latest)
		}
		if n, err := s1.Migrate(ctx); err != nil || n != 0 {
			t.Errorf("Migrate on a migrated database = %d, %v; want 0, nil", n, err)
		}
		s2 := mustOpen(t, open)
		if v, err := s2.SchemaVersion(ctx); err != nil || v != latest {
			t.Errorf("SchemaVersion of a second Store = %d, %v; want %d", v, err, latest)
		}
		if n, err := s2.Migrate(ctx); err != nil || n != 0 {
			t.Errorf("Migrate of a second Store = %d, %v; want 0, nil", n, err)
		}
	})
}

func TestConcurrentOpen(t *testing.T) {
	// Instances starting at once on an empty database: one applies each
	// migration, the others wait for its lock and find it applied.
	forEach(t, func(t *testing.T, d dialect) {
		ctx := t.Context()
		open := d.newDatabase(t)
		const n = 4
		stores := make([]store, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { stores[i], errs[i] = open(ctx) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("Open #%d: %v", i, errs[i])
			}
			t.Cleanup(func() { _ = stores[i].Close() })
		}
		latest, _ := d.latest()
		for i, s := range stores {
			if v, err := s.SchemaVersion(ctx); err != nil || v != latest {
				t.Errorf("store #%d: SchemaVersion = %d, %v; want %d", i, v, err, latest)
			}
		}
		// Each migration applied once: as many rows as versions, the newest
		// the latest (the numbers may have gaps: each branch of work takes
		// its own).
		var rows, distinct, newest int
		if err := stores[0].DB().QueryRowContext(ctx, "SELECT count(*), count(DISTINCT version), max(version) FROM schema_migrations").
			Scan(&rows, &distinct, &newest); err != nil || rows != distinct || newest != latest {
			t.Errorf("schema_migrations rows = %d, distinct versions %d, newest %d, %v; want no repeat and newest %d", rows, distinct, newest, err, latest)
		}
	})
}

func TestRefusesNewerSchema(t *testing.T) {
	// A database a newer gatehouse migrated: this binary does not know its
	// tables, refuses it before writing anything, and says in one line
	// which version it found and which it knows.
	forEach(t, func(t *testing.T, d dialect) {
		ctx := t.Context()
		open := d.newDatabase(t)
		s := mustOpen(t, open)
		latest, _ := d.latest()
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at)
			SELECT $1, applied_at FROM schema_migrations WHERE version = 1`, latest+1); err != nil {
			t.Fatal(err)
		}
		_, migrateErr := s.Migrate(ctx)
		reopened, openErr := open(ctx)
		if openErr == nil {
			_ = reopened.Close()
		}
		for name, err := range map[string]error{"Migrate": migrateErr, "Open": openErr} {
			if !errors.Is(err, sqlstore.ErrSchemaTooNew) {
				t.Fatalf("%s of a newer schema: %v, want ErrSchemaTooNew", name, err)
			}
			msg := err.Error()
			if want := fmt.Sprintf("schema version %d found, the newest this binary knows is %d", latest+1, latest); !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
				t.Errorf("%s: error %q, want one line with %q", name, msg, want)
			}
		}
		if v, err := s.SchemaVersion(ctx); err != nil || v != latest+1 {
			t.Errorf("SchemaVersion after the refusal = %d, %v; want %d (nothing changed)", v, err, latest+1)
		}
	})
}

// BenchmarkTouchSecrets is one flush of last-use times: a batch of 10,000
// secrets (of 20,000), each moved forward, as after 5 s of load.
func BenchmarkTouchSecrets(b *testing.B) {
	for _, d := range dialects {
		b.Run(d.name, func(b *testing.B) {
			s := mustOpen(b, d.newDatabase(b))
			ctx := b.Context()
			const total, batch = 20_000, 10_000
			now := time.Now().UTC().Truncate(time.Second)
			secrets := make([]storage.Secret, total)
			for i := range secrets {
				secrets[i] = storage.Secret{ID: fmt.Sprintf("sec-%06d", i), HashAlg: storage.SecretHashSHA256, Hash: make([]byte, 32), CreatedAt: now}
			}
			if err := s.CreateClient(ctx, storage.Client{ClientID: "c", Name: "c", AppType: storage.AppTypeNonInteractive,
				GrantTypes: []string{storage.GrantClientCredentials}, CreatedAt: now, UpdatedAt: now}, secrets...); err != nil {
				b.Fatal(err)
			}
			n := 0
			for b.Loop() {
				n++
				m := make(map[string]time.Time, batch)
				for i := range batch {
					m[fmt.Sprintf("sec-%06d", (i*2+n)%total)] = now.Add(time.Duration(n) * time.Second)
				}
				if err := s.TouchSecrets(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/batch, "ns/secret")
		})
	}
}
