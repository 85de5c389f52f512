package remotekeys_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/remotekeys"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// publisher is a JWKS endpoint whose set the test changes, counting fetches.
type publisher struct {
	srv     *httptest.Server
	mu      sync.Mutex
	body    []byte
	status  int
	delay   time.Duration
	fetches atomic.Int32
}

func newPublisher(t *testing.T) *publisher {
	p := &publisher{status: http.StatusOK}
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		p.mu.Lock()
		body, status, delay := p.body, p.status, p.delay
		p.mu.Unlock()
		if delay > 0 {
			time.Sleep(delay)
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *publisher) publish(t *testing.T, keys ...jose.JSONWebKey) {
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.body = b
	p.mu.Unlock()
}

func (p *publisher) set(f func(p *publisher)) {
	p.mu.Lock()
	f(p)
	p.mu.Unlock()
}

func newKey(t *testing.T, kid string) (jose.JSONWebKey, *ecdsa.PrivateKey) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"}, k
}

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newCache(p *publisher, clk *clock, mod ...func(*remotekeys.Config)) *remotekeys.Cache {
	cfg := remotekeys.Config{Client: p.srv.Client(), Now: clk.Now, TTL: time.Minute, MinRefetch: 10 * time.Second, StaleFor: time.Minute}
	for _, m := range mod {
		m(&cfg)
	}
	return remotekeys.New(cfg)
}

func kids(keys []jose.JSONWebKey) string {
	var out []string
	for _, k := range keys {
		out = append(out, k.KeyID)
	}
	return strings.Join(out, ",")
}

// TestCacheRefetch: a set is kept for its TTL; an unknown kid refetches at
// most once per MinRefetch, so a stream of made-up kids costs one fetch; a
// key published later is found after MinRefetch; after the TTL the set is
// fetched again.
func TestCacheRefetch(t *testing.T) {
	ctx := context.Background()
	p := newPublisher(t)
	a, _ := newKey(t, "a")
	p.publish(t, a)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := newCache(p, clk)
	url := p.srv.URL + "/jwks"

	if got, err := c.Keys(ctx, url, "a"); err != nil || kids(got) != "a" {
		t.Fatalf("Keys(a) = %v, %v", kids(got), err)
	}
	for i := range 50 {
		if got, err := c.Keys(ctx, url, "made-up-"+string(rune('a'+i%26))); err != nil || len(got) != 0 {
			t.Fatalf("Keys(unknown) = %v, %v", kids(got), err)
		}
	}
	if n := p.fetches.Load(); n != 1 {
		t.Fatalf("fetches after a known kid and 50 unknown within MinRefetch = %d, want 1", n)
	}
	clk.add(10 * time.Second)
	for range 50 {
		_, _ = c.Keys(ctx, url, "made-up")
	}
	if n := p.fetches.Load(); n != 2 {
		t.Fatalf("fetches after MinRefetch and 50 more unknown kids = %d, want 2", n)
	}
	b, _ := newKey(t, "b")
	p.publish(t, a, b)
	if got, _ := c.Keys(ctx, url, "b"); len(got) != 0 {
		t.Fatalf("b found before MinRefetch passed: a fetch was not rate-limited")
	}
	clk.add(10 * time.Second)
	if got, err := c.Keys(ctx, url, "b"); err != nil || kids(got) != "b" {
		t.Fatalf("Keys(b) after MinRefetch = %v, %v", kids(got), err)
	}
	if got, _ := c.Keys(ctx, url, ""); kids(got) != "a,b" {
		t.Fatalf("Keys(\"\") = %v", kids(got))
	}
	n := p.fetches.Load()
	p.publish(t, b)
	clk.add(49 * time.Second)
	if got, _ := c.Keys(ctx, url, "a"); kids(got) != "a" || p.fetches.Load() != n {
		t.Fatalf("within TTL: Keys(a) = %v, fetches %d → %d", kids(got), n, p.fetches.Load())
	}
	clk.add(12 * time.Second)
	if got, _ := c.Keys(ctx, url, "b"); kids(got) != "b" || p.fetches.Load() != n+1 {
		t.Fatalf("after TTL: Keys(b) = %v, fetches %d → %d", kids(got), n, p.fetches.Load())
	}
	if got, _ := c.Keys(ctx, url, "a"); len(got) != 0 {
		t.Fatalf("a removed by the publisher is still served after a refetch")
	}
}

// TestCacheFailures: every bound holds — https only, no redirect, a size
// limit, a timeout — and a failing refetch serves the last set for
// StaleFor, then fails.
func TestCacheFailures(t *testing.T) {
	ctx := context.Background()
	a, _ := newKey(t, "a")
	clk := &clock{t: time.Unix(1_700_000_000, 0)}

	t.Run("http refused", func(t *testing.T) {
		p := newPublisher(t)
		c := newCache(p, clk)
		if _, err := c.Keys(ctx, "http://example.test/jwks", "a"); !errors.Is(err, remotekeys.ErrURL) {
			t.Fatalf("err = %v", err)
		}
		if p.fetches.Load() != 0 {
			t.Fatal("fetched")
		}
	})
	t.Run("redirect not followed", func(t *testing.T) {
		var followed atomic.Bool
		target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Store(true) }))
		defer target.Close()
		redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
		defer redirect.Close()
		c := remotekeys.New(remotekeys.Config{Now: clk.Now, InsecureAllowHTTP: true}) // the default client
		if _, err := c.Keys(ctx, redirect.URL, "a"); !errors.Is(err, remotekeys.ErrFetch) || followed.Load() {
			t.Fatalf("err = %v, followed = %v", err, followed.Load())
		}
	})
	t.Run("too large", func(t *testing.T) {
		p := newPublisher(t)
		p.publish(t, a)
		c := newCache(p, clk, func(cfg *remotekeys.Config) { cfg.MaxBytes = 64 })
		if _, err := c.Keys(ctx, p.srv.URL, "a"); !errors.Is(err, remotekeys.ErrDocument) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		p := newPublisher(t)
		p.publish(t, a)
		p.set(func(p *publisher) { p.delay = 300 * time.Millisecond })
		c := newCache(p, clk, func(cfg *remotekeys.Config) { cfg.Timeout = 50 * time.Millisecond })
		start := time.Now()
		if _, err := c.Keys(ctx, p.srv.URL, "a"); !errors.Is(err, remotekeys.ErrFetch) || time.Since(start) > 250*time.Millisecond {
			t.Fatalf("err = %v after %s", err, time.Since(start))
		}
	})
	t.Run("malformed and private keys", func(t *testing.T) {
		p := newPublisher(t)
		_, priv := newKey(t, "private")
		b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{a, {Key: priv, KeyID: "private"}, {Key: []byte("0123456789abcdef"), KeyID: "oct"}}})
		// An unknown key type is dropped, not fatal.
		b = []byte(strings.Replace(string(b), `"keys":[`, `"keys":[{"kty":"XYZ","kid":"odd"},`, 1))
		p.set(func(p *publisher) { p.body = b })
		c := newCache(p, clk)
		if got, err := c.Keys(ctx, p.srv.URL, ""); err != nil || kids(got) != "a" {
			t.Fatalf("Keys = %v, %v; want the public key alone", kids(got), err)
		}
		p.set(func(p *publisher) { p.body = []byte(`[1,2]`) })
		c = newCache(p, clk)
		if _, err := c.Keys(ctx, p.srv.URL, ""); !errors.Is(err, remotekeys.ErrDocument) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("stale while failing", func(t *testing.T) {
		p := newPublisher(t)
		p.publish(t, a)
		clk := &clock{t: time.Unix(1_700_000_000, 0)}
		c := newCache(p, clk)
		if got, err := c.Keys(ctx, p.srv.URL, "a"); err != nil || len(got) != 1 {
			t.Fatal(err)
		}
		p.set(func(p *publisher) { p.status = http.StatusInternalServerError })
		clk.add(90 * time.Second) // past TTL, within StaleFor
		if got, err := c.Keys(ctx, p.srv.URL, "a"); err != nil || len(got) != 1 {
			t.Fatalf("stale set not served: %v, %v", kids(got), err)
		}
		clk.add(60 * time.Second) // past TTL + StaleFor
		if _, err := c.Keys(ctx, p.srv.URL, "a"); !errors.Is(err, remotekeys.ErrFetch) {
			t.Fatalf("err = %v, want ErrFetch once the set is too old", err)
		}
	})
}

// TestCacheSingleFlight: many requests for a URL at once cost one fetch.
func TestCacheSingleFlight(t *testing.T) {
	p := newPublisher(t)
	a, _ := newKey(t, "a")
	p.publish(t, a)
	p.set(func(p *publisher) { p.delay = 50 * time.Millisecond })
	c := newCache(p, &clock{t: time.Unix(1_700_000_000, 0)})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if got, err := c.Keys(context.Background(), p.srv.URL, "a"); err != nil || len(got) != 1 {
				t.Errorf("Keys = %v, %v", kids(got), err)
			}
		})
	}
	wg.Wait()
	if n := p.fetches.Load(); n != 1 {
		t.Fatalf("fetches = %d, want 1", n)
	}
}

// TestCacheBounded: at most MaxEntries URLs are kept; the least recently
// used goes first.
func TestCacheBounded(t *testing.T) {
	p := newPublisher(t)
	a, _ := newKey(t, "a")
	p.publish(t, a)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := newCache(p, clk, func(cfg *remotekeys.Config) { cfg.MaxEntries = 2 })
	ctx := context.Background()
	for _, path := range []string{"/1", "/2", "/1", "/3"} {
		clk.add(time.Second)
		if _, err := c.Keys(ctx, p.srv.URL+path, "a"); err != nil {
			t.Fatal(err)
		}
	}
	n := p.fetches.Load()
	_, _ = c.Keys(ctx, p.srv.URL+"/1", "a") // kept
	if p.fetches.Load() != n {
		t.Fatal("the recently used entry was evicted")
	}
	_, _ = c.Keys(ctx, p.srv.URL+"/2", "a") // evicted: fetched again
	if p.fetches.Load() != n+1 {
		t.Fatal("the least recently used entry was kept past MaxEntries")
	}
}

// TestDefaultClientRefusesLoopback: a jwks_uri on a loopback host, by
// address or by a name that resolves to one, is never connected to by the
// default client: no key publisher lives there, and the server's own
// loopback services (its metrics, a sidecar, a database) must not be
// reachable through a client's registration.
func TestDefaultClientRefusesLoopback(t *testing.T) {
	addr, accepted := testutil.CountingListener(t)
	_, port, _ := net.SplitHostPort(addr)
	c := remotekeys.New(remotekeys.Config{Timeout: 2 * time.Second})
	for _, host := range []string{"127.0.0.1", "localhost"} {
		u := fmt.Sprintf("https://%s:%s/jwks.json", host, port)
		if _, err := c.Keys(t.Context(), u, ""); err == nil {
			t.Errorf("%s: no error", u)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the default client connected to loopback %d times", n)
	}
}

// TestDefaultClientAddresses: the refusal is ErrAddress, also for the
// link-local address of the cloud metadata services (which is never
// dialled); AllowLoopback, for development, lets loopback through.
func TestDefaultClientAddresses(t *testing.T) {
	addr, accepted := testutil.CountingListener(t)
	_, port, _ := net.SplitHostPort(addr)
	c := remotekeys.New(remotekeys.Config{Timeout: 2 * time.Second})
	for _, u := range []string{
		fmt.Sprintf("https://127.0.0.1:%s/jwks.json", port),
		"https://169.254.169.254/latest/jwks.json",
		"https://[::ffff:169.254.169.254]/jwks.json",
		"https://0.0.0.0/jwks.json",
	} {
		if _, err := c.Keys(t.Context(), u, ""); !errors.Is(err, remotekeys.ErrAddress) {
			t.Errorf("%s: %v, want ErrAddress", u, err)
		}
	}
	dev := remotekeys.New(remotekeys.Config{Timeout: 2 * time.Second, AllowLoopback: true})
	u := fmt.Sprintf("https://127.0.0.1:%s/jwks.json", port)
	if _, err := dev.Keys(t.Context(), u, ""); err == nil || errors.Is(err, remotekeys.ErrAddress) {
		t.Errorf("AllowLoopback: %v, want the TLS handshake's failure", err)
	}
	if accepted.Load() != 1 {
		t.Errorf("AllowLoopback: %d connections, want 1", accepted.Load())
	}
}
