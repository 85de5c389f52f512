package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/authorize"
	"github.com/gatehouse-dev/gatehouse/internal/discovery"
	"github.com/gatehouse-dev/gatehouse/internal/oidc"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/token"
	"github.com/gatehouse-dev/gatehouse/internal/users"
)

// userTokens is the user-login grants' issuer (authorization_code and
// refresh_token at the token endpoint).
func (s *Server) userTokens() *token.UserTokens {
	return &token.UserTokens{Issuer: s.cfg.Issuer, Store: s.store, Permissions: s.store, Signer: s.keys, Rand: s.opts.Rand, Logger: s.log, Audit: s.audit,
		RefreshIdle: s.cfg.RefreshTokenIdle, RefreshAbsolute: s.cfg.RefreshTokenLifetime}
}

// csrfKey derives the login forms' CSRF key from the master key (an HMAC
// under it, labelled), so that every instance sharing the master key
// accepts the others' forms and the key itself is never stored.
func csrfKey(masterKey []byte) []byte {
	m := hmac.New(sha256.New, masterKey)
	m.Write([]byte("gatehouse login CSRF key v1"))
	return m.Sum(nil)
}

// loginMetadata adds the login flow to the discovery document.
func loginMetadata(m discovery.Metadata) discovery.Metadata {
	m = discovery.WithLogin(m, []string{storage.GrantAuthorizationCode, storage.GrantRefreshToken}, authorize.OIDCScopes)
	m.ResponseModesSupported = authorize.ResponseModes
	return m
}

// mountLogin mounts the Authorization Code flow's browser endpoints
// (/authorize, its login and consent pages, /oidc/logout) and /userinfo.
func (s *Server) mountLogin(mux *http.ServeMux, ut *token.UserTokens) {
	verifier := &oidc.Verifier{Issuer: s.cfg.Issuer, Keys: s.keys}
	az, err := authorize.New(authorize.Config{
		Issuer: s.cfg.Issuer, Store: s.store, Catalog: s.catalog, Permissions: s.store, Now: s.opts.Now, Rand: s.opts.Rand,
		Logger: s.log, Audit: s.audit, CodeLifetime: s.cfg.LoginCodeLifetime, SessionLifetime: s.cfg.LoginSessionLifetime, CSRFKey: s.csrfKey,
		Throttle: users.NewThrottle(users.ThrottleConfig{
			MaxPerPair: s.cfg.LoginFailureLimit, MaxPerUser: s.cfg.LoginFailureLimit, MaxPerAddress: 4 * s.cfg.LoginFailureLimit,
			Window: s.cfg.LoginFailureWindow,
		}),
		IDTokenHint: func(idToken string) (string, []string, error) {
			c, err := verifier.Verify(idToken, time.Time{}) // an expired hint still names its user (RP-Initiated Logout §2)
			return c.Subject, c.Audience, err
		},
	})
	if err != nil { // the issuer was validated with the configuration
		s.log.Error("the login endpoints are off", "err", err)
		return
	}
	for _, p := range []string{authorize.Path, authorize.PathLogin, authorize.PathConsent, authorize.PathLogout} {
		mux.Handle(p, az)
	}
	mux.Handle(token.PathUserinfo, s.cors.userinfo(&oidc.Userinfo{Verifier: verifier, Audience: ut.UserinfoAudience(), Store: s.store,
		Now: s.opts.Now, Logger: s.log, Origins: s.cors, Denylist: s.revocation.denylist, DPoP: s.dpop,
		URL: strings.TrimRight(s.cfg.Issuer, "/") + token.PathUserinfo, ClientCertificate: s.clientCertificateFunc()}))
}

// Cleanup of the login flow's expired state: every LoginCleanupInterval,
// what expired more than LoginCleanupGrace ago is deleted (a code's reuse
// is still recognised, and its refresh tokens revoked, within the grace).
const (
	LoginCleanupInterval = time.Hour
	LoginCleanupGrace    = 24 * time.Hour
)

// startLoginCleanup runs the cleanup in the background until ctx ends.
// Every instance runs it; the deletes are idempotent.
func (s *Server) startLoginCleanup(ctx context.Context, spawn func(func())) {
	spawn(func() {
		t := time.NewTicker(LoginCleanupInterval)
		defer t.Stop()
		for {
			s.cleanupLogins(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

func (s *Server) cleanupLogins(ctx context.Context) {
	n, err := s.store.DeleteExpiredLogins(ctx, s.opts.Now().Add(-LoginCleanupGrace))
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.Warn("login cleanup failed", "err", err)
	case n > 0:
		s.log.Info("expired logins deleted", "rows", n)
	}
}
