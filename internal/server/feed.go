package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"
)

// Change feed upkeep: every instance marks how far it has read the feed,
// and one instance at a time deletes what every instance has read, so that
// the feed stays as long as its slowest reader keeps it, not the whole
// history of changes.
const (
	// DefaultFeedMarkInterval is how often an instance marks its position.
	DefaultFeedMarkInterval = 10 * time.Second
	// DefaultFeedPruneInterval is how often the feed is pruned.
	DefaultFeedPruneInterval = time.Minute
	// DefaultFeedReaderTTL is how long an instance that stopped marking
	// (stopped, cut off from the database, or its catalog stuck) holds the
	// feed back: after that the feed is pruned past it, and when it comes
	// back it finds its changes gone and loads its catalog in full.
	DefaultFeedReaderTTL = 15 * time.Minute
	// FeedPruneLease is the lease the pruning instance holds.
	FeedPruneLease = "change-feed-prune"
	// feedCallTimeout bounds one mark or prune, so that a database that
	// stops answering does not hold a pool connection and the loop for
	// long (as the catalog's own calls, catalog.DefaultCallTimeout).
	feedCallTimeout = 5 * time.Second
)

// instanceName names this process among the instances on one database:
// host, process ID and random hex.
func instanceName() string {
	host, _ := os.Hostname()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// markFeed marks the catalog's position every FeedMarkInterval while its
// sync keeps up: a catalog that has not synced for two intervals is not
// marked, so that a stuck instance stops holding the feed back after
// FeedReaderTTL.
func (s *Server) markFeed(ctx context.Context) {
	t := time.NewTicker(s.opts.FeedMarkInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if last := s.catalog.LastSync(); last.IsZero() || s.opts.Now().Sub(last) > 2*s.opts.FeedMarkInterval {
			continue
		}
		mctx, cancel := context.WithTimeout(ctx, min(s.opts.FeedMarkInterval, feedCallTimeout))
		err := s.catalog.Mark(mctx, s.store, s.instance)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			s.log.Warn("could not mark the change feed read; will retry", "error", err)
		case err == nil && failing:
			failing = false
			s.log.Info("marking the change feed read again")
		}
	}
}

// pruneFeed prunes the change feed every FeedPruneInterval, one instance at
// a time (FeedPruneLease).
func (s *Server) pruneFeed(ctx context.Context) {
	t := time.NewTicker(s.opts.FeedPruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.pruneFeedOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("change feed pruning failed; will retry", "error", err)
		}
	}
}

func (s *Server) pruneFeedOnce(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, min(s.opts.FeedPruneInterval, feedCallTimeout))
	defer cancel()
	now := s.opts.Now()
	took, err := s.store.AcquireLease(ctx, FeedPruneLease, s.instance, s.opts.FeedPruneInterval, now)
	if err != nil || !took {
		return err
	}
	defer func() { _ = s.store.ReleaseLease(context.WithoutCancel(ctx), FeedPruneLease, s.instance) }()
	mark, deleted, err := s.store.PruneChanges(ctx, now.Add(-s.opts.FeedReaderTTL))
	if err != nil {
		return err
	}
	if deleted > 0 {
		s.log.Debug("change feed pruned", "deleted", deleted, "pruned_through", mark)
	}
	return nil
}
