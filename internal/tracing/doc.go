// Package tracing sets up OpenTelemetry tracing from the standard OTEL_*
// environment (OpenTelemetry specification, "Environment Variable
// Specification" and "OTLP Exporter Configuration").
//
// Tracing is off unless the environment asks for it, and when off, Setup
// returns a no-op provider that the server recognises and skips entirely,
// so the request path pays nothing. It is on when OTEL_TRACES_EXPORTER
// names otlp or console, or when OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set and OTEL_TRACES_EXPORTER is not
// none; OTEL_SDK_DISABLED=true turns it off whatever else is set. (The
// specification's default exporter is otlp; gatehouse departs from it so
// that an unconfigured server sends nothing anywhere.)
//
// Spans leave over OTLP/HTTP (http/protobuf, or http/json when asked for);
// the gRPC protocol is refused with a configuration error, since gatehouse
// does not carry the gRPC exporter. Setup reads through its getenv the
// variables it decides on: OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, the
// endpoints and protocols (validated), OTEL_SERVICE_NAME (default
// "gatehouse"), OTEL_RESOURCE_ATTRIBUTES and OTEL_TRACES_SAMPLER with
// OTEL_TRACES_SAMPLER_ARG. The exporter's connection settings (endpoint,
// headers, timeout, compression, certificates) and the batch span
// processor's OTEL_BSP_* settings are read by the OpenTelemetry SDK itself
// from the process environment, which is the getenv that serve passes.
//
// Nothing here sets OpenTelemetry's globals: the provider is handed to the
// server, and export failures are logged through the injected logger.
package tracing
