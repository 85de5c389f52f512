package token

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// DefaultJTIEntries caps the in-memory record of used assertion JWT IDs:
// at MaxAssertionLifetime plus the leeway each, about 3,000 assertions a
// second for as long as they live.
const DefaultJTIEntries = 1 << 20

// assertionIDTimeout bounds the database write that records a JWT ID.
const assertionIDTimeout = 2 * time.Second

// jtiCache is the instance's record of the client assertion JWT IDs it
// accepted, until each assertion expires: the first, in-memory check
// against replay, which also decides between two copies of one assertion
// that reach this instance at once.
type jtiCache struct {
	mu       sync.Mutex
	seen     map[string]int64 // client ID, NUL, jti → Unix time it may be forgotten
	max      int
	nextGC   int64
	warnedAt atomic.Int64
}

func newJTICache(max int) *jtiCache {
	if max <= 0 {
		max = DefaultJTIEntries
	}
	return &jtiCache{seen: map[string]int64{}, max: max}
}

// add records key until until and reports whether it was new; full reports
// that there was no room (the key is then not recorded).
func (c *jtiCache) add(key string, until, now int64) (isNew, full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[key]; ok && exp > now {
		return false, false
	}
	if len(c.seen) >= c.max || now >= c.nextGC {
		for k, exp := range c.seen {
			if exp <= now {
				delete(c.seen, k)
			}
		}
		c.nextGC = now + 10
		if len(c.seen) >= c.max {
			return true, true
		}
	}
	c.seen[key] = until
	return true, false
}

// checkJTI reports whether the client has not used jti before, and records
// it until the assertion expires (RFC 7523 §3 item 7). The instance's own
// record is checked first, without a lock held across anything slow; then,
// when the endpoint has AssertionIDs (the database), one unique INSERT of
// (client, jti, exp) decides across instances: a replay sent to another
// instance fails there on the key. The token path so reads no database;
// it writes one short row per private_key_jwt request. When the database
// cannot be written, the instance's record alone protects (a replay to
// another instance within the assertion's few minutes would then pass),
// which is logged; when neither can record, the assertion is refused.
func (e *Endpoint) checkJTI(ctx context.Context, clientID, jti string, exp time.Time) bool {
	now := e.cfg.Now()
	until := exp.Add(AssertionLeeway)
	isNew, full := e.jtis.add(clientID+"\x00"+jti, until.Unix(), now.Unix())
	if !isNew {
		return false
	}
	if e.cfg.AssertionIDs == nil {
		if full {
			e.warnJTI("the in-memory record of assertion JWT IDs is full; refusing assertions until entries expire", nil)
		}
		return !full
	}
	ctx, cancel := context.WithTimeout(ctx, assertionIDTimeout)
	defer cancel()
	err := e.cfg.AssertionIDs.UseAssertionID(ctx, clientID, jti, until)
	switch {
	case err == nil:
		return true
	case errors.Is(err, storage.ErrAlreadyExists):
		return false
	case full:
		e.warnJTI("assertion JWT IDs can be recorded neither in the database nor in memory; refusing the assertion", err)
		return false
	}
	e.warnJTI("the assertion JWT ID could not be recorded in the database; replay is checked on this instance alone", err)
	return true
}

// warnJTI logs a replay-protection fault at most once a minute.
func (e *Endpoint) warnJTI(msg string, err error) {
	now := e.cfg.Now().Unix()
	last := e.jtis.warnedAt.Load()
	if now-last < 60 || !e.jtis.warnedAt.CompareAndSwap(last, now) {
		return
	}
	if err != nil {
		e.cfg.Logger.Warn(msg, "err", err)
		return
	}
	e.cfg.Logger.Warn(msg)
}
