package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/clientip"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/requestid"
)

// TestObserveRecoversPanics: a handler that panics answers an RFC 6749
// §5.2 server_error, is logged with its request ID, counted as a 500, and
// the server goes on.
func TestObserveRecoversPanics(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewJSONHandler(&logs, nil)), metrics: metrics.New(), ips: clientip.New(nil)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("kaboom") })
	h := s.observe(mux)
	w := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/boom", nil)
	req.Header.Set(requestid.Header, "rid-1")
	h.ServeHTTP(w, req)
	var body map[string]string
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != 500 || body["error"] != "server_error" || strings.Contains(w.Body.String(), "kaboom") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	out := logs.String()
	if !strings.Contains(out, `"msg":"handler panicked"`) || !strings.Contains(out, `"request_id":"rid-1"`) || !strings.Contains(out, `"status":500`) {
		t.Fatalf("logs:\n%s", out)
	}
}

func TestRouteLabel(t *testing.T) {
	for pattern, want := range map[string]string{
		"":                   metrics.Unmatched,
		"GET /healthz":       "/healthz",
		"/oauth/token":       "/oauth/token",
		"/api/v2/":           "/api/v2/",
		"GET /api/v2/{id}/x": "/api/v2/{id}/x",
	} {
		if got := routeLabel(pattern); got != want {
			t.Errorf("routeLabel(%q) = %q, want %q", pattern, got, want)
		}
	}
}

// TestObserveContext: handlers, and contexts derived from theirs, read the
// request ID and client address the middleware resolved.
func TestObserveContext(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler), metrics: metrics.New(), ips: clientip.New(nil)}
	var id, ip, derivedID, other string
	h := s.observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id = requestid.FromContext(r.Context())
		ip = clientip.FromRequest(r).String()
		ctx, cancel := context.WithCancel(context.WithValue(r.Context(), ctxTestKey{}, "v"))
		defer cancel()
		derivedID = requestid.FromContext(ctx)
		other, _ = ctx.Value(ctxTestKey{}).(string)
	}))
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.RemoteAddr = "192.0.2.7:1234"
	req.Header.Set(requestid.Header, "abc")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if id != "abc" || derivedID != "abc" || ip != "192.0.2.7" || other != "v" {
		t.Fatalf("id %q, derived %q, ip %q, other %q", id, derivedID, ip, other)
	}
}

type ctxTestKey struct{}

func TestTraceID(t *testing.T) {
	const tid = "4bf92f3577b34da6a3ce929d0e0e4736"
	for tp, want := range map[string]string{
		"00-" + tid + "-00f067aa0ba902b7-01":                      tid,
		"00-" + tid + "-00f067aa0ba902b7-00":                      tid,
		"01-" + tid + "-00f067aa0ba902b7-01":                      "", // unknown version layout is not trusted
		"00-" + strings.ToUpper(tid) + "-00f067aa0ba902b7-01":     "",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01": "",
		"00-" + tid + "-0000000000000000-01":                      "",
		"00-" + tid + "-00f067aa0ba902b7-01-extra":                "",
		"00-" + tid + "_00f067aa0ba902b7-01":                      "",
		"":                                                        "",
	} {
		if got := traceID(tp); got != want {
			t.Errorf("traceID(%q) = %q, want %q", tp, got, want)
		}
	}
}

// TestRequestContextAnswersWithoutAllocating: the token path reads the
// request ID and client address from the context several times per request.
func TestRequestContextAnswersWithoutAllocating(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.7")
	c := &requestContext{Context: context.Background(), id: "req-1", ip: ip}
	if got := requestid.FromContext(c); got != "req-1" {
		t.Errorf("request ID = %q, want req-1", got)
	}
	if got, ok := clientip.FromContext(c); !ok || got != ip {
		t.Errorf("client address = %v, %v; want %v, true", got, ok, ip)
	}
	if n := testing.AllocsPerRun(100, func() { _ = requestid.FromContext(c); _, _ = clientip.FromContext(c) }); n != 0 {
		t.Errorf("reading the request context allocates %v times, want 0", n)
	}
}

// TestSecurityHeadersShared: the headers every response carries are shared
// values, not a new slice per response, and what one handler does to them
// (Set, Add) stays in its own response.
func TestSecurityHeadersShared(t *testing.T) {
	plain := securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	check := func(when string) {
		t.Helper()
		rec := httptest.NewRecorder()
		plain.ServeHTTP(rec, req)
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
			if got := rec.Header().Values(k); len(got) != 1 || got[0] != v {
				t.Errorf("%s: %s = %q, want [%q]", when, k, got, v)
			}
		}
	}
	check("first response")
	rec := httptest.NewRecorder()
	if n := testing.AllocsPerRun(100, func() { plain.ServeHTTP(rec, req) }); n != 0 {
		t.Errorf("security headers allocate %v times per response, want 0", n)
	}
	for name, h := range map[string]http.HandlerFunc{
		"Set": func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Cache-Control", "public, max-age=60") },
		"Add": func(w http.ResponseWriter, _ *http.Request) { w.Header().Add("Cache-Control", "private") },
		"Del": func(w http.ResponseWriter, _ *http.Request) { w.Header().Del("X-Frame-Options") },
	} {
		other := httptest.NewRecorder()
		securityHeaders(h).ServeHTTP(other, req)
		check("after a handler's " + name)
	}
}
