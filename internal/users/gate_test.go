package users

import (
	"context"
	"errors"
	"testing"
	"time"
)

// acquireAsync starts an Acquire and returns where its result arrives.
func acquireAsync(ctx context.Context, g *Gate, clean bool) chan func() {
	out := make(chan func(), 1)
	go func() {
		rel, err := g.Acquire(ctx, clean)
		if err != nil {
			rel = nil
		}
		out <- rel
	}()
	return out
}

// waitQueued waits until n acquirers wait.
func waitQueued(t *testing.T, g *Gate, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, _, w := g.Stats(); w == n {
			return
		}
	}
	_, _, w := g.Stats()
	t.Fatalf("%d waiting, want %d", w, n)
}

func TestGate(t *testing.T) {
	ctx := t.Context()
	g := NewGate(1, 3)
	rel, err := g.Acquire(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	d1 := acquireAsync(ctx, g, false)
	waitQueued(t, g, 1)
	d2 := acquireAsync(ctx, g, false)
	waitQueued(t, g, 2)
	d3 := acquireAsync(ctx, g, false)
	waitQueued(t, g, 3)
	if _, err := g.Acquire(ctx, false); !errors.Is(err, ErrBusy) {
		t.Fatalf("a fourth waiter of the failing class: %v, want ErrBusy at once", err)
	}
	// A clean arrival takes the newest failing waiter's place and goes first.
	c := acquireAsync(ctx, g, true)
	if r := <-d3; r != nil {
		t.Fatal("the newest failing waiter was not refused")
	}
	waitQueued(t, g, 3)
	rel()
	relC := <-c
	if relC == nil {
		t.Fatal("the clean waiter was refused")
	}
	select {
	case <-d1:
		t.Fatal("a failing waiter got the slot before the clean one released it")
	default:
	}
	relC()
	(<-d1)()
	(<-d2)()
	if busy, peak, w := g.Stats(); busy != 0 || peak != 1 || w != 0 {
		t.Errorf("Stats = %d busy, %d peak, %d waiting; want 0, 1, 0", busy, peak, w)
	}
}

// TestGateAbandon: a waiter whose context ends leaves the queue and never
// runs; a slot granted as it gave up is passed on.
func TestGateAbandon(t *testing.T) {
	g := NewGate(1, 4)
	rel, _ := g.Acquire(t.Context(), true)
	ctx, cancel := context.WithCancel(t.Context())
	gone := acquireAsync(ctx, g, true)
	waitQueued(t, g, 1)
	cancel()
	if r := <-gone; r != nil {
		t.Fatal("an abandoned waiter got a slot")
	}
	if _, _, w := g.Stats(); w != 0 {
		t.Fatalf("%d still waiting after the caller left", w)
	}
	rel()
	if busy, _, _ := g.Stats(); busy != 0 {
		t.Fatalf("%d busy after every slot came back", busy)
	}
	if r, err := g.Acquire(t.Context(), false); err != nil {
		t.Fatalf("the slot was lost: %v", err)
	} else {
		r()
	}
}
