package throttle

import (
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// Buckets is a bounded table of token buckets keyed by K: each key may spend
// Burst tokens, refilled at Burst per Window. A key whose bucket is full
// holds no state; when a shard reaches its share of MaxKeys, full buckets
// are dropped first, then arbitrary ones (which only forgives a key early).
type Buckets[K comparable] struct {
	burst  float64
	rate   float64 // tokens per second
	maxPer int
	seed   maphash.Seed
	hash   func(maphash.Seed, K) uint64
	shards [shardCount]shard[K]
}

const shardCount = 64

type shard[K comparable] struct {
	mu sync.Mutex
	m  map[K]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewBuckets returns buckets of burst tokens refilled over window, holding
// at most about maxKeys keys; hash spreads keys over the shards.
func NewBuckets[K comparable](burst int, window time.Duration, maxKeys int, hash func(maphash.Seed, K) uint64) *Buckets[K] {
	b := &Buckets[K]{
		burst: float64(burst), rate: float64(burst) / window.Seconds(),
		maxPer: max(1, maxKeys/shardCount), seed: maphash.MakeSeed(), hash: hash,
	}
	for i := range b.shards {
		b.shards[i].m = map[K]*bucket{}
	}
	return b
}

func (b *Buckets[K]) shard(k K) *shard[K] {
	return &b.shards[b.hash(b.seed, k)%shardCount]
}

// level returns the bucket's tokens at now.
func (b *Buckets[K]) level(bk *bucket, now time.Time) float64 {
	return math.Min(b.burst, bk.tokens+now.Sub(bk.at).Seconds()*b.rate)
}

// wait is how long until the bucket at level holds one token.
func (b *Buckets[K]) wait(level float64) time.Duration {
	if level >= 1 {
		return 0
	}
	return time.Duration((1 - level) / b.rate * float64(time.Second))
}

// Check reports whether k may spend a token at now, without spending it, and
// if not how long until it may.
func (b *Buckets[K]) Check(k K, now time.Time) (ok bool, retryAfter time.Duration) {
	s := b.shard(k)
	s.mu.Lock()
	bk, found := s.m[k]
	if !found {
		s.mu.Unlock()
		return true, 0
	}
	lvl := b.level(bk, now)
	s.mu.Unlock()
	return lvl >= 1, b.wait(lvl)
}

// Take spends one of k's tokens at now if it has one. It returns whether it
// did, the whole tokens left, and how long until the next token.
func (b *Buckets[K]) Take(k K, now time.Time) (ok bool, remaining int, retryAfter time.Duration) {
	s := b.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	bk, found := s.m[k]
	lvl := b.burst
	if found {
		lvl = b.level(bk, now)
	} else {
		if len(s.m) >= b.maxPer {
			b.evict(s, now)
		}
		bk = &bucket{}
		s.m[k] = bk
	}
	if lvl < 1 {
		bk.tokens, bk.at = lvl, now
		return false, 0, b.wait(lvl)
	}
	lvl--
	bk.tokens, bk.at = lvl, now
	return true, int(lvl), b.wait(lvl)
}

// Len returns how many keys hold state.
func (b *Buckets[K]) Len() int {
	n := 0
	for i := range b.shards {
		s := &b.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// evict makes room in s: full buckets go first; if none, an arbitrary
// eighth of the shard.
func (b *Buckets[K]) evict(s *shard[K], now time.Time) {
	for k, bk := range s.m {
		if b.level(bk, now) >= b.burst {
			delete(s.m, k)
		}
	}
	if len(s.m) < b.maxPer {
		return
	}
	n := max(1, len(s.m)/8)
	for k := range s.m {
		delete(s.m, k)
		if n--; n == 0 {
			return
		}
	}
}
