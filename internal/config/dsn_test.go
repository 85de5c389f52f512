package config

import (
	"strings"
	"testing"
)

// TestPostgresDSNNamesHostAndDatabase: a PostgreSQL URL without a host or a
// database is refused before anything connects, instead of falling back to
// the driver's defaults (the local server, a database named after the user).
func TestPostgresDSNNamesHostAndDatabase(t *testing.T) {
	tests := []struct {
		dsn  string
		want string // a part of the problem; empty: accepted
	}{
		{dsn: "postgres://", want: "must name a host and a database"},
		{dsn: "postgresql://", want: "must name a host and a database"},
		{dsn: "postgres:///", want: "must name a host and a database"},
		{dsn: "postgres://db.internal:5432", want: "must name a database"},
		{dsn: "postgres://db.internal/", want: "must name a database"},
		{dsn: "postgres:///gatehouse", want: "must name a host"},
		{dsn: "postgres://user:secret@/gatehouse?sslmode=disable", want: "must name a host"},
		{dsn: "postgres://gatehouse@db.internal:5432/gatehouse?sslmode=verify-full"},
		{dsn: "postgresql://db.internal/gatehouse"},
		{dsn: "postgres:///gatehouse?host=/var/run/postgresql"},
		{dsn: "postgres://db.internal/?dbname=gatehouse"},
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			c := Default()
			c.DB = tt.dsn
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want no problem", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("the problem repeats the password: %v", err)
			}
		})
	}
}
