package server

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// InstanceRecordInterval is how often a running instance records the JWKS
// max-age it serves (storage.Instance), once at start and then at this
// interval, so that a key rotation started anywhere can wait out the
// longest cache lifetime any instance gives its JWKS.
const InstanceRecordInterval = time.Minute

// maxJWKSMaxAge is the longest JWKS max-age the configuration accepts.
const maxJWKSMaxAge = 24 * time.Hour

// recordInstance records this instance's JWKS max-age at start and every
// InstanceRecordInterval until ctx is done. A failure is logged once per
// outage; the next tick tries again.
func (s *Server) recordInstance(ctx context.Context) {
	t := time.NewTicker(InstanceRecordInterval)
	defer t.Stop()
	failing := false
	for {
		// Bounded like a readiness ping: a call stuck on a database that
		// does not answer must not hold a pooled connection for long.
		rctx, cancel := context.WithTimeout(ctx, ReadyPingTimeout)
		err := s.store.RecordInstance(rctx, storage.Instance{ID: s.instance, JWKSMaxAge: s.keys.JWKSMaxAge(), SeenAt: s.opts.Now()})
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			s.log.Warn("could not record this instance's JWKS max-age; will retry", "error", err)
		case err == nil && failing:
			failing = false
			s.log.Info("recording this instance's JWKS max-age again")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// JWKSCacheWait is how long a new signing key must have been published
// before it may sign: the longest JWKS max-age that any instance recorded
// within the last day and two record intervals, since a JWKS fetched from
// an instance seen then may still sit in a verifier's cache (a max-age is at
// most a day). With no instance recorded, it is fallback, and recorded is
// false.
func JWKSCacheWait(ctx context.Context, store storage.Storage, now time.Time, fallback time.Duration) (wait time.Duration, recorded bool, err error) {
	d, err := store.MaxJWKSMaxAge(ctx, now.Add(-maxJWKSMaxAge-2*InstanceRecordInterval))
	if err != nil {
		return 0, false, err
	}
	if d == 0 {
		return fallback, false, nil
	}
	return d, true, nil
}

// JWKSCacheWaitFunc is keys.Config.CacheWait over store: JWKSCacheWait with
// fallback where no instance recorded one, and never less than floor (a
// serving instance's own max-age, which it may not have recorded yet). The
// key managers of serve (its scheduler and the management API's rotation)
// and of the command line all wait out the longest JWKS max-age recorded,
// whoever rotates.
func JWKSCacheWaitFunc(store storage.Storage, now func() time.Time, fallback, floor time.Duration) func(context.Context) (time.Duration, error) {
	return func(ctx context.Context) (time.Duration, error) {
		d, _, err := JWKSCacheWait(ctx, store, now(), fallback)
		return max(d, floor), err
	}
}
