package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// live is a real server started with Serve on a real listener (so the
// listener limits, TLS and the metrics listener are those of production),
// on a real SQLite database, logging JSON at debug into logs.
type live struct {
	t         *testing.T
	ctx       context.Context
	store     *sqlite.Store
	admin     *admin.Service
	srv       *server.Server
	cfg       config.Config
	url       string // scheme://host:port
	addr      string
	logs      *logBuffer
	masterKey []byte
	conns     *countingListener
	client    *http.Client
}

// logBuffer is a concurrency-safe buffer of JSON log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// records returns the log lines decoded.
func (l *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// find returns the records with that message whose fields match.
func (l *logBuffer) find(t *testing.T, msg string, fields map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
next:
	for _, r := range l.records(t) {
		if r["msg"] != msg {
			continue
		}
		for k, v := range fields {
			if r[k] != v {
				continue next
			}
		}
		out = append(out, r)
	}
	return out
}

// countingListener counts the bytes the server reads from its connections.
type countingListener struct {
	net.Listener
	read atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: &l.read}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func startLive(t *testing.T, opts server.Options, mutate ...func(*config.Config)) *live {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DB = "sqlite:" + filepath.Join(dir, "g.db")
	cfg.SyncInterval = 20 * time.Millisecond
	for _, m := range mutate {
		m(&cfg)
	}
	cfg.Issuer = cfg.Scheme() + "://" + ln.Addr().String()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.GenerateKey == nil {
		opts.GenerateKey = testutil.KeyGenerator()
	}
	if opts.UsageFlushInterval == 0 {
		opts.UsageFlushInterval = 50 * time.Millisecond
	}
	mk := make([]byte, 32)
	_, _ = rand.Read(mk)
	srv, err := server.New(ctx, cfg, store, mk, opts)
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, cl) }()
	l := &live{t: t, ctx: ctx, store: store, srv: srv, cfg: cfg, url: cfg.Issuer, addr: ln.Addr().String(),
		logs: logs, masterKey: mk, conns: cl, client: &http.Client{Timeout: 10 * time.Second}}
	l.admin = &admin.Service{Store: store, Keys: srv.Keys()}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		store.Close()
	})
	return l
}

// sync applies pending changes at once.
func (l *live) sync() {
	l.t.Helper()
	if _, err := l.srv.Catalog().Sync(l.ctx); err != nil {
		l.t.Fatal(err)
	}
}

// req sends a request and returns the response with its body read.
func (l *live) req(method, path, contentType, body string, mod func(*http.Request)) (*http.Response, []byte) {
	l.t.Helper()
	req, err := http.NewRequest(method, l.url+path, strings.NewReader(body))
	if err != nil {
		l.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if mod != nil {
		mod(req)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		l.t.Fatal(err)
	}
	return resp, data
}
