package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/discovery"
	"github.com/gatehouse-dev/gatehouse/internal/oidc"
	"github.com/gatehouse-dev/gatehouse/internal/revocation"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/token"
)

// RevocationCleanupInterval is how often expired denylist entries are
// dropped from memory and deleted from the database.
const RevocationCleanupInterval = time.Minute

// revocationState is the denylist and the introspection rights of an
// instance, both following the change feed through the catalog.
type revocationState struct {
	denylist *revocation.Denylist
	rights   *revocation.Rights
}

// trackRevocations makes cat load and follow the denylist and the
// introspection rights; call it before cat.Load.
func trackRevocations(cat *catalog.Catalog, store Store, now func() time.Time) revocationState {
	st := revocationState{denylist: revocation.NewDenylist(store, now), rights: revocation.NewRights(store)}
	cat.Track(storage.EntityRevocation, st.denylist)
	cat.Track(storage.EntityIntrospection, st.rights)
	return st
}

// mountRevocation mounts /oauth/revoke (RFC 7009) and /oauth/introspect
// (RFC 7662), whose clients authenticate through the token endpoint's step.
func (s *Server) mountRevocation(mux *http.ServeMux, tokens *token.Endpoint) {
	ep := revocation.New(revocation.Config{
		Issuer: s.cfg.Issuer, Auth: tokens, Verifier: &oidc.Verifier{Issuer: s.cfg.Issuer, Keys: s.keys}, Store: s.store,
		Denylist: s.revocation.denylist, Rights: s.revocation.rights, Signer: s.keys, SigningAlg: DefaultAlg,
		Audit: s.audit, Now: s.opts.Now, Logger: s.log,
	})
	mux.Handle(discovery.PathRevoke, s.cors.token(http.HandlerFunc(ep.Revoke)))
	mux.HandleFunc(discovery.PathIntrospect, ep.Introspect)
}

// startRevocationCleanup drops expired denylist entries, from memory on
// this instance and from the database (every instance runs it; the delete
// is idempotent), until ctx ends.
func (s *Server) startRevocationCleanup(ctx context.Context, spawn func(func())) {
	spawn(func() {
		t := time.NewTicker(RevocationCleanupInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s.revocation.denylist.Prune()
			if _, err := s.store.DeleteExpiredRevocations(ctx, s.opts.Now()); err != nil && ctx.Err() == nil {
				s.log.Warn("revocation cleanup failed", "err", err)
			}
		}
	})
}
