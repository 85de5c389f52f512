package catalog

import (
	"context"
	"fmt"
)

// Follower keeps in memory the state of an entity of the change feed that
// is not part of the snapshot (the revocation denylist, introspection
// rights): the catalog loads it with everything else and hands it the IDs
// of its entity's changes, so that it follows the feed as the snapshot
// does, on every instance within the sync interval, and SyncNow brings it
// up to the caller's own writes.
type Follower interface {
	// Load reads the follower's whole state.
	Load(ctx context.Context) error
	// Apply brings the follower up to the changes of its entity with these
	// IDs (in feed order, possibly repeated). It is called again with the
	// same IDs when it fails, so it must be idempotent.
	Apply(ctx context.Context, ids []string) error
}

// Track makes f follow the changes of entity. Call it before Load; an
// entity the catalog itself follows (clients, APIs, keys) is still applied
// to the snapshot as well.
func (c *Catalog) Track(entity string, f Follower) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.followers == nil {
		c.followers = map[string]Follower{}
	}
	c.followers[entity] = f
}

// loadFollowers loads every follower; c.mu is held.
func (c *Catalog) loadFollowers(ctx context.Context) error {
	for entity, f := range c.followers {
		if err := f.Load(ctx); err != nil {
			return fmt.Errorf("load %s: %w", entity, err)
		}
	}
	return nil
}

// applyFollowers hands each follower the IDs of its entity's changes, under
// the call timeout; c.mu is held.
func (c *Catalog) applyFollowers(ctx context.Context, ids map[string][]string) error {
	for entity, list := range ids {
		_, err := call(c, ctx, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, c.followers[entity].Apply(ctx, list)
		})
		if err != nil {
			return fmt.Errorf("apply %s changes: %w", entity, err)
		}
	}
	return nil
}
