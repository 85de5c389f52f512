package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
)

// How a blackholedStore's Ping behaves.
const (
	pingAnswers   = iota
	pingUntilDone // a partition: nothing comes back; the caller's deadline ends it
	pingStuck     // a driver that ignores its context until released
)

// blackholedStore is a store whose Ping stops answering on demand.
type blackholedStore struct {
	*sqlite.Store
	mode    atomic.Int32
	release chan struct{}
}

func (b *blackholedStore) Ping(ctx context.Context) error {
	switch b.mode.Load() {
	case pingUntilDone:
		<-ctx.Done()
		return ctx.Err()
	case pingStuck:
		<-b.release
		return errors.New("released")
	}
	return b.Store.Ping(ctx)
}

// TestReadinessUnderABlackhole: /readyz answers from the background check
// at once, whatever the database does: 200 while it answers; 503 "storage
// unreachable" once a ping runs into its timeout; 503 "storage check
// overdue" when a ping never returns. Every answer comes within 200 ms (a
// /readyz that pinged the database itself took up to its 2 s timeout).
func TestReadinessUnderABlackhole(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    int32
		problem string
		within  time.Duration // until /readyz reports it
	}{
		{"pings time out", pingUntilDone, "storage unreachable", server.ReadyPingTimeout + time.Second},
		{"a ping never returns", pingStuck, "storage check overdue", server.ReadyPingTimeout + 2*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bh := &blackholedStore{release: make(chan struct{})}
			f := setupFixtureOn(t, func(s *sqlite.Store) server.Store { bh.Store = s; return bh }, fixtureOptions(), true)
			t.Cleanup(func() { close(bh.release) }) // runs before the fixture's, which waits for the check
			probe := func() (int, string) {
				t.Helper()
				start := time.Now()
				resp, err := f.http.Client().Get(f.http.URL + "/readyz")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if took := time.Since(start); took > 200*time.Millisecond {
					t.Fatalf("/readyz took %s", took)
				}
				return resp.StatusCode, string(body)
			}
			if status, body := probe(); status != http.StatusOK {
				t.Fatalf("before the blackhole: %d %s", status, body)
			}
			bh.mode.Store(tc.mode)
			cut := time.Now()
			for {
				status, body := probe()
				if status == http.StatusServiceUnavailable && strings.Contains(body, tc.problem) {
					t.Logf("%q %s after the cut", tc.problem, time.Since(cut).Round(time.Millisecond))
					break
				}
				if status != http.StatusOK {
					t.Fatalf("during the blackhole: %d %s, want 200 until %q", status, body, tc.problem)
				}
				if time.Since(cut) > tc.within {
					t.Fatalf("/readyz still %d %s %s after the cut, want 503 %q", status, body, tc.within, tc.problem)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if tc.mode == pingUntilDone {
				bh.mode.Store(pingAnswers)
				for back := time.Now(); ; time.Sleep(20 * time.Millisecond) {
					if status, _ := probe(); status == http.StatusOK {
						break
					}
					if time.Since(back) > server.ReadyPingTimeout+time.Second {
						t.Fatal("/readyz not 200 again after the database answered")
					}
				}
			}
		})
	}
}
