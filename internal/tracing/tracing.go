package tracing

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// DefaultServiceName is the service.name of gatehouse's spans when
// OTEL_SERVICE_NAME (and service.name in OTEL_RESOURCE_ATTRIBUTES) is unset.
const DefaultServiceName = "gatehouse"

// The environment variables Setup reads (OpenTelemetry "Environment
// Variable Specification").
const (
	EnvSDKDisabled        = "OTEL_SDK_DISABLED"
	EnvTracesExporter     = "OTEL_TRACES_EXPORTER"
	EnvEndpoint           = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint     = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvProtocol           = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvTracesProtocol     = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	EnvServiceName        = "OTEL_SERVICE_NAME"
	EnvResourceAttributes = "OTEL_RESOURCE_ATTRIBUTES"
	EnvTracesSampler      = "OTEL_TRACES_SAMPLER"
	EnvTracesSamplerArg   = "OTEL_TRACES_SAMPLER_ARG"
)

// Setup returns the tracer provider the environment asks for (see the
// package documentation) and the function that flushes and stops it; call
// it once the server has stopped. When tracing is off, tp is a
// noop.TracerProvider and shutdown does nothing. A configuration mistake is
// an error naming every offending variable, on one line; nothing is
// exported then.
func Setup(ctx context.Context, getenv func(string) string, logger *slog.Logger) (tp trace.TracerProvider, shutdown func(context.Context) error, err error) {
	return setup(ctx, getenv, logger, os.Stdout)
}

// settings is what the environment asks for.
type settings struct {
	otlp, console bool
	sampler       sdktrace.Sampler
	samplerName   string
	attrs         []attribute.KeyValue
	serviceName   string
	endpoint      string // for the log line, credentials redacted
}

func (s settings) on() bool { return s.otlp || s.console }

func setup(ctx context.Context, getenv func(string) string, logger *slog.Logger, stdout io.Writer) (trace.TracerProvider, func(context.Context) error, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	off := func(context.Context) error { return nil }
	s, err := parse(getenv)
	if err != nil {
		return noop.NewTracerProvider(), off, err
	}
	if !s.on() {
		return noop.NewTracerProvider(), off, nil
	}
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(s.attrs...))
	if err != nil {
		return noop.NewTracerProvider(), off, fmt.Errorf("tracing: resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(s.sampler)}
	var exporters []string
	if s.otlp {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return noop.NewTracerProvider(), off, fmt.Errorf("tracing: otlp exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(&loggedExporter{SpanExporter: exp, log: logger, name: "otlp"}))
		exporters = append(exporters, "otlp")
	}
	if s.console {
		exp, err := stdouttrace.New(stdouttrace.WithWriter(stdout))
		if err != nil {
			return noop.NewTracerProvider(), off, fmt.Errorf("tracing: console exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(&loggedExporter{SpanExporter: exp, log: logger, name: "console"}))
		exporters = append(exporters, "console")
	}
	provider := sdktrace.NewTracerProvider(opts...)
	attrs := []any{"exporters", exporters, "service_name", s.serviceName, "sampler", s.samplerName}
	if s.otlp {
		attrs = append(attrs, "endpoint", s.endpoint)
	}
	logger.Info("tracing on", attrs...)
	return provider, provider.Shutdown, nil
}

// parse reads the variables Setup decides on and reports every problem at
// once.
func parse(getenv func(string) string) (settings, error) {
	var s settings
	var problems []string
	bad := func(name, format string, args ...any) {
		problems = append(problems, name+": "+fmt.Sprintf(format, args...))
	}
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }

	disabled := false
	switch v := strings.ToLower(get(EnvSDKDisabled)); v {
	case "", "false":
	case "true":
		disabled = true
	default:
		bad(EnvSDKDisabled, "%q is not true or false", v)
	}

	endpointSet := get(EnvEndpoint) != "" || get(EnvTracesEndpoint) != ""
	if v := get(EnvTracesExporter); v == "" {
		s.otlp = endpointSet
	} else {
		none := false
		for _, name := range strings.Split(v, ",") {
			switch name = strings.ToLower(strings.TrimSpace(name)); name {
			case "otlp":
				s.otlp = true
			case "console":
				s.console = true
			case "none":
				none = true
			default:
				bad(EnvTracesExporter, "%q is not supported (otlp, console or none)", name)
			}
		}
		if none && s.on() {
			bad(EnvTracesExporter, "none cannot be combined with another exporter")
		}
	}
	if disabled {
		s.otlp, s.console = false, false
	}
	if !s.on() {
		if len(problems) > 0 {
			return s, fmt.Errorf("tracing: %s", strings.Join(problems, "; "))
		}
		return s, nil
	}

	if s.otlp {
		protoVar, proto := EnvTracesProtocol, get(EnvTracesProtocol)
		if proto == "" {
			protoVar, proto = EnvProtocol, get(EnvProtocol)
		}
		switch proto {
		case "", "http/protobuf", "http/json":
		case "grpc":
			bad(protoVar, `grpc is not supported (gatehouse exports OTLP over HTTP: use http/protobuf, a collector's port 4318)`)
		default:
			bad(protoVar, "%q is not supported (http/protobuf or http/json)", proto)
		}
		s.endpoint = "https://localhost:4318/v1/traces" // otlptracehttp's default
		if v := get(EnvEndpoint); v != "" {
			if u, ok := endpointURL(v); ok {
				s.endpoint = u.JoinPath("v1/traces").Redacted()
			} else {
				bad(EnvEndpoint, "not an http:// or https:// URL with a host")
			}
		}
		if v := get(EnvTracesEndpoint); v != "" {
			if u, ok := endpointURL(v); ok {
				s.endpoint = u.Redacted()
			} else {
				bad(EnvTracesEndpoint, "not an http:// or https:// URL with a host")
			}
		}
	}

	var err error
	if s.sampler, s.samplerName, err = sampler(get(EnvTracesSampler), get(EnvTracesSamplerArg)); err != nil {
		bad(EnvTracesSampler, "%v", err)
	}

	for _, pair := range strings.Split(get(EnvResourceAttributes), ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			bad(EnvResourceAttributes, "%q is not key=value", pair)
			continue
		}
		val, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			bad(EnvResourceAttributes, "the value of %q is not percent-encoded correctly", k)
			continue
		}
		s.attrs = append(s.attrs, attribute.String(k, val))
	}
	// OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES,
	// which wins over the default (the specification's precedence).
	s.serviceName = DefaultServiceName
	for _, a := range s.attrs {
		if a.Key == semconv.ServiceNameKey {
			s.serviceName = a.Value.AsString()
		}
	}
	if v := get(EnvServiceName); v != "" {
		s.serviceName = v
	}
	s.attrs = append(s.attrs, semconv.ServiceName(s.serviceName))

	if len(problems) > 0 {
		return s, fmt.Errorf("tracing: %s", strings.Join(problems, "; "))
	}
	return s, nil
}

// endpointURL parses an OTLP/HTTP endpoint: a scheme of http or https and a
// host, as otlptracehttp requires.
func endpointURL(v string) (*url.URL, bool) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, false
	}
	return u, true
}

// sampler is the sampler OTEL_TRACES_SAMPLER names, with its argument
// (OpenTelemetry "Environment Variable Specification", general SDK
// configuration); the default is parentbased_always_on.
func sampler(name, arg string) (sdktrace.Sampler, string, error) {
	ratio := func() (float64, error) {
		if arg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return 0, fmt.Errorf("%s %q is not a ratio from 0 to 1", EnvTracesSamplerArg, arg)
		}
		return r, nil
	}
	switch name = strings.ToLower(name); name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), "parentbased_always_on", nil
	case "always_on":
		return sdktrace.AlwaysSample(), name, nil
	case "always_off":
		return sdktrace.NeverSample(), name, nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), name, nil
	case "traceidratio", "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, "", err
		}
		smp := sdktrace.TraceIDRatioBased(r)
		if name == "parentbased_traceidratio" {
			smp = sdktrace.ParentBased(smp)
		}
		return smp, name + "=" + strconv.FormatFloat(r, 'g', -1, 64), nil
	default:
		return nil, "", fmt.Errorf("%q is not supported (always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio)", name)
	}
}
