package dpop

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"
)

const replayShards = 64

// replayCache remembers the proofs seen (the SHA-256 of jkt and jti, 16
// bytes of it) for at least ttl, the longest a proof's iat stays
// acceptable, in two generations per shard: the current one takes new
// entries; every ttl it becomes the previous one and the previous one is
// dropped, so an entry lives between ttl and 2×ttl with no scan and no
// per-entry clock. A shard whose two generations hold its share of the
// capacity refuses new proofs (ErrReplayFull) rather than forget one that
// could still be replayed.
type replayCache struct {
	ttl    time.Duration
	per    int
	shards [replayShards]replayShard
}

type replayShard struct {
	mu        sync.Mutex
	cur, prev map[[16]byte]struct{}
	rotated   time.Time
}

func newReplayCache(entries int, ttl time.Duration) *replayCache {
	c := &replayCache{ttl: ttl, per: max(1, entries/replayShards)}
	for i := range c.shards {
		c.shards[i].cur = map[[16]byte]struct{}{}
		c.shards[i].prev = map[[16]byte]struct{}{}
	}
	return c
}

// add records jti of the key jkt, or says it was seen (ErrReplay) or that
// there is no room (ErrReplayFull).
func (c *replayCache) add(jkt, jti string, now time.Time) error {
	h := sha256.New()
	h.Write([]byte(jkt))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	var sum [32]byte
	h.Sum(sum[:0])
	var k [16]byte
	copy(k[:], sum[:16])
	s := &c.shards[binary.BigEndian.Uint64(sum[16:24])%replayShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	switch since := now.Sub(s.rotated); {
	case since >= 2*c.ttl:
		clear(s.cur)
		clear(s.prev)
		s.rotated = now
	case since >= c.ttl:
		s.prev, s.cur = s.cur, s.prev
		clear(s.cur)
		s.rotated = now
	}
	if _, ok := s.cur[k]; ok {
		return ErrReplay
	}
	if _, ok := s.prev[k]; ok {
		return ErrReplay
	}
	if len(s.cur)+len(s.prev) >= c.per {
		return ErrReplayFull
	}
	s.cur[k] = struct{}{}
	return nil
}

// len returns the number of proofs remembered.
func (c *replayCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.cur) + len(s.prev)
		s.mu.Unlock()
	}
	return n
}
