package tracing

import (
	"context"
	"log/slog"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// loggedExporter reports export failures through the server's logger
// instead of OpenTelemetry's global error handler: one warning when
// exporting starts failing (the batch is dropped), debug lines while it
// goes on failing, and one line when it works again. A collector that is
// down costs dropped spans, never a failed request.
type loggedExporter struct {
	sdktrace.SpanExporter
	log     *slog.Logger
	name    string
	failing atomic.Bool
}

var _ sdktrace.SpanExporter = (*loggedExporter)(nil)

// ExportSpans exports through the wrapped exporter and logs the outcome
// when it changes.
func (e *loggedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		level := slog.LevelWarn
		if e.failing.Swap(true) {
			level = slog.LevelDebug
		}
		e.log.Log(ctx, level, "trace export failed, spans dropped", "exporter", e.name, "spans", len(spans), "error", err)
		return nil
	}
	if e.failing.Swap(false) {
		e.log.Info("trace export works again", "exporter", e.name)
	}
	return nil
}
