package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/remotekeys"
)

// Bounds of the issuer key cache (docs/clients-without-secrets.md).
const (
	// FetchTimeout bounds one fetch of a discovery document or a JWKS.
	FetchTimeout = 5 * time.Second
	// maxDiscoveryBytes and maxJWKSBytes bound the bodies read.
	maxDiscoveryBytes = 64 << 10
	maxJWKSBytes      = 256 << 10
	// maxKeys bounds the keys kept of one JWKS.
	maxKeys = 50
	// KeysTTL is how long an issuer's discovery document and JWKS are
	// kept before they are fetched again.
	KeysTTL = time.Hour
	// MaxStale is how long past KeysTTL they still serve while the issuer
	// cannot be reached.
	MaxStale = 24 * time.Hour
	// RefetchInterval is the least time between two fetches of one issuer's
	// discovery document or JWKS (a token naming a kid the cached JWKS
	// lacks, a failed fetch): a flood of made-up kids costs the issuer one
	// fetch a minute at most.
	RefetchInterval = time.Minute
	// DefaultMaxIssuers bounds how many issuers' keys are kept; the least
	// recently used goes first.
	DefaultMaxIssuers = 100
)

// JWKS fetches and caches the key set at a URL (package remotekeys): the
// keys whose kid is kid, every key for an empty kid, none for an unknown
// one.
type JWKS interface {
	Keys(ctx context.Context, url, kid string) ([]jose.JSONWebKey, error)
}

var _ JWKS = (*remotekeys.Cache)(nil)

// newJWKS is the key set cache of the issuers, remotekeys with this
// package's bounds.
func newJWKS(client *http.Client, insecure bool, now func() time.Time, maxIssuers int) JWKS {
	return remotekeys.New(remotekeys.Config{
		Client: client, Timeout: FetchTimeout, MaxBytes: maxJWKSBytes, MaxKeys: maxKeys, TTL: KeysTTL,
		MinRefetch: RefetchInterval, StaleFor: MaxStale, MaxEntries: maxIssuers, InsecureAllowHTTP: insecure, Now: now,
	})
}

// discovered is the cache entry of one issuer's discovery document.
type discovered struct {
	jwksURI  string
	fetched  time.Time // zero until a fetch succeeded
	lastTry  time.Time // the last fetch's start
	err      error     // the last fetch's failure, nil after a success
	fetching chan struct{}
	used     time.Time
}

// keyCache finds a trusted issuer's keys: its jwks_uri through OpenID
// Connect Discovery 1.0 §4, cached here with the bounds above, and the
// keys there through JWKS.
type keyCache struct {
	client     *http.Client
	insecure   bool
	now        func() time.Time
	maxIssuers int
	jwks       JWKS
	fetches    func() // counts discovery fetches, for tests; may be nil

	mu sync.Mutex
	m  map[string]*discovered
}

// errNoKeys is the failure of an issuer with no usable keys.
var errNoKeys = errors.New("the issuer's keys could not be fetched")

// keys returns the issuer's keys that kid names (all of them for an empty
// kid).
func (c *keyCache) keys(ctx context.Context, issuer, kid string) ([]jose.JSONWebKey, error) {
	uri, err := c.jwksURI(ctx, issuer)
	if err != nil {
		return nil, err
	}
	if err := c.allowed(uri); err != nil {
		return nil, fmt.Errorf("%w: jwks_uri: %w", errNoKeys, err)
	}
	keys, err := c.jwks.Keys(ctx, uri, kid)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoKeys, err)
	}
	return keys, nil
}

// jwksURI returns the issuer's jwks_uri, fetching its discovery document
// when there is none yet or it is older than KeysTTL, at most once per
// RefetchInterval and once at a time (callers wait for the fetch under
// way); a document past KeysTTL still serves for MaxStale while fetches
// fail.
func (c *keyCache) jwksURI(ctx context.Context, issuer string) (string, error) {
	for {
		c.mu.Lock()
		e := c.entry(issuer)
		now := c.now()
		e.used = now
		if !e.fetched.IsZero() && now.Before(e.fetched.Add(KeysTTL)) {
			uri := e.jwksURI
			c.mu.Unlock()
			return uri, nil
		}
		if wait := e.fetching; wait != nil {
			c.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		if !e.lastTry.IsZero() && now.Sub(e.lastTry) < RefetchInterval {
			uri, err := e.usable(now)
			c.mu.Unlock()
			return uri, err
		}
		e.lastTry, e.fetching = now, make(chan struct{})
		c.mu.Unlock()

		uri, err := c.discover(ctx, issuer)

		c.mu.Lock()
		if err == nil {
			e.jwksURI, e.fetched, e.err = uri, c.now(), nil
		} else {
			e.err = err
		}
		close(e.fetching)
		e.fetching = nil
		uri, err = e.usable(c.now())
		c.mu.Unlock()
		return uri, err
	}
}

// usable returns the entry's jwks_uri while within KeysTTL+MaxStale of its
// fetch, or the last fetch's failure.
func (e *discovered) usable(now time.Time) (string, error) {
	if !e.fetched.IsZero() && now.Before(e.fetched.Add(KeysTTL+MaxStale)) {
		return e.jwksURI, nil
	}
	if e.err != nil {
		return "", fmt.Errorf("%w: %w", errNoKeys, e.err)
	}
	return "", errNoKeys
}

// entry returns issuer's entry, making room for it by dropping the least
// recently used one that is not being fetched. Called with c.mu held.
func (c *keyCache) entry(issuer string) *discovered {
	if e, ok := c.m[issuer]; ok {
		return e
	}
	if len(c.m) >= c.maxIssuers {
		var oldest string
		for iss, e := range c.m {
			if e.fetching == nil && (oldest == "" || e.used.Before(c.m[oldest].used)) {
				oldest = iss
			}
		}
		delete(c.m, oldest)
	}
	e := &discovered{}
	c.m[issuer] = e
	return e
}

// discover reads the issuer's discovery document (OpenID Connect
// Discovery 1.0 §4) under FetchTimeout whatever the request's own
// deadline, so that a request that gives up does not spoil the fetch for
// the others waiting on it, and returns its jwks_uri.
func (c *keyCache) discover(ctx context.Context, issuer string) (string, error) {
	if c.fetches != nil {
		c.fetches()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FetchTimeout)
	defer cancel()
	if err := c.allowed(issuer); err != nil {
		return "", err
	}
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := c.get(ctx, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &meta); err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	if meta.Issuer != issuer {
		// §4.3: the issuer in the document must be the one asked for.
		return "", errors.New("discovery: the document names another issuer")
	}
	if err := c.allowed(meta.JWKSURI); err != nil {
		return "", fmt.Errorf("discovery: jwks_uri: %w", err)
	}
	return meta.JWKSURI, nil
}

// allowed reports whether the URL may be fetched: https, or http on a
// loopback host under InsecureHTTP.
func (c *keyCache) allowed(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("not an absolute URL")
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && c.insecure && Loopback(u.Hostname()):
		return nil
	case u.Scheme == "http" && Loopback(u.Hostname()):
		return errors.New("an http URL is fetched only under the insecure development setting")
	}
	return errors.New("not an https URL")
}

// get fetches a JSON document of at most maxDiscoveryBytes into v.
// Redirects are not followed.
func (c *keyCache) get(ctx context.Context, target string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return errors.New("the response is not JSON")
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryBytes+1))
	if err != nil {
		return err
	}
	if len(body) > maxDiscoveryBytes {
		return fmt.Errorf("the response is larger than %d bytes", maxDiscoveryBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errors.New("the response is not valid JSON")
	}
	return nil
}
