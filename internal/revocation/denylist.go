package revocation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// DenylistStore is what the denylist reads (storage.Storage).
type DenylistStore interface {
	GetRevocation(ctx context.Context, kind, value string) (storage.Revocation, error)
	ListRevocations(ctx context.Context, after time.Time) ([]storage.Revocation, error)
}

var _ DenylistStore = storage.Storage(nil)

// entry is a denylist entry in memory: before and expires in unix seconds.
type entry struct{ before, expires int64 }

// Denylist is the set of revoked access tokens (RFC 7009 §2): single tokens
// by jti, and every token of a client or subject issued at or before a
// time. It is held in memory and follows the change feed
// (catalog.Follower); an entry is dropped once every token it revokes has
// expired, so its size is bounded by the revoked tokens' remaining
// lifetimes. It is safe for concurrent use.
type Denylist struct {
	store DenylistStore
	now   func() time.Time

	mu      sync.RWMutex
	kinds   map[string]map[string]entry // kind -> value -> entry
	entries int
}

var _ catalog.Follower = (*Denylist)(nil)

// NewDenylist returns an empty denylist reading store; Load fills it.
func NewDenylist(store DenylistStore, now func() time.Time) *Denylist {
	if now == nil {
		now = time.Now
	}
	return &Denylist{store: store, now: now, kinds: newKinds()}
}

func newKinds() map[string]map[string]entry {
	return map[string]map[string]entry{storage.RevokeToken: {}, storage.RevokeClient: {}, storage.RevokeSubject: {}}
}

// Load reads every entry that has not expired.
func (d *Denylist) Load(ctx context.Context) error {
	list, err := d.store.ListRevocations(ctx, d.now())
	if err != nil {
		return fmt.Errorf("load the denylist: %w", err)
	}
	kinds, n := newKinds(), 0
	for _, r := range list {
		if m, ok := kinds[r.Kind]; ok {
			m[r.Value] = entry{r.Before.Unix(), r.ExpiresAt.Unix()}
			n++
		}
	}
	d.mu.Lock()
	d.kinds, d.entries = kinds, n
	d.mu.Unlock()
	return nil
}

// Apply reads the entries the changes name (storage.Revocation.Key); one
// that is gone was pruned and is dropped here too.
func (d *Denylist) Apply(ctx context.Context, keys []string) error {
	seen := map[string]bool{}
	for _, key := range keys {
		if seen[key] {
			continue
		}
		seen[key] = true
		kind, value, ok := storage.ParseRevocationKey(key)
		if !ok {
			continue // not ours to know; nothing to apply
		}
		r, err := d.store.GetRevocation(ctx, kind, value)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			d.drop(kind, value)
		case err != nil:
			return fmt.Errorf("read revocation %s: %w", key, err)
		default:
			d.put(r)
		}
	}
	return nil
}

// Add records r at once, before the change feed brings it: the instance
// that revoked a token honours the revocation from its next request.
func (d *Denylist) Add(r storage.Revocation) { d.put(r) }

func (d *Denylist) put(r storage.Revocation) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m, ok := d.kinds[r.Kind]
	if !ok {
		return
	}
	e := entry{r.Before.Unix(), r.ExpiresAt.Unix()}
	old, had := m[r.Value]
	if had { // entries are only ever raised (storage.Revocations.Revoke)
		e.before, e.expires = max(e.before, old.before), max(e.expires, old.expires)
	} else {
		d.entries++
	}
	m[r.Value] = e
}

func (d *Denylist) drop(kind, value string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m, ok := d.kinds[kind]; ok {
		if _, had := m[value]; had {
			delete(m, value)
			d.entries--
		}
	}
}

// Revoked reports whether the access token with these claims is revoked:
// its jti is on the list, or its client or subject was revoked at or after
// (to the second) its iat. An entry that expired revokes nothing.
func (d *Denylist) Revoked(jti, clientID, subject string, iat int64) bool {
	now := d.now().Unix()
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.entries == 0 {
		return false
	}
	if e, ok := d.kinds[storage.RevokeToken][jti]; ok && jti != "" && e.expires > now {
		return true
	}
	if e, ok := d.kinds[storage.RevokeClient][clientID]; ok && clientID != "" && e.expires > now && iat <= e.before {
		return true
	}
	if e, ok := d.kinds[storage.RevokeSubject][subject]; ok && subject != "" && e.expires > now && iat <= e.before {
		return true
	}
	return false
}

// Prune drops the entries that expired and reports how many it dropped.
func (d *Denylist) Prune() int {
	now := d.now().Unix()
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, m := range d.kinds {
		for v, e := range m {
			if e.expires <= now {
				delete(m, v)
				n++
			}
		}
	}
	d.entries -= n
	return n
}

// Len returns the number of entries held.
func (d *Denylist) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.entries
}
