package server

import (
	"context"
	"net/http"
	"net/netip"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/gatehouse-dev/gatehouse/internal/metrics"
)

// TracerName is the instrumentation scope of the server's spans.
const TracerName = "github.com/gatehouse-dev/gatehouse/internal/server"

// AttrRequestID is the span attribute that holds the request ID (the
// X-Request-Id of the response and the access log line).
const AttrRequestID = attribute.Key("gatehouse.request_id")

// tracerFor is the tracer of tp, or nil when tp is nil or a no-op
// provider: then the request middleware skips tracing altogether, so that
// tracing that is off costs nothing per request.
func tracerFor(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		return nil
	}
	if _, ok := tp.(noop.TracerProvider); ok {
		return nil
	}
	return tp.Tracer(TracerName, trace.WithSchemaURL(semconv.SchemaURL))
}

// traceContext reads the W3C Trace Context traceparent and tracestate
// headers; it is the only propagator (no baggage: its values would be the
// caller's to choose and would flow into nothing here).
var traceContext propagation.TraceContext

// startSpan starts the server span of a request as the OpenTelemetry HTTP
// semantic conventions describe it, parented by the caller's traceparent
// when it sent a valid one. Its name is the method alone until endSpan
// knows the route. Only the method, the scheme, the client address and the
// request ID are recorded here, and the route, path and status at the end:
// never the query, a header value, a body, a credential or a token.
func (s *Server) startSpan(r *http.Request, id string, ip netip.Addr) (context.Context, trace.Span) {
	ctx := traceContext.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	method := spanMethod(r.Method)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(method),
		semconv.URLScheme(scheme),
		AttrRequestID.String(id),
	}
	if method == "_OTHER" {
		attrs = append(attrs, semconv.HTTPRequestMethodOriginal(logPath(r.Method)))
	}
	if ip.IsValid() {
		attrs = append(attrs, semconv.ClientAddress(ip.String()))
	}
	return s.tracer.Start(ctx, spanName(method, ""), trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
}

// endSpan names the span by its route pattern (bounded cardinality: the
// path of a matched ServeMux pattern, never the request's own path), adds
// the route, the path (only when it is the route pattern itself, so a path
// that no route serves or the rest of a subtree's, which is the client's to
// choose, is never recorded) and
// the status, marks 5xx answers as errors (client errors are not the
// server's, by the conventions) and ends it.
func endSpan(span trace.Span, r *http.Request, route string, status int, panicked bool) {
	method := spanMethod(r.Method)
	if route != metrics.Unmatched {
		span.SetAttributes(semconv.HTTPRoute(route))
		if p := routePath(route, r.URL.Path); p != "" {
			span.SetAttributes(semconv.URLPath(p))
		}
		span.SetName(spanName(method, route))
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	switch {
	case panicked:
		span.SetStatus(codes.Error, "handler panicked")
	case status >= 500:
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

// spanMethod is the method as the conventions record it: a known method,
// or _OTHER for anything a client made up.
func spanMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodHead, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// spanName is "{method} {route}", or the method alone without a route;
// "HTTP" stands for an unknown method.
func spanName(method, route string) string {
	if method == "_OTHER" {
		method = "HTTP"
	}
	if route == "" {
		return method
	}
	return method + " " + route
}
