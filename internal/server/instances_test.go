package server_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
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

// TestServerRotationWaitsForTheLongestMaxAge: the rotation of a running
// server (its scheduler and the management API's POST /keys/rotate, both
// through its key manager) waits until the next key has been published for
// the longest JWKS max-age any instance recorded, not only its own: a
// verifier may hold the JWKS another instance served for an hour.
func TestServerRotationWaitsForTheLongestMaxAge(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	cfg := config.Default()
	cfg.DB, cfg.Issuer, cfg.JWKSMaxAge = "sqlite:unused", "https://auth.example.com", 7*time.Minute
	srv, err := server.New(ctx, cfg, store, make([]byte, 32), server.Options{GenerateKey: testutil.KeyGenerator(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.RecordInstance(ctx, storage.Instance{ID: "other", JWKSMaxAge: time.Hour, SeenAt: now()}); err != nil {
		t.Fatal(err)
	}
	clock.Add(int64(30 * time.Minute)) // past this server's 7m, not the other's 1h
	if _, err := srv.Keys().Rotate(ctx, keys.RotateOptions{}); !errors.Is(err, keys.ErrRotateTooSoon) || !strings.Contains(err.Error(), "1h0m0s") {
		t.Fatalf("rotation 30m after the next key was published, another instance serving 1h: %v; want %v naming 1h0m0s", err, keys.ErrRotateTooSoon)
	}
	clock.Add(int64(31 * time.Minute))
	if _, err := srv.Keys().Rotate(ctx, keys.RotateOptions{}); err != nil {
		t.Fatalf("rotation once the longest JWKS max-age passed: %v", err)
	}
}
