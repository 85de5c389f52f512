package users

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// ErrBusy is returned by Gate.Acquire when the wait queue is full: the
// caller should answer 503 with Retry-After instead of waiting.
var ErrBusy = errors.New("users: every password check slot is taken and the queue is full")

// Gate bounds password hashing, the one expensive thing a login does
// (argon2id takes 64 MiB and a few hundred milliseconds): at most Slots
// checks run at once, so the memory they take is bounded by Slots times the
// hash's memory; at most Queue wait for a slot, and past that Acquire
// answers ErrBusy at once instead of piling up work that its caller may
// have given up on. A waiter whose context ends leaves the queue.
//
// Waiters are served in two classes, clean first: a login from an address
// with no recent failures (users.Verdict.Clean) goes before every login
// from addresses that keep failing, and when the queue is full a clean
// arrival takes the place of the newest waiter of the other class, which
// gets ErrBusy. Within a class the order is first come, first served. So
// a flood of failing logins delays a clean login by at most the clean
// logins ahead of it and one check's time, whatever the flood's size.
type Gate struct {
	mu       sync.Mutex
	free     int
	maxQueue int
	queues   [2][]*waiter // [0] clean, [1] failing
	busy     int
	peak     int
}

type waiter struct {
	ready   chan struct{} // closed when granted or refused
	granted bool
}

// NewGate returns a Gate of slots concurrent checks and a queue of at most
// queue waiters (both at least 1).
func NewGate(slots, queue int) *Gate {
	return &Gate{free: max(1, slots), maxQueue: max(1, queue)}
}

func class(clean bool) int {
	if clean {
		return 0
	}
	return 1
}

// Acquire waits for a slot and returns the function that gives it back. It
// returns ErrBusy when the queue is full (or when a clean waiter took this
// waiter's place), or ctx's error when ctx ends first.
func (g *Gate) Acquire(ctx context.Context, clean bool) (release func(), err error) {
	g.mu.Lock()
	if g.free > 0 && len(g.queues[0])+len(g.queues[1]) == 0 {
		g.free--
		g.take()
		g.mu.Unlock()
		return g.release, nil
	}
	if len(g.queues[0])+len(g.queues[1]) >= g.maxQueue {
		if !clean || len(g.queues[1]) == 0 {
			g.mu.Unlock()
			return nil, ErrBusy
		}
		last := len(g.queues[1]) - 1
		close(g.queues[1][last].ready) // refused: not granted
		g.queues[1] = g.queues[1][:last]
	}
	w := &waiter{ready: make(chan struct{})}
	c := class(clean)
	g.queues[c] = append(g.queues[c], w)
	g.mu.Unlock()
	select {
	case <-w.ready:
	case <-ctx.Done():
		g.mu.Lock()
		if i := slices.Index(g.queues[c], w); i >= 0 {
			g.queues[c] = slices.Delete(g.queues[c], i, i+1)
			g.mu.Unlock()
			return nil, ctx.Err()
		}
		g.mu.Unlock()
		<-w.ready // granted or refused meanwhile
		if w.granted {
			g.release()
		}
		return nil, ctx.Err()
	}
	if !w.granted {
		return nil, ErrBusy
	}
	return g.release, nil
}

// take counts a granted slot; g.mu is held.
func (g *Gate) take() {
	g.busy++
	g.peak = max(g.peak, g.busy)
}

// release hands the slot to the first clean waiter, else the first other
// one, else frees it.
func (g *Gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busy--
	for c := range g.queues {
		if len(g.queues[c]) > 0 {
			w := g.queues[c][0]
			g.queues[c] = g.queues[c][1:]
			w.granted = true
			g.take()
			close(w.ready)
			return
		}
	}
	g.free++
}

// Stats returns the checks running now, the most that ever ran at once, and
// the waiters.
func (g *Gate) Stats() (busy, peak, waiting int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.busy, g.peak, len(g.queues[0]) + len(g.queues[1])
}
