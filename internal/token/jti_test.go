package token

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// fakeIDs is an AssertionIDs that answers err, or records like a store.
type fakeIDs struct {
	err  error
	seen map[string]bool
}

func (f *fakeIDs) UseAssertionID(_ context.Context, clientID, jti string, _ time.Time) error {
	if f.err != nil {
		return f.err
	}
	k := clientID + "/" + jti
	if f.seen[k] {
		return fmt.Errorf("use: %w", storage.ErrAlreadyExists)
	}
	f.seen[k] = true
	return nil
}

// TestCheckJTI: a jti passes once per client; the database's refusal is a
// replay even when this instance never saw it (another instance did);
// with the database down the instance's own record still refuses a replay;
// a full record refuses only when the database cannot record either; and
// expired entries are forgotten to make room.
func TestCheckJTI(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	newEP := func(ids AssertionIDs, max int) *Endpoint {
		var cfg Config
		if ids != nil {
			cfg.AssertionIDs = ids
		}
		cfg.JTIEntries, cfg.Now = max, func() time.Time { return now }
		return NewEndpoint(cfg)
	}
	exp := now.Add(time.Minute)
	ctx := context.Background()

	db := &fakeIDs{seen: map[string]bool{}}
	e := newEP(db, 0)
	if !e.checkJTI(ctx, "c1", "j", exp) || e.checkJTI(ctx, "c1", "j", exp) {
		t.Fatal("a jti passed twice, or not once")
	}
	if !e.checkJTI(ctx, "c2", "j", exp) {
		t.Fatal("another client's jti of the same value was refused")
	}
	other := newEP(db, 0) // a second instance on the same database
	if other.checkJTI(ctx, "c1", "j", exp) {
		t.Fatal("a jti used at another instance passed")
	}

	down := newEP(&fakeIDs{err: fmt.Errorf("exec: %w", storage.ErrUnavailable)}, 0)
	if !down.checkJTI(ctx, "c1", "k", exp) || down.checkJTI(ctx, "c1", "k", exp) {
		t.Fatal("with the database down: not once, or twice")
	}

	full := newEP(nil, 2)
	if !full.checkJTI(ctx, "c", "1", exp) || !full.checkJTI(ctx, "c", "2", exp) {
		t.Fatal("room for two")
	}
	if full.checkJTI(ctx, "c", "3", exp) {
		t.Fatal("a full record without a database accepted an assertion it cannot record")
	}
	fullDB := newEP(&fakeIDs{seen: map[string]bool{}}, 1)
	if !fullDB.checkJTI(ctx, "c", "1", exp) || !fullDB.checkJTI(ctx, "c", "2", exp) {
		t.Fatal("a full record with a database refused")
	}
	fullDown := newEP(&fakeIDs{err: errors.New("boom")}, 1)
	_ = fullDown.checkJTI(ctx, "c", "1", exp)
	if fullDown.checkJTI(ctx, "c", "2", exp) {
		t.Fatal("neither record could hold the jti, yet it passed")
	}

	now = exp.Add(AssertionLeeway + time.Second) // both entries of full have expired
	if !full.checkJTI(ctx, "c", "3", now.Add(time.Minute)) {
		t.Fatal("expired entries were not forgotten")
	}
	if n := len(full.jtis.seen); n != 1 {
		t.Fatalf("%d entries kept, want 1", n)
	}
}
