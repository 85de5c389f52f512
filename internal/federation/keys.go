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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Bounds of the issuer key cache (docs/clients-without-secrets.md).
const (
	// FetchTimeout bounds one fetch of a discovery document and JWKS.
	FetchTimeout = 5 * time.Second
	// maxDiscoveryBytes and maxJWKSBytes bound the bodies read.
	maxDiscoveryBytes = 64 << 10
	maxJWKSBytes      = 256 << 10
	// maxKeys bounds the keys kept of one JWKS.
	maxKeys = 50
	// DefaultKeysTTL is how long a JWKS is kept without a Cache-Control
	// max-age; a max-age counts between MinKeysTTL and MaxKeysTTL.
	DefaultKeysTTL = time.Hour
	MinKeysTTL     = 5 * time.Minute
	MaxKeysTTL     = 24 * time.Hour
	// MaxStale is how long after its expiry a JWKS still serves while the
	// issuer cannot be reached.
	MaxStale = 24 * time.Hour
	// RefetchInterval is the least time between two fetches of one issuer
	// (a token naming a kid the cached JWKS lacks, a failed fetch): a flood
	// of made-up kids costs the issuer one fetch a minute at most.
	RefetchInterval = time.Minute
	// DefaultMaxIssuers bounds how many issuers' keys are kept; the least
	// recently used goes first.
	DefaultMaxIssuers = 100
)

// issuerKeys is the cache entry of one issuer.
type issuerKeys struct {
	keys     []jose.JSONWebKey
	expires  time.Time // keys are fresh until then
	lastTry  time.Time // the last fetch's start
	err      error     // the last fetch's failure, nil after a success
	fetching chan struct{}
	used     time.Time
}

// keyCache holds the keys of the trusted issuers, fetched through OpenID
// Connect Discovery 1.0 §4 and refreshed as described at the constants.
type keyCache struct {
	client     *http.Client
	insecure   bool
	now        func() time.Time
	maxIssuers int
	fetches    func() // counts fetches, for metrics and tests; may be nil

	mu sync.Mutex
	m  map[string]*issuerKeys
}

// errNoKeys is the failure of an issuer with no usable keys.
var errNoKeys = errors.New("the issuer's keys could not be fetched")

// keys returns the issuer's keys, fetching them when there are none yet,
// when they expired, or when kid is not among them, each at most once per
// RefetchInterval and once at a time (callers wait for the fetch under
// way). Keys that expired serve up to MaxStale while fetches fail.
func (c *keyCache) keys(ctx context.Context, issuer, kid string) ([]jose.JSONWebKey, error) {
	for {
		c.mu.Lock()
		e := c.entry(issuer)
		now := c.now()
		e.used = now
		fresh := e.keys != nil && now.Before(e.expires)
		if fresh && (kid == "" || hasKid(e.keys, kid)) {
			keys := e.keys
			c.mu.Unlock()
			return keys, nil
		}
		if wait := e.fetching; wait != nil {
			c.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if !e.lastTry.IsZero() && now.Sub(e.lastTry) < RefetchInterval {
			keys, err := e.usable(now)
			c.mu.Unlock()
			return keys, err
		}
		e.lastTry, e.fetching = now, make(chan struct{})
		c.mu.Unlock()

		keys, ttl, err := c.fetch(ctx, issuer)

		c.mu.Lock()
		if err == nil {
			e.keys, e.expires, e.err = keys, c.now().Add(ttl), nil
		} else {
			e.err = err
		}
		close(e.fetching)
		e.fetching = nil
		keys, err = e.usable(c.now())
		c.mu.Unlock()
		return keys, err
	}
}

// usable returns the entry's keys while fresh or within MaxStale of their
// expiry, or the last fetch's failure.
func (e *issuerKeys) usable(now time.Time) ([]jose.JSONWebKey, error) {
	if e.keys != nil && now.Before(e.expires.Add(MaxStale)) {
		return e.keys, nil
	}
	if e.err != nil {
		return nil, fmt.Errorf("%w: %w", errNoKeys, e.err)
	}
	return nil, errNoKeys
}

// entry returns issuer's entry, making room for it by dropping the least
// recently used one that is not being fetched. Called with c.mu held.
func (c *keyCache) entry(issuer string) *issuerKeys {
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
	e := &issuerKeys{}
	c.m[issuer] = e
	return e
}

func hasKid(keys []jose.JSONWebKey, kid string) bool {
	for i := range keys {
		if keys[i].KeyID == kid {
			return true
		}
	}
	return false
}

// fetch reads the issuer's discovery document and then its JWKS, under
// FetchTimeout whatever the request's own deadline, so that a request that
// gives up does not spoil the fetch for the others waiting on it.
func (c *keyCache) fetch(ctx context.Context, issuer string) ([]jose.JSONWebKey, time.Duration, error) {
	if c.fetches != nil {
		c.fetches()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FetchTimeout)
	defer cancel()
	if err := c.allowed(issuer); err != nil {
		return nil, 0, err
	}
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	// OpenID Connect Discovery 1.0 §4: the issuer without its trailing '/'
	// and the well-known path.
	if _, err := c.get(ctx, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", maxDiscoveryBytes, &meta); err != nil {
		return nil, 0, fmt.Errorf("discovery: %w", err)
	}
	if meta.Issuer != issuer {
		// §4.3: the issuer in the document must be the one asked for.
		return nil, 0, errors.New("discovery: the document names another issuer")
	}
	if err := c.allowed(meta.JWKSURI); err != nil {
		return nil, 0, fmt.Errorf("discovery: jwks_uri: %w", err)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	ttl, err := c.get(ctx, meta.JWKSURI, maxJWKSBytes, &set)
	if err != nil {
		return nil, 0, fmt.Errorf("jwks: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if json.Unmarshal(raw, &k) != nil || !k.Valid() || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			continue // a key of a type go-jose does not know, or not for signatures
		}
		if keys = append(keys, k); len(keys) == maxKeys {
			break
		}
	}
	if len(keys) == 0 {
		return nil, 0, errors.New("jwks: no usable signing key")
	}
	return keys, ttl, nil
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

// get fetches a JSON document of at most limit bytes into v and returns how
// long it may be kept (Cache-Control max-age, RFC 9111 §5.2.2.1, within
// MinKeysTTL and MaxKeysTTL). Redirects are not followed.
func (c *keyCache) get(ctx context.Context, target string, limit int64, v any) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil ||
		(mt != "application/json" && mt != "application/jwk-set+json") {
		return 0, errors.New("the response is not JSON")
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return 0, err
	}
	if int64(len(body)) > limit {
		return 0, fmt.Errorf("the response is larger than %d bytes", limit)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return 0, errors.New("the response is not valid JSON")
	}
	return maxAge(resp.Header.Values("Cache-Control")), nil
}

// maxAge returns the max-age of the Cache-Control field lines within the
// TTL bounds, DefaultKeysTTL without one.
func maxAge(lines []string) time.Duration {
	ttl := DefaultKeysTTL
	for _, line := range lines {
		for d := range strings.SplitSeq(line, ",") {
			d = strings.TrimSpace(strings.ToLower(d))
			if v, ok := strings.CutPrefix(d, "max-age="); ok {
				if n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64); err == nil && n >= 0 {
					ttl = time.Duration(min(n, int64(MaxKeysTTL/time.Second))) * time.Second
				}
			}
		}
	}
	return min(max(ttl, MinKeysTTL), MaxKeysTTL)
}

// noRedirects is the CheckRedirect of the default client: a discovery
// document or JWKS is where the issuer says it is.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
