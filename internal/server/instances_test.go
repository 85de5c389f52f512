package server_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// TestServerRecordsItsJWKSMaxAge: a started server records the JWKS max-age
// it serves in the database, where JWKSCacheWait finds it (and a key
// rotation from the command line with it).
func TestServerRecordsItsJWKSMaxAge(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now()
	if wait, recorded, err := server.JWKSCacheWait(ctx, store, now, 3*time.Minute); err != nil || recorded || wait != 3*time.Minute {
		t.Fatalf("JWKSCacheWait before any server = %s, %v, %v; want the fallback 3m", wait, recorded, err)
	}
	cfg := config.Default()
	cfg.DB, cfg.Issuer, cfg.JWKSMaxAge = "sqlite:unused", "https://auth.example.com", 7*time.Minute
	srv, err := server.New(ctx, cfg, store, make([]byte, 32), server.Options{GenerateKey: testutil.KeyGenerator()})
	if err != nil {
		t.Fatal(err)
	}
	wait := srv.Start(ctx)
	defer func() { cancel(); wait() }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		d, recorded, err := server.JWKSCacheWait(ctx, store, time.Now(), 3*time.Minute)
		if err == nil && recorded && d == 7*time.Minute {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("JWKSCacheWait with a server serving 7m = %s, %v, %v", d, recorded, err)
		}
	}
	// Another instance serving longer raises the wait for everyone.
	if err := store.RecordInstance(ctx, storage.Instance{ID: "other", JWKSMaxAge: time.Hour, SeenAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := server.JWKSCacheWait(ctx, store, time.Now(), 0); d != time.Hour {
		t.Errorf("JWKSCacheWait = %s, want the other instance's 1h", d)
	}
}
