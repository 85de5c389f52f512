package remotekeys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Defaults of Config.
const (
	DefaultTimeout    = 5 * time.Second
	DefaultMaxBytes   = 256 << 10
	DefaultMaxKeys    = 100
	DefaultTTL        = 5 * time.Minute
	DefaultMinRefetch = 30 * time.Second
	DefaultStaleFor   = time.Hour
	DefaultMaxEntries = 1024
)

// Config configures a Cache; zero fields take the defaults.
type Config struct {
	// Client fetches; by default NewClient(Timeout, AllowLoopback).
	Client *http.Client
	// Timeout bounds one fetch, connection to last byte.
	Timeout time.Duration
	// MaxBytes bounds a JWK Set document; MaxKeys the keys kept of one.
	MaxBytes int64
	MaxKeys  int
	// TTL is how long a fetched set is used before it is fetched again.
	TTL time.Duration
	// MinRefetch is the least time between two fetches of one URL when a
	// key ID is unknown or a fetch failed.
	MinRefetch time.Duration
	// StaleFor is how long past its TTL a set keeps serving while the
	// fetches that would replace it fail.
	StaleFor time.Duration
	// MaxEntries bounds the URLs cached; the least recently used goes.
	MaxEntries int
	// InsecureAllowHTTP lets http:// URLs through (tests, loopback labs).
	InsecureAllowHTTP bool
	// AllowLoopback lets the default client connect to loopback
	// addresses (development); see NewClient.
	AllowLoopback bool
	Now           func() time.Time
}

// Errors of Keys.
var (
	ErrURL      = errors.New("the JWKS URL is not an absolute https URL")
	ErrFetch    = errors.New("the JWK Set could not be fetched")
	ErrDocument = errors.New("the JWK Set is malformed")
	// ErrAddress is why NewClient's clients refuse to connect to an
	// address (wrapped in the fetch's error).
	ErrAddress = errors.New("keys are not fetched from loopback, link-local, unspecified or multicast addresses")
)

// Cache fetches and keeps JWK Sets by URL. It is safe for concurrent use.
type Cache struct {
	cfg Config

	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	keys      []jose.JSONWebKey
	fetchedAt time.Time // zero until a fetch succeeded
	triedAt   time.Time // the last fetch's start
	lastUsed  time.Time
	err       error         // the last fetch's failure, nil after a success
	inflight  chan struct{} // closed when the running fetch ends; nil when none runs
}

// New returns a Cache for cfg.
func New(cfg Config) *Cache {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MinRefetch <= 0 {
		cfg.MinRefetch = DefaultMinRefetch
	}
	if cfg.StaleFor < 0 {
		cfg.StaleFor = 0
	} else if cfg.StaleFor == 0 {
		cfg.StaleFor = DefaultStaleFor
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client == nil {
		cfg.Client = NewClient(cfg.Timeout, cfg.AllowLoopback)
	}
	return &Cache{cfg: cfg, entries: map[string]*entry{}}
}

// NewClient returns the HTTP client that fetches others' keys by default
// (this package's Cache, and package federation's discovery documents): each
// request bounded by timeout, from dialling to the last byte; no redirect
// followed (a key set is where its owner says it is); no proxy from the
// environment; and no connection to an address that is never a key
// publisher's: loopback (unless allowLoopback), link-local (the cloud
// metadata services at 169.254.169.254 among them), unspecified or
// multicast. The address is checked as it is dialled, after name
// resolution, so a name that resolves to one (localhost, a DNS rebinding)
// is refused too. Private addresses (10/8, 172.16/12, 192.168/16, fc00::/7)
// are allowed: an in-cluster issuer or an internal service's jwks_uri lives
// there (docs/clients-without-secrets.md).
func NewClient(timeout time.Duration, allowLoopback bool) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || refusedAddr(ap.Addr(), allowLoopback) {
			return fmt.Errorf("%w: %s", ErrAddress, address)
		}
		return nil
	}}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       time.Minute,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// refusedAddr reports whether NewClient's clients refuse to connect to ip.
func refusedAddr(ip netip.Addr, allowLoopback bool) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() {
		return !allowLoopback
	}
	return ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast()
}

// CheckURL reports whether u is a URL the cache fetches: absolute, https
// (or http with InsecureAllowHTTP), with a host, no user info and no
// fragment.
func CheckURL(u string, insecureAllowHTTP bool) error {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.User != nil || p.Fragment != "" ||
		!(p.Scheme == "https" || insecureAllowHTTP && p.Scheme == "http") {
		return fmt.Errorf("%w: %q", ErrURL, u)
	}
	return nil
}

// Keys returns the keys of the set at url whose key ID is kid (every key
// for an empty kid). It fetches the set when it has none or its TTL has
// passed, and when kid is not in it, but not more than once per MinRefetch;
// while a fetch fails, a set fetched within TTL+StaleFor keeps serving. An
// unknown kid is no error: the result is empty.
func (c *Cache) Keys(ctx context.Context, url, kid string) ([]jose.JSONWebKey, error) {
	if err := CheckURL(url, c.cfg.InsecureAllowHTTP); err != nil {
		return nil, err
	}
	for {
		now := c.cfg.Now()
		c.mu.Lock()
		e := c.entry(url, now)
		fresh := !e.fetchedAt.IsZero() && now.Before(e.fetchedAt.Add(c.cfg.TTL))
		found := pick(e.keys, kid)
		mayFetch := e.triedAt.IsZero() || now.Sub(e.triedAt) >= c.cfg.MinRefetch
		if (fresh && len(found) > 0) || !mayFetch && e.inflight == nil {
			keys, err := c.usable(e, found, now)
			c.mu.Unlock()
			return keys, err
		}
		if e.inflight == nil {
			e.inflight, e.triedAt = make(chan struct{}), now
			done := e.inflight
			c.mu.Unlock()
			keys, err := c.fetch(ctx, url)
			c.mu.Lock()
			if err == nil {
				e.keys, e.fetchedAt, e.err = keys, c.cfg.Now(), nil
			} else {
				e.err = err
			}
			e.inflight = nil
			close(done)
			out, err := c.usable(e, pick(e.keys, kid), c.cfg.Now())
			c.mu.Unlock()
			return out, err
		}
		wait := e.inflight
		c.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrFetch, ctx.Err())
		}
	}
}

// usable returns found if e's set may still serve, or e's fetch error.
func (c *Cache) usable(e *entry, found []jose.JSONWebKey, now time.Time) ([]jose.JSONWebKey, error) {
	if !e.fetchedAt.IsZero() && now.Before(e.fetchedAt.Add(c.cfg.TTL+c.cfg.StaleFor)) {
		return found, nil
	}
	if e.err != nil {
		return nil, e.err
	}
	return nil, fmt.Errorf("%w: not fetched yet", ErrFetch)
}

// entry returns url's entry, making room for a new one. c.mu is held.
func (c *Cache) entry(url string, now time.Time) *entry {
	e, ok := c.entries[url]
	if !ok {
		if len(c.entries) >= c.cfg.MaxEntries {
			var oldest string
			var at time.Time
			for u, v := range c.entries {
				if v.inflight == nil && (oldest == "" || v.lastUsed.Before(at)) {
					oldest, at = u, v.lastUsed
				}
			}
			delete(c.entries, oldest)
		}
		e = &entry{}
		c.entries[url] = e
	}
	e.lastUsed = now
	return e
}

func pick(keys []jose.JSONWebKey, kid string) []jose.JSONWebKey {
	if kid == "" {
		return keys
	}
	var out []jose.JSONWebKey
	for _, k := range keys {
		if k.KeyID == kid {
			out = append(out, k)
		}
	}
	return out
}

// fetch GETs url and returns its public keys.
func (c *Cache) fetch(ctx context.Context, url string) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered %d", ErrFetch, url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	if int64(len(body)) > c.cfg.MaxBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrDocument, c.cfg.MaxBytes)
	}
	return parse(body, c.cfg.MaxKeys)
}

// parse reads a JWK Set, keeping the public asymmetric keys go-jose reads
// (at most max) and dropping the rest.
func parse(body []byte, max int) ([]jose.JSONWebKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil || doc.Keys == nil {
		return nil, fmt.Errorf("%w: not a JSON object with a keys array", ErrDocument)
	}
	var out []jose.JSONWebKey
	for _, raw := range doc.Keys {
		var k jose.JSONWebKey
		if k.UnmarshalJSON(raw) != nil || !k.Valid() || !k.IsPublic() {
			continue
		}
		if out = append(out, k); len(out) == max {
			break
		}
	}
	return out, nil
}
