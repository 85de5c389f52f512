package server

import (
	"context"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/clientcred"
	"github.com/gatehouse-dev/gatehouse/internal/remotekeys"
)

// AssertionIDCleanupInterval is how often the JWT IDs of expired client
// assertions are deleted; every instance runs it, the deletes are
// idempotent. A stored ID is useless once its assertion has expired (an
// expired assertion is refused for its expiry), so the table holds about
// MaxAssertionLifetime's worth of private_key_jwt requests.
const AssertionIDCleanupInterval = time.Minute

// remoteKeys is the cache of the keys clients publish at their jwks_uri;
// --dev lets it fetch from loopback addresses, as federation then does.
func (s *Server) remoteKeys() *remotekeys.Cache {
	cfg := s.opts.RemoteKeys
	if cfg.Now == nil {
		cfg.Now = s.opts.Now
	}
	cfg.AllowLoopback = cfg.AllowLoopback || s.cfg.Dev
	return remotekeys.New(cfg)
}

// startAssertionIDCleanup deletes expired assertion JWT IDs in the
// background until ctx ends.
func (s *Server) startAssertionIDCleanup(ctx context.Context, spawn func(func())) {
	spawn(func() {
		t := time.NewTicker(AssertionIDCleanupInterval)
		defer t.Stop()
		for {
			n, err := s.store.DeleteAssertionIDsBefore(ctx, s.opts.Now())
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Warn("assertion ID cleanup failed", "err", err)
			case n > 0:
				s.log.Debug("expired assertion IDs deleted", "rows", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

// assertionAlgs are the JWS algorithms a client may sign its
// private_key_jwt assertions with, for discovery's
// token_endpoint_auth_signing_alg_values_supported (RFC 8414 §2).
func assertionAlgs() []string { return append(slices.Clone(clientcred.Algs), clientcred.AlgEd25519) }
