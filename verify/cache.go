package verify

import (
	"sync"
	"time"
)

// tokenCache remembers verified tokens by the SHA-256 of the token until
// they expire; it holds at most size entries.
type tokenCache struct {
	size int

	mu      sync.Mutex
	entries map[[32]byte]cached
}

type cached struct {
	claims *Claims
	until  time.Time
}

func newTokenCache(size int) *tokenCache {
	return &tokenCache{size: size, entries: make(map[[32]byte]cached, min(size, 1024))}
}

func (c *tokenCache) get(sum [32]byte, now time.Time) (*Claims, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[sum]
	if !ok {
		return nil, false
	}
	if !now.Before(e.until) {
		delete(c.entries, sum)
		return nil, false
	}
	return e.claims, true
}

// put remembers claims until until. When the cache is full it drops the
// expired entries, and then, if it must, an eighth of the others.
func (c *tokenCache) put(sum [32]byte, claims *Claims, until, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.size {
		for k, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries { // map order is random
			if len(c.entries) < c.size-c.size/8 {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[sum] = cached{claims: claims, until: until}
}

func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// clear forgets every token: a key they were verified with may be gone.
func (c *tokenCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}
