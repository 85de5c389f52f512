package revocation

import (
	"context"
	"fmt"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// RightsStore is what Rights reads (storage.Storage).
type RightsStore interface {
	ListIntrospectors(ctx context.Context, audience string) ([]storage.Introspector, error)
}

var _ RightsStore = storage.Storage(nil)

// Rights says which clients may introspect which API's tokens (an API's
// introspection clients, docs/revocation.md). It is held in memory and
// follows the change feed (catalog.Follower), one API at a time.
type Rights struct {
	store RightsStore

	mu  sync.RWMutex
	by  map[string]map[string]bool // audience -> client IDs
	any map[string]int             // client ID -> number of APIs
}

var _ catalog.Follower = (*Rights)(nil)

// NewRights returns empty rights reading store; Load fills them.
func NewRights(store RightsStore) *Rights {
	return &Rights{store: store, by: map[string]map[string]bool{}, any: map[string]int{}}
}

// Load reads every right.
func (r *Rights) Load(ctx context.Context) error {
	list, err := r.store.ListIntrospectors(ctx, "")
	if err != nil {
		return fmt.Errorf("load introspection rights: %w", err)
	}
	by := map[string]map[string]bool{}
	for _, in := range list {
		if by[in.Audience] == nil {
			by[in.Audience] = map[string]bool{}
		}
		by[in.Audience][in.ClientID] = true
	}
	r.mu.Lock()
	r.by = by
	r.recount()
	r.mu.Unlock()
	return nil
}

// Apply reads again the rights of the APIs the changes name.
func (r *Rights) Apply(ctx context.Context, audiences []string) error {
	fresh := map[string]map[string]bool{}
	for _, aud := range audiences {
		if _, done := fresh[aud]; done {
			continue
		}
		list, err := r.store.ListIntrospectors(ctx, aud)
		if err != nil {
			return fmt.Errorf("read introspection rights of %s: %w", aud, err)
		}
		set := map[string]bool{}
		for _, in := range list {
			set[in.ClientID] = true
		}
		fresh[aud] = set
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for aud, set := range fresh {
		if len(set) == 0 {
			delete(r.by, aud)
		} else {
			r.by[aud] = set
		}
	}
	r.recount()
	return nil
}

// recount rebuilds any; r.mu is held.
func (r *Rights) recount() {
	r.any = map[string]int{}
	for _, set := range r.by {
		for id := range set {
			r.any[id]++
		}
	}
}

// May reports whether the client may introspect the tokens of audience.
func (r *Rights) May(clientID, audience string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.by[audience][clientID]
}

// MayAny reports whether the client may introspect the tokens of some API.
func (r *Rights) MayAny(clientID string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.any[clientID] > 0
}
