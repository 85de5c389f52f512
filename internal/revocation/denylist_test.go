package revocation_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/revocation"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
)

// TestDenylist: what each kind of entry revokes, to the second; entries
// load from storage, follow its changes, and are dropped once expired.
func TestDenylist(t *testing.T) {
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var clock atomic.Int64
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock.Store(t0.Unix())
	now := func() time.Time { return time.Unix(clock.Load(), 0) }
	for _, r := range []storage.Revocation{
		{Kind: storage.RevokeToken, Value: "j1", Before: t0, ExpiresAt: t0.Add(time.Minute)},
		{Kind: storage.RevokeClient, Value: "c1", Before: t0, ExpiresAt: t0.Add(time.Hour)},
		{Kind: storage.RevokeSubject, Value: "u1", Before: t0, ExpiresAt: t0.Add(time.Hour)},
	} {
		if err := store.Revoke(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	d := revocation.NewDenylist(store, now)
	if err := d.Load(ctx); err != nil {
		t.Fatal(err)
	}
	iat := t0.Unix()
	for _, tc := range []struct {
		name             string
		jti, client, sub string
		iat              int64
		want             bool
	}{
		{"revoked jti", "j1", "c9", "s9", iat - 100, true},
		{"other jti", "j2", "c9", "s9", iat, false},
		{"client's token issued before", "j2", "c1", "c1@clients", iat - 1, true},
		{"client's token issued the same second", "j2", "c1", "c1@clients", iat, true},
		{"client's token issued after", "j2", "c1", "c1@clients", iat + 1, false},
		{"user's token issued before", "j2", "c9", "u1", iat - 3600, true},
		{"user's token issued after", "j2", "c9", "u1", iat + 1, false},
		{"empty claims", "", "", "", iat, false},
	} {
		if got := d.Revoked(tc.jti, tc.client, tc.sub, tc.iat); got != tc.want {
			t.Errorf("%s: Revoked = %v, want %v", tc.name, got, tc.want)
		}
	}
	// A change read through Apply; an entry gone from storage is dropped.
	late := storage.Revocation{Kind: storage.RevokeToken, Value: "j3", Before: t0, ExpiresAt: t0.Add(2 * time.Hour)}
	if err := store.Revoke(ctx, late); err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(context.Background(), []string{late.Key(), "jti:gone", "nonsense"}); err != nil {
		t.Fatal(err)
	}
	if !d.Revoked("j3", "", "", iat) || d.Len() != 4 {
		t.Errorf("after Apply: j3 revoked %v, %d entries, want true, 4", d.Revoked("j3", "", "", iat), d.Len())
	}
	// Past a minute the jti entry revokes nothing and is pruned.
	clock.Add(61)
	if d.Revoked("j1", "", "", iat) {
		t.Error("an expired entry still revokes")
	}
	if n := d.Prune(); n != 1 || d.Len() != 3 {
		t.Errorf("Prune dropped %d, %d left, want 1, 3", n, d.Len())
	}
	if _, err := store.DeleteExpiredRevocations(ctx, now()); err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ctx, []string{"jti:j1"}); err != nil || d.Len() != 3 {
		t.Errorf("Apply of a deleted entry: %v, %d entries", err, d.Len())
	}
}
