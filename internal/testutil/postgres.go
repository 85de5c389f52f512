package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment that selects the PostgreSQL server of the tests.
const (
	// EnvPostgres names the test server's DSN.
	EnvPostgres = "GATEHOUSE_TEST_POSTGRES"
	// EnvRequirePostgres, set to 1, fails a PostgreSQL test that finds no
	// server instead of skipping it (CI sets it).
	EnvRequirePostgres = "GATEHOUSE_REQUIRE_POSTGRES"
	// DefaultPostgresDSN is where a test looks for a server when
	// EnvPostgres is not set: the development setup's.
	DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// probeTimeout bounds the connection attempt to DefaultPostgresDSN.
const probeTimeout = time.Second

var defaultPostgres = sync.OnceValues(func() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, DefaultPostgresDSN)
	if err != nil {
		return "", err
	}
	_ = conn.Close(ctx)
	return DefaultPostgresDSN, nil
})

// PostgresDSN returns the DSN of the PostgreSQL server for t: the value of
// GATEHOUSE_TEST_POSTGRES, else DefaultPostgresDSN if a server answers
// there within a second (asked once per test binary). Without either, t
// is skipped with the reason, or fails if GATEHOUSE_REQUIRE_POSTGRES=1. A
// DSN from the environment is returned as it is: a test that then cannot
// reach the server fails, it does not skip.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	if dsn := os.Getenv(EnvPostgres); dsn != "" {
		return dsn
	}
	dsn, err := defaultPostgres()
	if err == nil {
		return dsn
	}
	if os.Getenv(EnvRequirePostgres) == "1" {
		t.Fatalf("%s=1 but %s is empty and no server answers at %s: %v", EnvRequirePostgres, EnvPostgres, DefaultPostgresDSN, err)
	}
	SkipSuite(t, fmt.Sprintf("no PostgreSQL: %s is not set and no server answers at %s within %s (%v)", EnvPostgres, DefaultPostgresDSN, probeTimeout, err))
	return ""
}

// PostgresSchema creates a schema of its own for t in the test PostgreSQL
// (PostgresDSN's, so t may be skipped), named prefix and 16 random hex
// digits, dropped with everything in it when t ends, and returns a DSN
// whose connections use it (search_path) and the schema's name. A server
// that cannot be reached fails t.
func PostgresSchema(t testing.TB, prefix string) (dsn, schema string) {
	t.Helper()
	base := PostgresDSN(t)
	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, sql)
		return err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema = prefix + hex.EncodeToString(b)
	if err := exec("CREATE SCHEMA " + pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema %s in the test PostgreSQL: %v", schema, err)
	}
	t.Cleanup(func() {
		if err := exec("DROP SCHEMA " + pgx.Identifier{schema}.Sanitize() + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema, schema
}
