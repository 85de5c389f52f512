package server

import (
	"cmp"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/dpop"
	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/clientip"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/discovery"
	"github.com/gatehouse-dev/gatehouse/internal/federation"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/remotekeys"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/throttle"
	"github.com/gatehouse-dev/gatehouse/internal/token"
)

// Listener limits (docs/reference/protocol.md, issue "timeouts and size limits on every listener").
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 15 * time.Second
	WriteTimeout      = 15 * time.Second
	IdleTimeout       = 120 * time.Second
	MaxHeaderBytes    = 32 << 10
)

// DefaultAlg is the signing algorithm whose keys always exist.
const DefaultAlg = "RS256"

// Options are the dependencies a Server may be given instead of its defaults.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	Rand   io.Reader
	// GenerateKey overrides signing key generation (tests).
	GenerateKey func(alg string) (crypto.Signer, error)
	// UsageFlushInterval is how often secret last-use times are written
	// (default 5s).
	UsageFlushInterval time.Duration
	// AuditFlushInterval is how often queued audit events are written
	// (default audit.DefaultFlushInterval).
	AuditFlushInterval time.Duration
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout replace
	// the listener limits when positive (tests shorten them).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// LogBatch, when set, is held while the audit writer logs a batch of
	// token events, so that their lines go out in one write (the
	// *logbatch.Writer under Logger's handler).
	LogBatch audit.LineBatcher
	// TracerProvider, when set and not a no-op provider, gets one server
	// span per request (package tracing builds it from OTEL_*); nil or
	// no-op means no tracing work at all per request.
	TracerProvider trace.TracerProvider
	// ReadyCheckInterval is how often the background readiness check pings
	// the database (default DefaultReadyCheckInterval).
	ReadyCheckInterval time.Duration
	// FeedMarkInterval, FeedPruneInterval and FeedReaderTTL time the
	// change feed's upkeep (defaults DefaultFeedMarkInterval,
	// DefaultFeedPruneInterval, DefaultFeedReaderTTL).
	FeedMarkInterval, FeedPruneInterval, FeedReaderTTL time.Duration
	// RemoteKeys configures the cache of the keys at clients' jwks_uri
	// (zero fields: remotekeys' defaults; Now defaults to Options.Now).
	RemoteKeys remotekeys.Config
}

// Readiness check timing: /readyz answers from the latest background
// check, never waiting for the database itself.
const (
	// DefaultReadyCheckInterval is how often the database is pinged.
	DefaultReadyCheckInterval = time.Second
	// ReadyPingTimeout bounds one ping: a database that does not answer
	// within it is reported unreachable.
	ReadyPingTimeout = 2 * time.Second
)

// Server is a running gatehouse instance.
type Server struct {
	cfg     config.Config
	opts    Options
	log     *slog.Logger
	store   Store
	keys    *keys.Manager
	catalog *catalog.Catalog
	usage   *catalog.Usage
	handler http.Handler
	metrics *metrics.Metrics
	ips     *clientip.Resolver
	mgmt    *mgmt.Handler // the management API (/api/v2/)
	audit   *audit.Recorder

	rotation *keys.Scheduler // nil when key-rotation-period is 0
	tracer   trace.Tracer    // nil when tracing is off
	csrfKey  []byte          // the login forms' CSRF key, from the master key
	dpop     *dpop.Checker   // the token endpoint's DPoP proofs (dpop.go)
	cors     *webOrigins     // the browser endpoints' CORS policy
	ready    atomic.Pointer[storageCheck]
	instance string // this process among the instances (change feed upkeep)
	// revocation is the denylist and the introspection rights (revocation.go).
	revocation revocationState
	clientCAs  *x509.CertPool // --tls-client-ca, nil when unset

	admin *admin.Service // the administrative operations (mgmt, console)
}

// storageCheck is the outcome of one background ping of the database.
type storageCheck struct {
	at  time.Time // when it ended
	err error
}

// New opens the pieces a server needs: the signing keys (created on first
// start), the catalog (fully loaded) and the HTTP handler. cfg must be
// validated; its Issuer must be set.
func New(ctx context.Context, cfg config.Config, store Store, masterKey []byte, opts Options) (*Server, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.UsageFlushInterval <= 0 {
		opts.UsageFlushInterval = 5 * time.Second
	}
	if opts.ReadyCheckInterval <= 0 {
		opts.ReadyCheckInterval = DefaultReadyCheckInterval
	}
	opts.FeedMarkInterval = cmp.Or(max(opts.FeedMarkInterval, 0), DefaultFeedMarkInterval)
	opts.FeedPruneInterval = cmp.Or(max(opts.FeedPruneInterval, 0), DefaultFeedPruneInterval)
	opts.FeedReaderTTL = cmp.Or(max(opts.FeedReaderTTL, 0), DefaultFeedReaderTTL)
	var srv *Server // set below: the audit recorder counts into its metrics
	rec := newAuditRecorder(store, log, opts.LogBatch, opts.Now, func() *metrics.Metrics {
		if srv == nil {
			return nil
		}
		return srv.metrics
	})
	ownMaxAge := cmp.Or(cfg.JWKSMaxAge, keys.DefaultJWKSMaxAge)
	km, err := keys.New(keys.Config{
		Store: store, MasterKey: masterKey, Now: opts.Now, Rand: opts.Rand, Logger: log,
		JWKSMaxAge: cfg.JWKSMaxAge, Generate: opts.GenerateKey, Rotated: keysRotated(rec),
		CacheWait: JWKSCacheWaitFunc(store, opts.Now, ownMaxAge, ownMaxAge),
	})
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	if err := km.Load(ctx); err != nil {
		return nil, err // already says "load signing keys"
	}
	// The management API is built in: it exists in every database, created
	// here before the catalog loads so that the first sync has it.
	svc := &admin.Service{Store: store, Keys: km, Now: opts.Now, Rand: opts.Rand, Audit: rec}
	if created, err := mgmt.EnsureAPI(admin.WithActor(ctx, storage.ActorSystem), svc, cfg.Issuer); err != nil {
		return nil, err
	} else if created {
		log.Info("management API created", "audience", mgmt.Audience(cfg.Issuer))
	}
	cat := catalog.New(store, log, opts.Now)
	revoked := trackRevocations(cat, store, opts.Now)
	if err := cat.Load(ctx); err != nil {
		return nil, fmt.Errorf("load catalog: %w", err)
	}
	if n, _ := cat.Snapshot().Len(); n >= 10_000 {
		// The rows of a large load are garbage now, twice the catalog's
		// size: give their pages back to the system before serving.
		debug.FreeOSMemory()
	}
	s := &Server{cfg: cfg, opts: opts, log: log, store: store, keys: km, catalog: cat, usage: catalog.NewUsage(store, log), audit: rec,
		csrfKey: csrfKey(masterKey), revocation: revoked}
	if s.dpop, err = dpopChecker(masterKey, cfg.DPoPNonce, opts.Now); err != nil {
		return nil, err
	}
	srv = s
	s.instance = instanceName()
	// The keys and the catalog were just read: the database answered.
	s.ready.Store(&storageCheck{at: opts.Now()})
	if err := s.ensureKeys(ctx); err != nil {
		return nil, err
	}
	if s.rotation, err = s.rotationScheduler(); err != nil {
		return nil, err
	}
	if s.mgmt, err = mgmt.New(mgmt.Config{Issuer: cfg.Issuer, Admin: svc, Keys: km, Catalog: cat, Denylist: revoked.denylist, Now: opts.Now, Logger: log,
		RefreshTokenLifetime: cfg.RefreshTokenLifetime, RefreshTokenIdle: cfg.RefreshTokenIdle}); err != nil {
		return nil, err
	}
	s.admin = svc
	s.cors = &webOrigins{src: cat}
	if s.clientCAs, err = cfg.ClientCAPool(); err != nil {
		return nil, fmt.Errorf("tls-client-ca: %w", err)
	}
	s.tracer = tracerFor(opts.TracerProvider)
	s.initObservability()
	s.handler = s.routes()
	return s, nil
}

// ensureKeys creates the signing keys of every algorithm in use: the
// default's and each API's (docs/reference/protocol.md: one lifecycle per algorithm in use).
func (s *Server) ensureKeys(ctx context.Context) error {
	var missing []string
	add := func(alg string) {
		if !s.keys.HasCurrent(alg) && !slices.Contains(missing, alg) {
			missing = append(missing, alg)
		}
	}
	add(DefaultAlg)
	for _, api := range s.catalog.Snapshot().APIs() {
		add(api.SigningAlg)
	}
	if len(missing) == 0 {
		return nil
	}
	if err := s.keys.Ensure(ctx, missing...); err != nil {
		return fmt.Errorf("create signing keys: %w", err)
	}
	s.log.Info("signing keys ready", "algs", missing)
	return nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	users := s.userTokens()
	tokens := token.NewEndpoint(token.Config{
		Issuer:          s.cfg.Issuer,
		DefaultAudience: s.cfg.DefaultAudience,
		Catalog:         s.catalog,
		Signer:          s.keys,
		Used:            s.usage.Record,
		Now:             s.opts.Now,
		Rand:            s.opts.Rand,
		Logger:          s.log,
		Grants:          append([]token.Grant{token.ClientCredentials{}}, users.Grants()...),
		TokenReuse:      s.cfg.TokenReuse,
		Audit:           s.audit,
		Metrics:         s.metrics.Token,
		AuthThrottle:    s.authThrottle(),
		Quota:           throttle.NewQuota(s.cfg.TokenQuotaPolicies()),
		APIQuota:        throttle.NewAPIQuota(s.cfg.TokenQuotaPerAPIPolicies()),
		Trace:           s.tracer != nil,
		AssertionIDs:    s.store,
		RemoteKeys:      s.remoteKeys(),
		Denylist:        s.revocation.denylist,
		DPoP:            s.dpop,
		MTLSTokenURL:    s.mtlsTokenURL(),
		// Platform tokens name this issuer as their audience by default;
		// --dev lets issuers on loopback be fetched over plain http.
		Federation:        federation.New(federation.Config{Audience: s.cfg.Issuer, InsecureHTTP: s.cfg.Dev, Now: s.opts.Now}),
		ClientCertificate: s.clientCertificateFunc(),
		ClientCAs:         s.clientCAs,
	})
	mux.Handle(discovery.PathToken, s.cors.token(tokens))
	s.mountRevocation(mux, tokens)
	md := discovery.New(s.cfg.Issuer,
		[]string{storage.GrantClientCredentials},
		[]string{oauth.AuthClientSecretBasic, oauth.AuthClientSecretPost, oauth.AuthPrivateKeyJWT},
		keys.SupportedAlgs)
	md.TokenEndpointAuthSigningAlgValuesSupported = assertionAlgs()
	meta := discovery.Handler(s.mtlsMetadata(discovery.WithRevocation(loginMetadata(md), []string{DefaultAlg})))
	s.mountLogin(mux, users)
	mux.Handle("GET "+discovery.PathOpenID, meta)
	mux.Handle("GET "+discovery.PathOAuthMetadata, meta)
	mux.HandleFunc("GET "+discovery.PathJWKS, s.serveJWKS)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeStatus(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	if s.metricsOnMain() {
		mux.Handle("GET "+PathMetrics, localOnly(s.metrics.Handler()))
	}
	mux.Handle(mgmt.Prefix, s.mgmt)
	s.mountConsole(mux, tokens)
	return s.observe(securityHeaders(mux))
}

// The values securityHeaders sets, shared by every response.
var (
	hdrNoSniff    = []string{"nosniff"}
	hdrDeny       = []string{"DENY"}
	hdrNoReferrer = []string{"no-referrer"}
	hdrNoStore    = []string{"no-store"}
	hdrHSTS       = []string{"max-age=31536000"}
)

// securityHeaders sets the headers every response carries. Cache-Control
// defaults to no-store (RFC 6749 §5.1 for token responses; error pages and
// anything else a handler does not mark cacheable, as JWKS and discovery
// do); HSTS (RFC 6797) is sent on TLS connections.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Shared values, set under canonical keys: no allocation per
		// response. A handler that Sets a key replaces the slice; one that
		// Adds appends to a full slice, which copies.
		h := w.Header()
		h["X-Content-Type-Options"] = hdrNoSniff
		h["X-Frame-Options"] = hdrDeny
		h["Referrer-Policy"] = hdrNoReferrer
		h["Cache-Control"] = hdrNoStore
		if r.TLS != nil {
			h["Strict-Transport-Security"] = hdrHSTS
		}
		next.ServeHTTP(w, r)
	})
}

// serveJWKS publishes the public keys (RFC 7517 §5) with a max-age that
// rotation honours: a next key is published at least that long before it
// signs.
func (s *Server) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(s.cfg.JWKSMaxAge/time.Second)))
	h.Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(s.keys.JWKS())
}

// serveReady reports whether this instance should get traffic: the
// database answered the latest background check (checkStorage), the
// signing keys are loaded and the catalog is fresh. It answers at once,
// whatever the database does.
func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	var problems []string
	last := s.ready.Load()
	switch {
	case last.err != nil:
		problems = append(problems, "storage unreachable")
	case s.opts.Now().Sub(last.at) > 2*s.opts.ReadyCheckInterval+ReadyPingTimeout:
		// The check itself is stuck (or not running): say so rather than
		// repeat its last answer.
		problems = append(problems, "storage check overdue")
	}
	if !s.keys.HasCurrent(DefaultAlg) {
		problems = append(problems, "signing keys not loaded")
	}
	if last := s.catalog.LastSync(); last.IsZero() || time.Since(last) > 5*time.Second+5*s.cfg.SyncInterval {
		problems = append(problems, "catalog stale")
	}
	if len(problems) > 0 {
		writeStatus(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "problems": problems})
		return
	}
	clients, apis := s.catalog.Snapshot().Len()
	writeStatus(w, http.StatusOK, map[string]any{"status": "ok", "clients": clients, "apis": apis})
}

func writeStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// checkStorage pings the database at once and then every
// ReadyCheckInterval until ctx is done, each ping bounded by
// ReadyPingTimeout, and keeps the outcome for serveReady.
func (s *Server) checkStorage(ctx context.Context) {
	t := time.NewTicker(s.opts.ReadyCheckInterval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, ReadyPingTimeout)
		err := s.store.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		s.ready.Store(&storageCheck{at: s.opts.Now(), err: err})
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Handler returns the HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Keys returns the signing key manager.
func (s *Server) Keys() *keys.Manager { return s.keys }

// Catalog returns the catalog.
func (s *Server) Catalog() *catalog.Catalog { return s.catalog }

// Start runs the background work — following the change feed, writing
// secret last-use times, rotating the signing keys on schedule — until ctx
// is done. The returned function waits for it to finish.
func (s *Server) Start(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() { s.catalog.Follow(ctx, s.cfg.SyncInterval, s.afterSync) })
	wg.Go(func() { s.usage.Run(ctx, s.opts.UsageFlushInterval) })
	wg.Go(func() { s.checkStorage(ctx) })
	wg.Go(func() { s.markFeed(ctx) })
	wg.Go(func() { s.pruneFeed(ctx) })
	wg.Go(func() { s.recordInstance(ctx) })
	s.startAudit(ctx, wg.Go)
	s.startLoginCleanup(ctx, wg.Go)
	s.startAssertionIDCleanup(ctx, wg.Go)
	s.startRevocationCleanup(ctx, wg.Go)
	if s.rotation != nil {
		wg.Go(func() { s.rotation.Run(ctx) })
	}
	return wg.Wait
}

func (s *Server) afterSync(ctx context.Context, keysChanged bool) error {
	if keysChanged {
		if err := s.keys.Load(ctx); err != nil {
			return fmt.Errorf("reload signing keys: %w", err)
		}
	}
	return s.ensureKeys(ctx)
}

// Serve accepts connections on ln until ctx is done, then shuts down
// gracefully within the configured timeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := s.httpServer(s.handler)
	mln, err := s.listenMetrics()
	if err != nil {
		return err
	}
	tln, err := s.listenMTLS()
	if err != nil {
		if mln != nil {
			_ = mln.Close()
		}
		return err
	}
	bg, cancel := context.WithCancel(ctx)
	wait := s.Start(bg)
	if mln != nil {
		go s.serveMetrics(bg, mln)
	}
	if tln != nil {
		go s.serveMTLS(bg, tln)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.serveOn(srv, ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		s.log.Info("shutting down")
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
		err = srv.Shutdown(sctx)
		scancel()
	}
	cancel()
	wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
