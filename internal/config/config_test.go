package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "g.yaml")
	if err := os.WriteFile(file, []byte("addr: 127.0.0.1:7000\nissuer: https://file.example\njwks_max_age: 7m\nlog_format: json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	Bind(fs, append(Common, Serve...))
	if err := fs.Parse([]string{"--addr", "127.0.0.1:9000"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file, fs, env(map[string]string{
		"GATEHOUSE_ADDR": "127.0.0.1:8000", "GATEHOUSE_ISSUER": "https://env.example", EnvMasterKey: "k",
	}))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case c.Addr != "127.0.0.1:9000": // flag beats env and file
		t.Fatalf("addr %q", c.Addr)
	case c.Issuer != "https://env.example": // env beats file
		t.Fatalf("issuer %q", c.Issuer)
	case c.JWKSMaxAge != 7*time.Minute || c.LogFormat != "json": // file beats default
		t.Fatalf("file values %v %q", c.JWKSMaxAge, c.LogFormat)
	case c.DB != "sqlite:gatehouse.db" || c.SyncInterval != 250*time.Millisecond: // defaults
		t.Fatalf("defaults %q %v", c.DB, c.SyncInterval)
	case c.MasterKey != "k":
		t.Fatalf("master key from env not read")
	}
}

func TestDerivedIssuer(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		"0.0.0.0:9000":   "http://localhost:9000",
		":9000":          "http://localhost:9000",
		"[::1]:8080":     "http://[::1]:8080",
		"127.0.0.1:0":    "", // derived from the listener later
	} {
		c, err := Load("", nil, env(map[string]string{"GATEHOUSE_ADDR": addr}))
		if err != nil || c.Issuer != want {
			t.Errorf("addr %s: issuer %q (%v), want %q", addr, c.Issuer, err, want)
		}
	}
}

// TestEveryProblemAtOnce: one run reports all the bad settings.
func TestEveryProblemAtOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "g.yaml")
	if err := os.WriteFile(file, []byte("addr: nope\nbogus_key: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(file, nil, env(map[string]string{
		"GATEHOUSE_SYNC_INTERVAL": "soon", "GATEHOUSE_ISSUER": "ftp://x", "GATEHOUSE_DB": "mysql:x", "GATEHOUSE_LOG_LEVEL": "loud",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"bogus_key", "GATEHOUSE_SYNC_INTERVAL", "addr", "issuer", "db", "log-level"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	// Without parse errors, Validate reports all rule violations together.
	_, err = Load("", nil, env(map[string]string{
		"GATEHOUSE_ADDR": "nope", "GATEHOUSE_ISSUER": "ftp://x", "GATEHOUSE_DB": "mysql:x", "GATEHOUSE_LOG_LEVEL": "loud", "GATEHOUSE_SYNC_INTERVAL": "5s",
	}))
	for _, want := range []string{"addr", "issuer", "db", "log-level", "sync-interval"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestValidateIssuer(t *testing.T) {
	for s, ok := range map[string]bool{
		"https://auth.example.com":        true,
		"https://auth.example.com/":       true,
		"https://auth.example.com/tenant": true,
		"http://127.0.0.1:8080":           true,
		"auth.example.com":                false,
		"https://":                        false,
		"https://a.example?x=1":           false,
		"https://a.example#f":             false,
		"https://user@a.example":          false,
	} {
		if err := ValidateIssuer(s); (err == nil) != ok {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestDBDSN(t *testing.T) {
	tests := []struct {
		db               string
		sqlite, postgres bool
	}{
		{"sqlite:gatehouse.db", true, false},
		{"sqlite:/var/lib/gatehouse/g.db", true, false},
		{"postgres://gatehouse@db.example:5432/gatehouse?sslmode=verify-full", false, true},
		{"postgresql://u:pw@db.example/g?search_path=tenant1", false, true},
		{"postgres:///g?host=/var/run/postgresql", false, true},
		{"sqlite:", false, false},
		{"mysql://db.example/g", false, false},
		{"host=db.example dbname=g", false, false},
	}
	for _, tc := range tests {
		c := Default()
		c.DB = tc.db
		_, isSQLite := c.SQLitePath()
		_, isPostgres := c.PostgresDSN()
		err := c.Validate()
		if isSQLite != tc.sqlite || isPostgres != tc.postgres || (err == nil) != (tc.sqlite || tc.postgres) {
			t.Errorf("db %q: sqlite %v, postgres %v, Validate %v; want sqlite %v, postgres %v", tc.db, isSQLite, isPostgres, err, tc.sqlite, tc.postgres)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://u:secret@db.example/g": "postgres://u:xxxxx@db.example/g",
		"postgres://u@db.example/g":        "postgres://u@db.example/g",
		"sqlite:g.db":                      "sqlite:g.db",
		"mysql:u:secret@tcp(x)/g":          "(a DSN with credentials)",
	} {
		if got := RedactDSN(dsn); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", dsn, got, want)
		}
	}
}
