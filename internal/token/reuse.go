package token

import (
	"hash/maphash"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// DefaultReuseEntries is how many tokens a reuse cache holds unless told
// otherwise: about 1 KiB each with RS256, so about 10 MiB.
const DefaultReuseEntries = 10000

// reuseShards spreads the cache over locks so that concurrent requests for
// different clients do not wait on one another.
const reuseShards = 32

// KeyIDer is what token reuse needs of a Signer: the kid of the key that
// signs alg now, so that a token signed by an older key is not handed out
// again after a rotation.
type KeyIDer interface {
	CurrentKeyID(alg string) (string, bool)
}

// reuseCache remembers the last token issued per client, audience, scope
// and grant type. A token is given again while more than half of its
// lifetime remains (RFC 6749 §5.1 lets expires_in be what remains), and only
// while the client, the API and the signing key are the very ones it was
// issued under: the catalog replaces a client's record whenever its secrets,
// grants or disabled state change, and an API's when it changes, so pointer
// identity is the invalidation. Memory is bounded by a per-shard capacity;
// a full shard drops expired entries, then an arbitrary one.
type reuseCache struct {
	seed   maphash.Seed
	shards [reuseShards]reuseShard
	per    int // capacity of one shard
	// denylist, if set, withholds a revoked token (revoked.go).
	denylist Denylist
}

type reuseShard struct {
	mu sync.Mutex
	m  map[reuseKey]*reuseEntry
}

type reuseKey struct {
	clientID, subject, audience, scope, grantType string
}

type reuseEntry struct {
	token    string
	exp, iat int64
	client   *catalog.Client
	api      *storage.API
	kid      string
	jti      string // read from the token when a denylist is set
}

func newReuseCache(entries int) *reuseCache {
	if entries <= 0 {
		entries = DefaultReuseEntries
	}
	c := &reuseCache{seed: maphash.MakeSeed(), per: max(1, entries/reuseShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[reuseKey]*reuseEntry)
	}
	return c
}

func (c *reuseCache) shard(k *reuseKey) *reuseShard {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(k.clientID)
	h.WriteByte(0)
	h.WriteString(k.audience)
	return &c.shards[h.Sum64()%reuseShards]
}

// get returns a token to give again and its remaining lifetime in seconds.
func (c *reuseCache) get(k reuseKey, client *catalog.Client, api *storage.API, kid string, now int64) (string, int64, bool) {
	s := c.shard(&k)
	s.mu.Lock()
	e := s.m[k]
	s.mu.Unlock()
	if e == nil || e.client != client || e.api != api || e.kid != kid {
		return "", 0, false
	}
	remaining := e.exp - now
	if remaining*2 <= e.exp-e.iat { // half or less of the lifetime is left
		return "", 0, false
	}
	if c.revoked(e, &k) {
		return "", 0, false
	}
	return e.token, remaining, true
}

func (c *reuseCache) put(k reuseKey, e *reuseEntry, now int64) {
	c.noteJTI(e)
	s := c.shard(&k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[k]; !ok && len(s.m) >= c.per {
		// Look at a few entries from a random place (map iteration order)
		// and drop the first that can no longer be given out, else the
		// first seen: O(1) per insert.
		var victim reuseKey
		first, seen := true, 0
		for key, old := range s.m {
			if first {
				victim, first = key, false
			}
			if (old.exp-now)*2 <= old.exp-old.iat {
				victim = key
				break
			}
			if seen++; seen == 8 {
				break
			}
		}
		delete(s.m, victim)
	}
	s.m[k] = e
}

// len returns the number of cached tokens.
func (c *reuseCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
