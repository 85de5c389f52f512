package catalog_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to seed the schema

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/postgres"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
)

// loadSizes are the catalogs BenchmarkCatalogLoad reads: a small
// deployment's and the largest the project plans for.
var loadSizes = []int{1_000, 100_000}

// BenchmarkCatalogLoad measures Catalog.Load, the start of every instance
// and its recovery from a lost change feed: a store holding n clients with
// one secret and one grant each, as `gatehouse bench` provisions them, read
// and built into a snapshot. The rows are seeded with one INSERT … SELECT
// per table (the schema is the migrations', so the store reads them as its
// own); PostgreSQL runs when GATEHOUSE_TEST_POSTGRES is set.
func BenchmarkCatalogLoad(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		for _, n := range loadSizes {
			b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
				path := filepath.Join(b.TempDir(), "load.db")
				s, err := sqlite.Open(b.Context(), path)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				seed(b, "sqlite", "file:"+path+"?_pragma=busy_timeout(5000)", n, sqliteSeed)
				benchLoad(b, s, n)
			})
		}
	})
	b.Run("postgres", func(b *testing.B) {
		dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES")
		if dsn == "" {
			b.Skip("GATEHOUSE_TEST_POSTGRES is not set")
		}
		for _, n := range loadSizes {
			b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
				schema := "gh_bench_" + randomHex(8)
				admin, err := sql.Open("pgx", dsn)
				if err != nil {
					b.Fatal(err)
				}
				defer admin.Close()
				if _, err := admin.ExecContext(b.Context(), "CREATE SCHEMA "+schema); err != nil {
					b.Fatal(err)
				}
				defer admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
				sep := "?"
				if strings.Contains(dsn, "?") {
					sep = "&"
				}
				sdsn := dsn + sep + "search_path=" + schema
				s, err := postgres.Open(b.Context(), sdsn)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				seed(b, "pgx", sdsn, n, postgresSeed)
				benchLoad(b, s, n)
			})
		}
	})
}

// benchLoad loads the catalog of n clients from s b.N times.
func benchLoad(b *testing.B, s storage.Storage, n int) {
	c := catalog.New(s, nil, nil)
	for b.Loop() {
		if err := c.Load(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	if clients, _ := c.Snapshot().Len(); clients != n {
		b.Fatalf("loaded %d clients, want %d", clients, n)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/client")
}

// seed fills the migrated schema at dsn with n clients, each with a secret
// and a grant for one API, by running stmts (with n as their one argument).
func seed(b *testing.B, driver, dsn string, n int, stmts []string) {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.ExecContext(b.Context(), q, n); err != nil {
			b.Fatalf("seed: %v\n%s", err, q)
		}
	}
}

func randomHex(n int) string {
	p := make([]byte, n)
	_, _ = rand.Read(p)
	return hex.EncodeToString(p)
}

var sqliteSeed = []string{
	`INSERT INTO apis (identifier, name, scopes, token_lifetime, signing_alg, token_dialect, created_at)
	 SELECT 'https://es256.bench', 'gatehouse bench', '[{"value":"read:things","description":""}]', 3600, 'ES256', 'rfc9068', 1700000000000000
	 WHERE $1 > 0`,
	`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1)
	 INSERT INTO clients (client_id, name, description, app_type, grant_types, disabled, created_at, updated_at)
	 SELECT printf('Uh9kPT2EyqB1BvhORqYo6ZM%09d', i), printf('bench-%06d', i), 'created by gatehouse bench', 'non_interactive',
	        '["client_credentials"]', 0, 1700000000000000 + i, 1700000000000000 + i FROM n`,
	`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1)
	 INSERT INTO client_secrets (id, client_id, hash_alg, hash, hint, created_at)
	 SELECT printf('sec_g5WT7y7ePXN%09d', i), printf('Uh9kPT2EyqB1BvhORqYo6ZM%09d', i), 'sha256', zeroblob(32), 'gths_…R_jA',
	        1700000000000000 + i FROM n`,
	`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1)
	 INSERT INTO client_grants (id, client_id, audience, scope, created_at)
	 SELECT printf('cgr_liFtsx25m%07d', i), printf('Uh9kPT2EyqB1BvhORqYo6ZM%09d', i), 'https://es256.bench', '["read:things"]',
	        1700000000000000 + i FROM n`,
}

var postgresSeed = []string{
	`INSERT INTO apis (identifier, name, scopes, token_lifetime, signing_alg, token_dialect, created_at)
	 SELECT 'https://es256.bench', 'gatehouse bench', '[{"value":"read:things","description":""}]', 3600, 'ES256', 'rfc9068', now()
	 WHERE $1::int > 0`,
	`INSERT INTO clients (client_id, name, description, app_type, grant_types, disabled, created_at, updated_at)
	 SELECT format('Uh9kPT2EyqB1BvhORqYo6ZM%s', lpad(i::text, 9, '0')), format('bench-%s', lpad(i::text, 6, '0')),
	        'created by gatehouse bench', 'non_interactive', ARRAY['client_credentials'], false,
	        now() + i * interval '1 microsecond', now() + i * interval '1 microsecond'
	 FROM generate_series(0, $1::int - 1) AS i`,
	`INSERT INTO client_secrets (id, client_id, hash_alg, hash, hint, created_at)
	 SELECT format('sec_g5WT7y7ePXN%s', lpad(i::text, 9, '0')), format('Uh9kPT2EyqB1BvhORqYo6ZM%s', lpad(i::text, 9, '0')),
	        'sha256', decode(repeat('00', 32), 'hex'), 'gths_…R_jA', now() + i * interval '1 microsecond'
	 FROM generate_series(0, $1::int - 1) AS i`,
	`INSERT INTO client_grants (id, client_id, audience, scope, created_at)
	 SELECT format('cgr_liFtsx25m%s', lpad(i::text, 7, '0')), format('Uh9kPT2EyqB1BvhORqYo6ZM%s', lpad(i::text, 9, '0')),
	        'https://es256.bench', ARRAY['read:things'], now() + i * interval '1 microsecond'
	 FROM generate_series(0, $1::int - 1) AS i`,
}
