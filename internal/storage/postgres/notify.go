package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reconnection backoff of the change listener.
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 5 * time.Second
)

// Liveness of an idle listener: after listenIdle without a notification it
// pings its connection, and reconnects unless the answer comes within
// listenPingTimeout. A connection that died without a reset (a partition, a
// failover behind the same address) is otherwise noticed only when the
// operating system gives up on it, many minutes later.
const (
	listenIdle        = 5 * time.Second
	listenPingTimeout = 2 * time.Second
)

// Notifications listens on Channel over a connection of its own and returns
// a channel that receives a value soon after another writer (of any
// instance) commits a change, and once after every (re)connection, since
// changes may have been missed while not listening. Wake-ups coalesce: a
// slow reader gets one value for many commits, so it must read the change
// feed itself (ChangesSince); a notification says only "look now". The
// listener reconnects by itself with a backoff of up to five seconds, also
// when its connection stops answering (it pings it after five idle
// seconds); polling the feed remains the fallback while it is down. The
// channel is closed when ctx is done or the Store is closed.
func (s *Store) Notifications(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.life, cancel)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(ch)
		defer stop()
		defer cancel()
		s.listen(ctx, ch)
	}()
	return ch
}

// listen keeps a listening connection until ctx is done.
func (s *Store) listen(ctx context.Context, ch chan<- struct{}) {
	backoff := listenMinBackoff
	for {
		connected := false
		_ = s.listenOnce(ctx, ch, func() { connected = true })
		if connected {
			backoff = listenMinBackoff
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listenOnce connects, listens and forwards notifications until the
// connection fails or ctx is done.
func (s *Store) listenOnce(ctx context.Context, ch chan<- struct{}, connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.connConf)
	if err != nil {
		return fmt.Errorf("connect listener: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	connected()
	wake(ch)
	for {
		wctx, cancel := context.WithTimeout(ctx, listenIdle)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			wake(ch)
			continue
		case ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("wait for notification: %w", err)
		}
		// Idle: a timeout leaves the connection usable; check it answers.
		pctx, cancel := context.WithTimeout(ctx, listenPingTimeout)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return fmt.Errorf("ping idle listener: %w", err)
		}
	}
}

// wake sends on ch unless a wake-up is already pending.
func wake(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
