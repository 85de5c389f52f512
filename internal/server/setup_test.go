package server

import (
	"encoding/base64"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

func TestMasterKeySources(t *testing.T) {
	dir := t.TempDir()
	key := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	tests := []struct {
		name    string
		cfg     config.Config
		wantErr string // empty: a key is expected
	}{
		{"sqlite: a key file beside the database", config.Config{DB: "sqlite:" + filepath.Join(dir, "g.db")}, ""},
		{"postgres with GATEHOUSE_MASTER_KEY", config.Config{DB: "postgres://db.example/g", MasterKey: key}, ""},
		{"postgres without a key", config.Config{DB: "postgres://db.example/g"}, config.EnvMasterKey},
		{"postgresql without a key", config.Config{DB: "postgresql://u:pw@db.example/g"}, "--master-key-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := MasterKey(tc.cfg, slog.New(slog.DiscardHandler), true)
			switch {
			case tc.wantErr == "" && (err != nil || len(k) != 32):
				t.Errorf("MasterKey = %d bytes, %v; want a 32-byte key", len(k), err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("MasterKey error %v, want one mentioning %q", err, tc.wantErr)
			case err != nil && (strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "pw")):
				t.Errorf("MasterKey error %q: want one line without the DSN's password", err)
			}
		})
	}
}
