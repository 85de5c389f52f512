package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keySet is the issuer's JWKS (RFC 7517 §5), cached.
type keySet struct {
	cfg       *Config
	hc        *http.Client
	now       func() time.Time
	onRemoval func() // called when a fetch drops a kid

	mu       sync.Mutex
	url      string                       // resolved JWKS URL
	keys     map[string][]jose.JSONWebKey // by kid
	loaded   bool
	expires  time.Time // keys are fresh until then
	lastTry  time.Time // start of the last fetch
	failedAt time.Time // end of the last failed fetch
	flight   *fetchCall
}

type fetchCall struct {
	done chan struct{}
	err  error
}

// fetchTimeout bounds one fetch of metadata and keys.
const fetchTimeout = 10 * time.Second

// failurePause is the least time between a failed fetch and the next.
const failurePause = time.Second

// key returns the public key named kid that fits alg, fetching the key set
// when it is stale, and once — rate limited — when kid is unknown.
func (s *keySet) key(ctx context.Context, kid, alg string) (any, error) {
	for fetched := false; ; fetched = true {
		s.mu.Lock()
		now := s.now()
		k, found := s.lookup(kid, alg)
		fresh := s.loaded && now.Before(s.expires)
		var c *fetchCall
		switch {
		case found && fresh:
			s.mu.Unlock()
			return k, nil
		case fetched:
			// After a fetch, the answer stands.
		case s.flight != nil:
			if !found {
				c = s.flight
			} // else: a stale key while another caller refreshes
		case !s.failedAt.IsZero() && now.Sub(s.failedAt) < failurePause:
			// The last fetch failed a moment ago: no new one yet.
		case !fresh:
			c = s.startLocked(ctx)
		case now.Sub(s.lastTry) >= s.cfg.RefetchInterval:
			c = s.startLocked(ctx) // an unknown kid: one refetch
		}
		loaded := s.loaded
		s.mu.Unlock()
		if c == nil {
			switch {
			case found:
				return k, nil // stale keys beat no keys
			case !loaded:
				return nil, fmt.Errorf("verify: %w", ErrKeysUnavailable)
			}
			return nil, fmt.Errorf("verify: %w (kid %q)", ErrUnknownKey, kid)
		}
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("verify: %w: %w", ErrKeysUnavailable, ctx.Err())
		}
		if c.err != nil {
			s.mu.Lock()
			loaded := s.loaded
			s.mu.Unlock()
			if !loaded {
				return nil, fmt.Errorf("verify: %w: %w", ErrKeysUnavailable, c.err)
			}
		}
	}
}

// lookup finds the key named kid that fits alg. s.mu must be held.
func (s *keySet) lookup(kid, alg string) (any, bool) {
	for _, k := range s.keys[kid] {
		if fits(k, alg) {
			return k.Key, true
		}
	}
	return nil, false
}

// fits reports whether k may verify a JWS with alg: its `alg`, if set, is
// alg, its `use`, if set, is "sig", and its type and size suit alg.
func fits(k jose.JSONWebKey, alg string) bool {
	if (k.Algorithm != "" && k.Algorithm != alg) || (k.Use != "" && k.Use != "sig") {
		return false
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		return (strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")) && pub.N.BitLen() >= 2048
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return pub.Curve == elliptic.P256()
		case "ES384":
			return pub.Curve == elliptic.P384()
		case "ES512":
			return pub.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// startLocked starts a fetch that callers share, detached from ctx's
// cancellation. s.mu must be held.
func (s *keySet) startLocked(ctx context.Context) *fetchCall {
	c := &fetchCall{done: make(chan struct{})}
	s.flight = c
	s.lastTry = s.now()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	go func() {
		defer cancel()
		keys, age, err := s.fetch(fctx)
		s.mu.Lock()
		s.flight = nil
		removed := false
		if err == nil {
			for kid := range s.keys {
				if _, ok := keys[kid]; !ok {
					removed = true
				}
			}
			s.keys, s.loaded, s.failedAt = keys, true, time.Time{}
			s.expires = s.now().Add(age)
		} else {
			s.failedAt = s.now()
		}
		s.mu.Unlock()
		if removed && s.onRemoval != nil {
			s.onRemoval()
		}
		c.err = err
		close(c.done)
	}()
	return c
}

// maxDoc bounds a metadata or JWKS document.
const maxDoc = 1 << 20

// fetch reads the key set, resolving its URL from the issuer's metadata
// first if needed, and returns it with how long to use it.
func (s *keySet) fetch(ctx context.Context) (map[string][]jose.JSONWebKey, time.Duration, error) {
	s.mu.Lock()
	u := s.url
	s.mu.Unlock()
	if u == "" {
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		metaURL := strings.TrimRight(s.cfg.Issuer, "/") + "/.well-known/openid-configuration"
		if _, err := s.get(ctx, metaURL, &meta); err != nil {
			return nil, 0, err
		}
		if meta.Issuer != s.cfg.Issuer {
			return nil, 0, fmt.Errorf("metadata issuer %q is not the configured issuer %q (RFC 8414 §3.3)", meta.Issuer, s.cfg.Issuer)
		}
		if err := checkURL(meta.JWKSURI, s.cfg.InsecureAllowHTTP); err != nil {
			return nil, 0, fmt.Errorf("metadata jwks_uri %q: %w", meta.JWKSURI, err)
		}
		u = meta.JWKSURI
		s.mu.Lock()
		s.url = u
		s.mu.Unlock()
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	h, err := s.get(ctx, u, &set)
	if err != nil {
		return nil, 0, err
	}
	keys := map[string][]jose.JSONWebKey{}
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if json.Unmarshal(raw, &k) != nil || k.KeyID == "" {
			continue // a key this package cannot use; RFC 7517 §5: ignore it
		}
		if !k.IsPublic() {
			k = k.Public() // a private or symmetric key has no place here
			if k.Key == nil {
				continue
			}
		}
		keys[k.KeyID] = append(keys[k.KeyID], k)
	}
	return keys, s.age(h), nil
}

// age is how long to use a key set: its Cache-Control max-age (RFC 9111
// §5.2.2.1) less the Age a cache in between held it (§4.2.3), within
// [JWKSMinAge, JWKSMaxAge] (by default as the issuer says, down to a floor
// of one second against a zero); no-store or no-cache mean the minimum;
// none means DefaultJWKSAge.
func (s *keySet) age(h http.Header) time.Duration {
	age := DefaultJWKSAge
	for d := range strings.SplitSeq(strings.Join(h.Values("Cache-Control"), ","), ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case d == "no-store" || d == "no-cache":
			return s.cfg.JWKSMinAge
		case strings.HasPrefix(d, "max-age="):
			if n, ok := deltaSeconds(strings.Trim(d[len("max-age="):], `"`)); ok {
				age = n
				if held, ok := deltaSeconds(h.Get("Age")); ok {
					age -= min(held, age)
				}
			}
		}
	}
	return min(max(age, s.cfg.JWKSMinAge), s.cfg.JWKSMaxAge)
}

// deltaSeconds reads a non-negative number of seconds (RFC 9111 §1.2.2),
// at most 2^32.
func deltaSeconds(v string) (time.Duration, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return time.Duration(min(n, 1<<32)) * time.Second, true
}

func (s *keySet) get(ctx context.Context, u string, v any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDoc))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, errors.New("GET " + u + ": not a JSON document")
	}
	return resp.Header, nil
}
