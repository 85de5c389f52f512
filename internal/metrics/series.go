package metrics

import (
	"maps"
	"sync"
	"sync/atomic"
)

// seriesCache maps label values to the collector children made for them,
// so that the hot path neither builds label strings nor takes a lock: a
// lookup is an atomic load and a map read. Adding a child copies the map
// (copy on write), which happens at most once per series, and the series
// are bounded (route patterns and statuses; client and audience pairs up
// to their cap), so the copies are too.
type seriesCache[K comparable, V any] struct {
	mu sync.Mutex // serialises additions
	m  atomic.Pointer[map[K]V]
}

// get returns the child for k, making it with add (under the lock, at most
// once per k) when there is none yet. add is given the number of children
// held and may answer keep=false (past a cap): its value is then returned
// but not stored.
func (c *seriesCache[K, V]) get(k K, add func(held int) (v V, keep bool)) V {
	if p := c.m.Load(); p != nil {
		if v, ok := (*p)[k]; ok {
			return v
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[K]V
	if p := c.m.Load(); p != nil {
		old = *p
	}
	if v, ok := old[k]; ok {
		return v
	}
	v, keep := add(len(old))
	if keep {
		next := make(map[K]V, len(old)+1)
		maps.Copy(next, old)
		next[k] = v
		c.m.Store(&next)
	}
	return v
}
