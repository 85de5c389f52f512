package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/postgres"
	"github.com/gatehouse-dev/gatehouse/internal/storage/storagetest"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// envDSN names the test server's DSN in errors.
const envDSN = testutil.EnvPostgres

// testDSN returns the DSN of the test server (testutil.PostgresDSN): the
// test skips without one, unless PostgreSQL is required.
func testDSN(t testing.TB) string {
	t.Helper()
	return testutil.PostgresDSN(t)
}

// freshSchema creates a schema of its own for the test, dropped at cleanup
// (testutil.PostgresSchema), and returns a pool configuration whose
// connections use it, named after it (application_name).
func freshSchema(t testing.TB) (*pgxpool.Config, string) {
	t.Helper()
	dsn, schema := testutil.PostgresSchema(t, "gh_test_")
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", envDSN, err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = schema
	return cfg, schema
}

// open opens a Store on cfg, closed at cleanup.
func open(t testing.TB, cfg *pgxpool.Config) *postgres.Store {
	t.Helper()
	s, err := postgres.OpenConfig(t.Context(), cfg.Copy())
	if err != nil {
		t.Fatalf("OpenConfig: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// requireServer fails the test at once if the test server cannot be reached
// (rather than every subtest after it).
func requireServer(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testDSN(t))
	if err != nil {
		t.Fatalf("connect to the test PostgreSQL (%s): %v", envDSN, err)
	}
	_ = conn.Close(ctx)
}

func TestConformance(t *testing.T) {
	requireServer(t)
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		cfg, _ := freshSchema(t)
		return open(t, cfg)
	})
}

func TestOpenErrors(t *testing.T) {
	dsn := testDSN(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	tests := []struct {
		name string
		dsn  string
	}{
		{"malformed DSN", "postgres://[::1"},
		{"unreachable server", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2"},
		{"no such schema", dsn + sep(dsn) + "search_path=gh_test_does_not_exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := postgres.Open(ctx, tc.dsn)
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%q) succeeded, want an error", tc.dsn)
			}
		})
	}
}

// sep is what joins another parameter to dsn.
func sep(dsn string) string {
	if slices.Contains([]byte(dsn), '?') {
		return "&"
	}
	return "?"
}

func TestSearchPathInDSN(t *testing.T) {
	// gatehouse serve --db takes a DSN only: search_path as a URL parameter
	// becomes a runtime parameter of every connection.
	_, schema := freshSchema(t)
	dsn := testDSN(t)
	s, err := postgres.Open(t.Context(), dsn+sep(dsn)+"search_path="+schema)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got string
	if err := s.Pool().QueryRow(t.Context(), "SELECT current_schema()").Scan(&got); err != nil || got != schema {
		t.Errorf("current_schema() = %q, %v; want %q", got, err, schema)
	}
}

func TestServerTimeZone(t *testing.T) {
	// The session time zone must not leak into the values: times come back
	// in UTC, the same instant, whatever the server's TimeZone.
	ctx := t.Context()
	cfg, _ := freshSchema(t)
	cfg.ConnConfig.RuntimeParams["timezone"] = "Pacific/Chatham" // +12:45/+13:45
	s := open(t, cfg)
	created := time.Date(2025, 6, 30, 23, 59, 59, 999_999_999, time.FixedZone("x", -7*3600))
	if err := s.CreateClient(ctx, storage.Client{ClientID: "c", CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	c, err := s.GetClient(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	want := created.Truncate(time.Microsecond).UTC()
	if !c.CreatedAt.Equal(want) || c.CreatedAt.Location() != time.UTC || c.CreatedAt != want {
		t.Errorf("CreatedAt = %v, want %v", c.CreatedAt, want)
	}
}

func TestTwoStoresOneSchema(t *testing.T) {
	// Two instances on one schema: writers on both at once, and a follower
	// on one that sees every change of both exactly once, in order.
	ctx := t.Context()
	cfg, _ := freshSchema(t)
	a, b := open(t, cfg), open(t, cfg)
	const perStore = 30
	errs := make(chan error, 2)
	for name, s := range map[string]*postgres.Store{"a": a, "b": b} {
		go func() {
			for i := range perStore {
				if err := s.CreateClient(ctx, storage.Client{ClientID: fmt.Sprintf("%s-%d", name, i), CreatedAt: time.Now()}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var seen []storage.Change
	var seq int64
	deadline := time.Now().Add(30 * time.Second)
	for len(seen) < 2*perStore && time.Now().Before(deadline) {
		cs, err := b.ChangesSince(ctx, seq, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		seen = append(seen, cs...)
		seq = cs[len(cs)-1].Seq
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
	all, err := a.ChangesSince(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2*perStore || !slices.Equal(seen, all) {
		t.Errorf("the follower saw %d changes, want the %d of the feed in order", len(seen), len(all))
	}
}

// waitWake waits for a value on ch, failing after d.
func waitWake(t *testing.T, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatalf("%s: notification channel closed", what)
		}
	case <-time.After(d):
		t.Fatalf("%s: no notification within %s", what, d)
	}
}

// drain empties ch of pending wake-ups.
func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func TestNotifications(t *testing.T) {
	ctx := t.Context()
	cfg, schema := freshSchema(t)
	writer, follower := open(t, cfg), open(t, cfg)

	lctx, stop := context.WithCancel(ctx)
	ch := follower.Notifications(lctx)
	waitWake(t, ch, 5*time.Second, "after connecting")
	drain(ch)

	steps := []struct {
		name  string
		write func() error
	}{
		{"CreateAPI", func() error {
			return writer.CreateAPI(ctx, storage.API{Identifier: "a", TokenLifetime: time.Hour, SigningAlg: "RS256", TokenDialect: storage.DialectRFC9068})
		}},
		{"CreateClient", func() error { return writer.CreateClient(ctx, storage.Client{ClientID: "c"}) }},
		{"SetClientDisabled", func() error { return writer.SetClientDisabled(ctx, "c", true, time.Now()) }},
	}
	for _, st := range steps {
		begin := time.Now()
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		waitWake(t, ch, time.Second, st.name)
		t.Logf("%s: woken %s after the write returned", st.name, time.Since(begin))
	}

	// A failed write is rolled back, its notification with it.
	drain(ch)
	if err := writer.CreateClient(ctx, storage.Client{ClientID: "c"}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("CreateClient again: %v", err)
	}
	select {
	case <-ch:
		t.Errorf("woken by a failed write")
	case <-time.After(200 * time.Millisecond):
	}

	// The listener's connection dies: it reconnects by itself, wakes the
	// follower once (it may have missed changes) and hears later writes.
	admin := open(t, cfg)
	var killed int
	if err := admin.Pool().QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND query LIKE 'LISTEN%'`, schema).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminate the listener: %d backends, %v; want 1", killed, err)
	}
	waitWake(t, ch, 5*time.Second, "after reconnecting")
	drain(ch)
	if err := writer.DeleteClient(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	waitWake(t, ch, time.Second, "DeleteClient after reconnecting")

	// Cancelling the context closes the channel.
	stop()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the channel is still open 5s after its context ended")
		}
	}
}

func TestCloseStopsListeners(t *testing.T) {
	cfg, _ := freshSchema(t)
	s, err := postgres.OpenConfig(t.Context(), cfg.Copy())
	if err != nil {
		t.Fatal(err)
	}
	ch := s.Notifications(context.Background())
	waitWake(t, ch, 5*time.Second, "after connecting")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-ch:
		if ok {
			t.Error("a value after Close, want the channel closed")
		}
	case <-time.After(time.Second):
		t.Error("the channel is still open after Close")
	}
}

func TestSaveKeysUpdateOrder(t *testing.T) {
	// Every order of the updates of a rotation must commit: the partial
	// unique index is checked row by row and cannot be deferred.
	type K = []storage.SigningKey
	key := func(kid, state string) storage.SigningKey {
		return storage.SigningKey{KID: kid, Alg: "ES256", State: state, PrivateKey: []byte{1}, PublicJWK: []byte("{}"), CreatedAt: time.Now()}
	}
	orders := []struct {
		name   string
		update func(prev, cur, next storage.SigningKey) K
	}{
		{"retire, demote, promote", func(p, c, n storage.SigningKey) K { return K{p, c, n} }},
		{"promote, demote, retire", func(p, c, n storage.SigningKey) K { return K{n, c, p} }},
		{"demote, promote, retire", func(p, c, n storage.SigningKey) K { return K{c, n, p} }},
	}
	for _, tc := range orders {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			cfg, _ := freshSchema(t)
			s := open(t, cfg)
			if err := s.SaveKeys(ctx, K{key("p", storage.KeyPrevious), key("c", storage.KeyCurrent), key("n", storage.KeyNext)}, nil); err != nil {
				t.Fatal(err)
			}
			p, c, n := key("p", storage.KeyRetired), key("c", storage.KeyPrevious), key("n", storage.KeyCurrent)
			if err := s.SaveKeys(ctx, K{key("m", storage.KeyNext)}, tc.update(p, c, n)); err != nil {
				t.Fatalf("SaveKeys: %v", err)
			}
			ks, err := s.ListKeys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, k := range ks {
				got[k.KID] = k.State
			}
			want := map[string]string{"p": storage.KeyRetired, "c": storage.KeyPrevious, "n": storage.KeyCurrent, "m": storage.KeyNext}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("states = %v, want %v", got, want)
			}
		})
	}
}

// proxy forwards TCP connections to a PostgreSQL server until stopped.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); _ = u.Close() }()
			go func() { _, _ = io.Copy(c, u); _ = c.Close() }()
		}
	}()
	t.Cleanup(p.stop)
	return p
}

// stop refuses new connections and resets the live ones: the server is gone.
func (p *proxy) stop() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
	p.conns = nil
}

func TestUnavailable(t *testing.T) {
	// A server that refuses, or drops its connections, fails the calls with
	// storage.ErrUnavailable (a 503, try again), the driver's error kept.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	t.Run("refused at open", func(t *testing.T) {
		s, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
		if err == nil {
			_ = s.Close()
			t.Fatal("Open of a closed port succeeded")
		}
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("Open of a closed port: %v, want ErrUnavailable", err)
		}
	})
	t.Run("gone after open", func(t *testing.T) {
		cfg, _ := freshSchema(t)
		p := newProxy(t, net.JoinHostPort(cfg.ConnConfig.Host, fmt.Sprint(cfg.ConnConfig.Port)))
		host, port, _ := net.SplitHostPort(p.ln.Addr().String())
		cfg.ConnConfig.Host = host
		fmt.Sscan(port, &cfg.ConnConfig.Port)
		cfg.ConnConfig.ConnectTimeout = 2 * time.Second
		s := open(t, cfg)
		if err := s.CreateClient(ctx, storage.Client{ClientID: "c"}); err != nil {
			t.Fatal(err)
		}
		p.stop()
		calls := map[string]func() error{
			"GetClient":    func() error { _, err := s.GetClient(ctx, "c"); return err },
			"CreateClient": func() error { return s.CreateClient(ctx, storage.Client{ClientID: "d"}) },
			"ListClients":  func() error { _, err := s.ListClients(ctx); return err },
			"AppendAudit": func() error {
				return s.AppendAudit(ctx, storage.AuditEvent{Time: time.Now(), Actor: "a", Action: "x", Outcome: storage.OutcomeSuccess})
			},
			"Ping": func() error { return s.Ping(ctx) },
		}
		for name, call := range calls {
			if err := call(); !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("%s with the server gone: %v, want ErrUnavailable", name, err)
			}
		}
	})
}
