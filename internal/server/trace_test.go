package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// newTracedFixture is newFixture's server with a tracer provider and a
// logger: the same API, second API and granted client.
func newTracedFixture(t testing.TB, tp trace.TracerProvider, log *slog.Logger) *fixture {
	t.Helper()
	return setupFixture(t, server.Options{Logger: log, TracerProvider: tp}, false)
}

// lockedBuffer is a log sink the server's goroutines write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestTracing sends token requests through a real server whose tracer
// provider records into the SDK's in-memory exporter, and checks each
// request's one server span: its name, parent, attributes, status, and that
// nothing in it holds a credential or a token.
func TestTracing(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	logs := &lockedBuffer{}
	f := newTracedFixture(t, tp, slog.New(slog.NewJSONHandler(logs, nil)))

	const (
		callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
		callerSpan  = "00f067aa0ba902b7"
	)
	traceparent := "00-" + callerTrace + "-" + callerSpan + "-01"
	withTraceparent := func(r *http.Request) { r.Header.Set("Traceparent", traceparent) }
	formType := "application/x-www-form-urlencoded"
	body := func(kv ...string) []byte { return form(kv...) }

	type want struct {
		name   string
		status int
		attrs  map[attribute.Key]any // want these values
		absent []attribute.Key       // and none of these
		error  bool                  // span status Error
	}
	cases := []struct {
		name   string
		method string
		path   string
		body   []byte
		mod    func(*http.Request)
		want   want
	}{
		{
			name: "issued, parent from traceparent", method: http.MethodPost, path: "/oauth/token",
			body: body("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret, "audience", audience),
			mod:  withTraceparent,
			want: want{name: "POST /oauth/token", status: 200, attrs: map[attribute.Key]any{
				"http.request.method": "POST", "http.route": "/oauth/token", "http.response.status_code": int64(200),
				"client.address": "127.0.0.1", "url.path": "/oauth/token", "url.scheme": "http",
				"oauth.client_id": f.clientID, "oauth.audience": audience, "oauth.grant_type": "client_credentials",
			}, absent: []attribute.Key{"oauth.error"}},
		},
		{
			name: "wrong secret: no client_id", method: http.MethodPost, path: "/oauth/token",
			body: body("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret+"x", "audience", audience),
			want: want{name: "POST /oauth/token", status: 401, attrs: map[attribute.Key]any{
				"oauth.error": "invalid_client", "oauth.grant_type": "client_credentials", "http.response.status_code": int64(401),
			}, absent: []attribute.Key{"oauth.client_id", "oauth.audience"}},
		},
		{
			name: "HTTP Basic, no grant for the API", method: http.MethodPost, path: "/oauth/token",
			body: body("grant_type", "client_credentials", "audience", other),
			mod:  func(r *http.Request) { r.SetBasicAuth(f.clientID, f.secret) },
			want: want{name: "POST /oauth/token", status: 403, attrs: map[attribute.Key]any{
				"oauth.error": "access_denied", "oauth.client_id": f.clientID, "oauth.audience": other,
			}},
		},
		{
			name: "unregistered audience is not recorded", method: http.MethodPost, path: "/oauth/token",
			body: body("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret, "audience", "https://nowhere.test"),
			want: want{name: "POST /oauth/token", status: 400, attrs: map[attribute.Key]any{
				"oauth.error": "invalid_target", "oauth.client_id": f.clientID,
			}, absent: []attribute.Key{"oauth.audience"}},
		},
		{
			name: "made-up grant type", method: http.MethodPost, path: "/oauth/token",
			body: body("grant_type", "urn:made:up", "client_id", f.clientID, "client_secret", f.secret),
			want: want{name: "POST /oauth/token", status: 400, attrs: map[attribute.Key]any{
				"oauth.error": "unsupported_grant_type", "oauth.grant_type": "_OTHER",
			}},
		},
		{
			name: "unmatched path: method alone, no route", method: http.MethodGet, path: "/no/such/" + f.secret,
			want: want{name: "GET", status: 404, attrs: map[attribute.Key]any{"http.response.status_code": int64(404)},
				absent: []attribute.Key{"http.route", "url.path"}},
		},
		{
			name: "a parameterised route's path is not recorded", method: http.MethodGet, path: "/api/v2/users/" + f.secret,
			want: want{name: "GET /api/v2/users/{id}", status: 401, attrs: map[attribute.Key]any{"http.route": "/api/v2/users/{id}"},
				absent: []attribute.Key{"url.path"}},
		},
		{
			name: "discovery", method: http.MethodGet, path: "/.well-known/openid-configuration", mod: withTraceparent,
			want: want{name: "GET /.well-known/openid-configuration", status: 200, attrs: map[attribute.Key]any{
				"http.route": "/.well-known/openid-configuration",
			}, absent: []attribute.Key{"oauth.error", "oauth.client_id"}},
		},
	}
	var issued string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spans.Reset()
			req, err := http.NewRequest(tc.method, f.http.URL+tc.path, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.body != nil {
				req.Header.Set("Content-Type", formType)
			}
			if tc.mod != nil {
				tc.mod(req)
			}
			resp, err := f.http.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var reply map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&reply)
			resp.Body.Close()
			if resp.StatusCode != tc.want.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tc.want.status, reply)
			}
			if tok, _ := reply["access_token"].(string); tok != "" {
				issued = tok
			}
			got := spans.GetSpans()
			if len(got) != 1 {
				t.Fatalf("%d spans, want 1: %v", len(got), got)
			}
			s := got[0]
			if s.Name != tc.want.name {
				t.Errorf("span name %q, want %q", s.Name, tc.want.name)
			}
			if s.SpanKind != trace.SpanKindServer {
				t.Errorf("span kind %v, want server", s.SpanKind)
			}
			if tc.mod != nil && req.Header.Get("Traceparent") != "" {
				if s.SpanContext.TraceID().String() != callerTrace || s.Parent.SpanID().String() != callerSpan || !s.Parent.IsRemote() {
					t.Errorf("trace %s parent %s (remote %v), want the caller's %s and %s", s.SpanContext.TraceID(), s.Parent.SpanID(), s.Parent.IsRemote(), callerTrace, callerSpan)
				}
			} else if s.Parent.IsValid() {
				t.Errorf("span has parent %v without a traceparent", s.Parent)
			}
			attrs := map[attribute.Key]attribute.Value{}
			for _, kv := range s.Attributes {
				attrs[kv.Key] = kv.Value
			}
			for k, v := range tc.want.attrs {
				if got, ok := attrs[k]; !ok || got.AsInterface() != v {
					t.Errorf("attribute %s = %v (present %v), want %v", k, got.AsInterface(), ok, v)
				}
			}
			for _, k := range tc.want.absent {
				if v, ok := attrs[k]; ok {
					t.Errorf("attribute %s = %v, want none", k, v.AsInterface())
				}
			}
			if id := resp.Header.Get("X-Request-Id"); attrs[server.AttrRequestID].AsString() != id || id == "" {
				t.Errorf("request ID attribute %q, X-Request-Id %q", attrs[server.AttrRequestID].AsString(), id)
			}
			if (s.Status.Code == codes.Error) != tc.want.error {
				t.Errorf("span status %v", s.Status)
			}
			// Nothing of the span holds the secret or the issued token.
			dump := fmt.Sprintf("%s %v %v %v %v", s.Name, s.Attributes, s.Events, s.Status, s.Links)
			for _, secret := range []string{f.secret, issued} {
				if secret != "" && strings.Contains(dump, secret) {
					t.Errorf("span holds a credential or token: %s", dump)
				}
			}
		})
	}
	if issued == "" {
		t.Fatal("no token was issued")
	}
	// The access log line carries the span's trace ID, the caller's here.
	if !strings.Contains(logs.String(), `"trace_id":"`+callerTrace+`"`) {
		t.Errorf("no access log line with trace_id %s:\n%s", callerTrace, logs.String())
	}
}

// TestTracingOff checks that a no-op provider (what tracing.Setup returns
// when nothing asks for tracing) and no provider serve alike, and that the
// access log still takes the trace ID from the traceparent.
func TestTracingOff(t *testing.T) {
	for name, tp := range map[string]trace.TracerProvider{"nil": nil, "noop": noop.NewTracerProvider()} {
		t.Run(name, func(t *testing.T) {
			logs := &lockedBuffer{}
			f := newTracedFixture(t, tp, slog.New(slog.NewJSONHandler(logs, nil)))
			r := f.do(http.MethodPost, "", "application/x-www-form-urlencoded",
				form("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret, "audience", audience),
				func(r *http.Request) {
					r.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
				})
			if r.status != 200 {
				t.Fatalf("status %d: %v", r.status, r.raw)
			}
			// The access line is written before the response leaves.
			if !strings.Contains(logs.String(), `"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"`) {
				t.Fatalf("no trace_id in the access log:\n%s", logs.String())
			}
		})
	}
}

// BenchmarkTokenEndpointTracing is BenchmarkTokenEndpoint's RS256 and
// EdDSA requests, each carrying a traceparent, on one server setup with
// tracing off (no provider), off as tracing.Setup leaves it (the no-op
// provider) and on (every request sampled, spans batched into an exporter
// that drops them): the differences are what tracing costs a whole token
// request. (The fixture runs no background work, unlike newFixture's, so
// compare these with each other, not with BenchmarkTokenEndpoint.)
func BenchmarkTokenEndpointTracing(b *testing.B) {
	for _, alg := range []string{"RS256", "EdDSA"} {
		for _, mode := range []string{"off", "noop", "on"} {
			b.Run(alg+"/"+mode, func(b *testing.B) { benchTokenTracing(b, alg, mode) })
		}
	}
}

func benchTokenTracing(b *testing.B, alg, mode string) {
	var tp trace.TracerProvider
	switch mode {
	case "noop":
		tp = noop.NewTracerProvider()
	case "on":
		sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()), sdktrace.WithSampler(sdktrace.AlwaysSample()))
		b.Cleanup(func() { _ = sdk.Shutdown(context.Background()) })
		tp = sdk
	}
	f := newTracedFixture(b, tp, nil)
	aud := "https://" + strings.ToLower(alg) + ".bench"
	if _, err := f.admin.CreateAPI(f.ctx, admin.APIInput{Identifier: aud, SigningAlg: alg, Scopes: scopes("read")}); err != nil {
		b.Fatal(err)
	}
	if _, err := f.admin.CreateGrant(f.ctx, f.clientID, aud, []string{"read"}); err != nil {
		b.Fatal(err)
	}
	f.sync()
	body := string(form("grant_type", "client_credentials", "client_id", f.clientID, "client_secret", f.secret, "audience", aud))
	h := f.srv.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}
