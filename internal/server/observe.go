package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/clientip"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/discovery"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/requestid"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// MaxOtherBodyBytes caps request bodies outside the token endpoint (which
// takes oauth.MaxBodyBytes): the management API's largest documents fit
// well within it.
const MaxOtherBodyBytes = 1 << 20

// PathMetrics is where Prometheus scrapes.
const PathMetrics = "/metrics"

// initObservability creates the server's metrics (its own registry), the
// client address resolver, and hooks the background storage work's failures
// to the storage error counter.
func (s *Server) initObservability() {
	s.metrics = metrics.New()
	s.ips = clientip.New(s.cfg.TrustedProxyPrefixes())
	s.metrics.Watch(metrics.Sources{
		Now: time.Now,
		Catalog: func() (int, int, time.Time) {
			clients, apis := s.catalog.Snapshot().Len()
			return clients, apis, s.catalog.LastSync()
		},
		CurrentKeys: func() map[string]time.Time {
			out := map[string]time.Time{}
			for _, k := range s.keys.Keys() {
				if k.State == storage.KeyCurrent {
					out[k.Alg] = k.ActivatedAt
				}
			}
			return out
		},
	})
	s.catalog.OnSyncFailure(func(error) { s.metrics.StorageError(metrics.OpCatalogSync) })
	s.usage.OnFlushFailure(func(error) { s.metrics.StorageError(metrics.OpUsageFlush) })
}

// Metrics returns the server's metrics; the token endpoint counts into
// Metrics().Token.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// metricsOnMain reports whether GET /metrics is served on the main listener.
func (s *Server) metricsOnMain() bool { return s.cfg.MetricsAddr == "" }

// localOnly serves next to requests from the host itself and answers
// everyone else 404, as if the path did not exist: /metrics on the main
// listener lists every client ID and API, which the public has no business
// reading. A request is from the host when its client address is loopback
// and it came through no proxy (no X-Forwarded-For or Forwarded header): a
// reverse proxy on the host relays the public, trusted or not, so a proxy
// peer proves nothing. Scrapers elsewhere use --metrics-addr on a private
// address.
func localOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, xff := r.Header["X-Forwarded-For"]
		_, fwd := r.Header["Forwarded"]
		if !clientip.FromRequest(r).IsLoopback() || xff || fwd {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// quietPaths are logged at debug, not info: probes and scrapes arrive every
// few seconds and would drown the log.
var quietPaths = map[string]bool{"/healthz": true, "/readyz": true, PathMetrics: true}

// observe is the outermost middleware. For every request it caps the body
// (oauth.MaxBodyBytes on the token endpoint, before any handler reads, so an
// oversized body is refused without being read and the connection is then
// closed instead of drained), assigns the request ID (echoed in
// X-Request-Id), resolves the client address, stores both in the context,
// turns a handler panic into a 500, and when the handler is done counts the
// request by route pattern and writes one access log line: method, route
// pattern (never the request's own path, which may hold a token pasted in
// the wrong place or an email address in /api/v2/users/{id}, and never the
// query), status, duration, bytes, client IP, request ID,
// and the W3C trace ID when a valid traceparent came with the request (or
// the trace the request's span started). When tracing is on, it also wraps
// the request in one server span (trace.go). It never logs a body or a
// header value.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestid.FromHeader(r.Header.Get(requestid.Header), nil)
		ip := s.ips.ClientIP(r)
		parent := r.Context()
		var span trace.Span // nil when tracing is off
		if s.tracer != nil {
			parent, span = s.startSpan(r, id, ip)
		}
		st := &requestState{ctx: requestContext{Context: parent, id: id, ip: ip}, rec: recorder{ResponseWriter: w}}
		st.idHeader[0] = id
		w.Header()[requestid.Header] = st.idHeader[:]
		ctx, rec := &st.ctx, &st.rec
		r2 := r.WithContext(ctx)
		if r.Body != nil && r.Body != http.NoBody {
			limit := int64(MaxOtherBodyBytes)
			if r.URL.Path == discovery.PathToken {
				limit = oauth.MaxBodyBytes
			}
			// Given the server's own ResponseWriter, MaxBytesReader also
			// tells the server not to drain the rest of the body.
			r2.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		defer func() {
			p := recover()
			if p != nil {
				if p == http.ErrAbortHandler {
					if span != nil {
						endSpan(span, r, routeLabel(r2.Pattern), http.StatusInternalServerError, true)
					}
					panic(p)
				}
				s.log.LogAttrs(ctx, slog.LevelError, "handler panicked", slog.String("request_id", id),
					slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
				if rec.status == 0 {
					oauth.WriteError(rec, nil, oauth.ServerError(nil))
				}
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			route := routeLabel(r2.Pattern)
			s.metrics.ObserveRequest(route, status, d)
			if span != nil {
				endSpan(span, r, route, status, p != nil)
			}
			level := slog.LevelInfo
			if quietPaths[r.URL.Path] {
				level = slog.LevelDebug
			}
			if !s.log.Enabled(ctx, level) {
				return
			}
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Duration("duration", d),
				slog.Int64("bytes", rec.bytes),
				slog.String("client_ip", addrString(ip)),
				slog.String("request_id", id),
			}
			tid := traceID(r.Header.Get("Traceparent"))
			if span != nil && span.SpanContext().HasTraceID() {
				tid = span.SpanContext().TraceID().String() // the caller's, or the one this span started
			}
			if tid != "" {
				attrs = append(attrs, slog.String("trace_id", tid))
			}
			s.log.LogAttrs(ctx, level, "request", attrs...)
		}()
		next.ServeHTTP(rec, r2)
	})
}

// requestState is what observe keeps per request, in one allocation.
type requestState struct {
	ctx      requestContext
	rec      recorder
	idHeader [1]string // the X-Request-Id header's value
}

// requestContext carries a request's ID and client address;
// requestid.FromContext and clientip.FromContext read it.
type requestContext struct {
	context.Context
	id string
	ip netip.Addr
}

// Value answers the request ID and client address keys, with pointers into
// c so that no answer allocates, and defers everything else to the parent.
func (c *requestContext) Value(key any) any {
	switch key {
	case requestid.ContextKey:
		return &c.id
	case clientip.ContextKey:
		return &c.ip
	}
	return c.Context.Value(key)
}

// traceID returns the trace-id of a W3C Trace Context traceparent header
// (version 00: "00-" 32 hex "-" 16 hex "-" 2 hex, lowercase, neither ID all
// zeros), so that access log lines can be joined with the caller's traces;
// "" for anything else.
func traceID(tp string) string {
	if len(tp) != 55 || tp[:3] != "00-" || tp[35] != '-' || tp[52] != '-' {
		return ""
	}
	tid, pid := tp[3:35], tp[36:52]
	if !lowerHex(tid) || !lowerHex(pid) || !lowerHex(tp[53:]) ||
		tid == "00000000000000000000000000000000" || pid == "0000000000000000" {
		return ""
	}
	return tid
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// routeLabel is the endpoint label of a matched ServeMux pattern ("GET
// /healthz" → "/healthz"); requests that matched none are Unmatched.
func routeLabel(pattern string) string {
	if pattern == "" {
		return metrics.Unmatched
	}
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}

// routePath returns the request's path when it is the route pattern itself
// (a route without wildcards), else "": the path of a subtree or
// parameterised route, or of none, is the caller's to fill.
func routePath(route, path string) string {
	if route == path {
		return path
	}
	return ""
}

// logPath bounds what a caller-chosen string can put in a log line.
func logPath(p string) string {
	const max = 256
	if len(p) > max {
		return p[:max] + "…"
	}
	return p
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// recorder remembers the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush passes flushes through (streaming responses).
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// httpServer is the http.Server for h with the listener limits, shortened
// by Options in tests.
func (s *Server) httpServer(h http.Handler) *http.Server {
	pick := func(opt, def time.Duration) time.Duration {
		if opt > 0 {
			return opt
		}
		return def
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: pick(s.opts.ReadHeaderTimeout, ReadHeaderTimeout),
		ReadTimeout:       pick(s.opts.ReadTimeout, ReadTimeout),
		WriteTimeout:      pick(s.opts.WriteTimeout, WriteTimeout),
		IdleTimeout:       pick(s.opts.IdleTimeout, IdleTimeout),
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// serveOn runs srv on ln, with TLS when configured (the certificate pair
// was validated by config and is reloaded when its files change).
func (s *Server) serveOn(srv *http.Server, ln net.Listener) error {
	if !s.cfg.TLS() {
		return srv.Serve(ln)
	}
	r, err := newCertReloader(s.cfg.TLSCert, s.cfg.TLSKey, s.log, time.Now)
	if err != nil {
		return err
	}
	srv.TLSConfig = tlsConfig(r)
	if s.cfg.RequestClientCertOnMain() {
		requestClientCert(srv.TLSConfig)
	}
	return srv.ServeTLS(ln, "", "")
}

// serveMetrics serves GET /metrics on its own listener (--metrics-addr)
// until ctx is done. The listener is opened by the caller so that a bad
// address fails the start.
func (s *Server) serveMetrics(ctx context.Context, ln net.Listener) {
	mux := http.NewServeMux()
	mux.Handle("GET "+PathMetrics, s.metrics.Handler())
	srv := s.httpServer(mux)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		s.log.Error("metrics listener failed", "error", err)
	}
}

// listenMetrics opens the --metrics-addr listener, or returns nil when
// /metrics is on the main listener or off.
func (s *Server) listenMetrics() (net.Listener, error) {
	if s.cfg.MetricsAddr == "" || s.cfg.MetricsAddr == config.MetricsOff {
		return nil, nil
	}
	ln, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	s.log.Info("metrics listening", "addr", ln.Addr().String(), "path", PathMetrics)
	return ln, nil
}
