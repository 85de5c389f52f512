package tracing

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// TestSetupRules table-tests when Setup turns tracing on, and which
// configurations it refuses, naming every offending variable.
func TestSetupRules(t *testing.T) {
	// The rules read the table's environment; the OTLP exporter reads its
	// endpoint from the process's, pointed here at a collector that takes
	// everything, so that flushing at shutdown is quick.
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer collector.Close()
	t.Setenv(EnvEndpoint, collector.URL)
	ep := collector.URL
	cases := []struct {
		name    string
		env     map[string]string
		on      bool     // an SDK provider, not the no-op
		console bool     // the console exporter is among the exporters
		errs    []string // every one in the error; none means no error
	}{
		{name: "off by default", env: nil},
		{name: "off with only unrelated OTLP settings", env: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "a=b", EnvProtocol: "grpc"}},
		{name: "on with the endpoint", env: map[string]string{EnvEndpoint: ep}, on: true},
		{name: "on with the traces endpoint", env: map[string]string{EnvTracesEndpoint: ep + "/v1/traces"}, on: true},
		{name: "on with otlp named", env: map[string]string{EnvTracesExporter: "otlp"}, on: true},
		{name: "console", env: map[string]string{EnvTracesExporter: "console"}, on: true, console: true},
		{name: "otlp and console", env: map[string]string{EnvTracesExporter: "otlp, console", EnvEndpoint: ep}, on: true, console: true},
		{name: "none wins over the endpoint", env: map[string]string{EnvTracesExporter: "none", EnvEndpoint: ep}},
		{name: "OTEL_SDK_DISABLED", env: map[string]string{EnvSDKDisabled: "true", EnvEndpoint: ep, EnvTracesExporter: "otlp"}},
		{name: "OTEL_SDK_DISABLED in capitals", env: map[string]string{EnvSDKDisabled: "TRUE", EnvEndpoint: ep}},
		{name: "OTEL_SDK_DISABLED=false", env: map[string]string{EnvSDKDisabled: "false", EnvEndpoint: ep}, on: true},
		{name: "http/protobuf", env: map[string]string{EnvEndpoint: ep, EnvProtocol: "http/protobuf"}, on: true},
		{name: "http/json", env: map[string]string{EnvEndpoint: ep, EnvTracesProtocol: "http/json"}, on: true},
		{name: "traces protocol wins over grpc", env: map[string]string{EnvEndpoint: ep, EnvProtocol: "grpc", EnvTracesProtocol: "http/protobuf"}, on: true},
		{name: "samplers", env: map[string]string{EnvEndpoint: ep, EnvTracesSampler: "parentbased_traceidratio", EnvTracesSamplerArg: "0.25"}, on: true},
		{name: "resource attributes", env: map[string]string{EnvEndpoint: ep, EnvResourceAttributes: "deployment.environment.name=prod, team=id%20p"}, on: true},

		{name: "grpc refused", env: map[string]string{EnvEndpoint: ep, EnvProtocol: "grpc"},
			errs: []string{"OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported"}},
		{name: "grpc refused per signal", env: map[string]string{EnvEndpoint: ep, EnvProtocol: "http/protobuf", EnvTracesProtocol: "grpc"},
			errs: []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: grpc is not supported"}},
		{name: "unknown protocol", env: map[string]string{EnvTracesExporter: "otlp", EnvProtocol: "thrift"},
			errs: []string{`OTEL_EXPORTER_OTLP_PROTOCOL: "thrift" is not supported`}},
		{name: "unknown exporter", env: map[string]string{EnvTracesExporter: "zipkin"},
			errs: []string{`OTEL_TRACES_EXPORTER: "zipkin" is not supported`}},
		{name: "none with another", env: map[string]string{EnvTracesExporter: "none,otlp"},
			errs: []string{"OTEL_TRACES_EXPORTER: none cannot be combined"}},
		{name: "endpoint without a scheme", env: map[string]string{EnvEndpoint: "collector:4318"},
			errs: []string{"OTEL_EXPORTER_OTLP_ENDPOINT: not an http:// or https:// URL"}},
		{name: "traces endpoint without a host", env: map[string]string{EnvTracesEndpoint: "http:///v1/traces"},
			errs: []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: not an http:// or https:// URL"}},
		{name: "bad OTEL_SDK_DISABLED", env: map[string]string{EnvSDKDisabled: "yes"},
			errs: []string{`OTEL_SDK_DISABLED: "yes" is not true or false`}},
		{name: "unknown sampler", env: map[string]string{EnvEndpoint: ep, EnvTracesSampler: "sometimes"},
			errs: []string{`OTEL_TRACES_SAMPLER: "sometimes" is not supported`}},
		{name: "ratio out of range", env: map[string]string{EnvEndpoint: ep, EnvTracesSampler: "traceidratio", EnvTracesSamplerArg: "1.5"},
			errs: []string{`OTEL_TRACES_SAMPLER_ARG "1.5" is not a ratio`}},
		{name: "bad resource attribute", env: map[string]string{EnvEndpoint: ep, EnvResourceAttributes: "team"},
			errs: []string{`OTEL_RESOURCE_ATTRIBUTES: "team" is not key=value`}},
		{name: "every problem at once", env: map[string]string{EnvEndpoint: "nope", EnvProtocol: "grpc", EnvTracesSampler: "x", EnvResourceAttributes: "=v"},
			errs: []string{"OTEL_EXPORTER_OTLP_ENDPOINT:", "OTEL_EXPORTER_OTLP_PROTOCOL:", "OTEL_TRACES_SAMPLER:", "OTEL_RESOURCE_ATTRIBUTES:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout bytes.Buffer
			tp, shutdown, err := setup(context.Background(), envOf(tc.env), nil, &stdout)
			if len(tc.errs) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				for _, want := range tc.errs {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				if _, ok := tp.(noop.TracerProvider); !ok {
					t.Errorf("provider %T after an error, want the no-op", tp)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, isNoop := tp.(noop.TracerProvider)
			_, isSDK := tp.(*sdktrace.TracerProvider)
			if tc.on && !isSDK || !tc.on && !isNoop {
				t.Fatalf("provider %T, want on=%v", tp, tc.on)
			}
			if tc.on {
				_, span := tp.Tracer("test").Start(context.Background(), "probe-span")
				span.End()
			}
			if err := shutdown(context.Background()); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			if got := strings.Contains(stdout.String(), "probe-span"); got != tc.console {
				t.Errorf("console output has the span: %v, want %v: %q", got, tc.console, stdout.String())
			}
		})
	}
}

// TestResource checks the service name's precedence (OTEL_SERVICE_NAME over
// service.name in OTEL_RESOURCE_ATTRIBUTES over the default) and that
// resource attribute values are percent-decoded.
func TestResource(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want map[string]string
	}{
		{name: "default", env: nil, want: map[string]string{"service.name": "gatehouse"}},
		{name: "OTEL_SERVICE_NAME", env: map[string]string{EnvServiceName: "auth-eu"}, want: map[string]string{"service.name": "auth-eu"}},
		{name: "attributes", env: map[string]string{EnvResourceAttributes: "service.name=from-attrs,deployment.environment.name=prod,team=id%20platform"},
			want: map[string]string{"service.name": "from-attrs", "deployment.environment.name": "prod", "team": "id platform"}},
		{name: "OTEL_SERVICE_NAME wins", env: map[string]string{EnvServiceName: "auth-eu", EnvResourceAttributes: "service.name=from-attrs"},
			want: map[string]string{"service.name": "auth-eu"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{EnvTracesExporter: "console"}
			for k, v := range tc.env {
				env[k] = v
			}
			var stdout bytes.Buffer
			tp, shutdown, err := setup(context.Background(), envOf(env), nil, &stdout)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recordingExporter{}
			tp.(*sdktrace.TracerProvider).RegisterSpanProcessor(sdktrace.NewSimpleSpanProcessor(rec))
			_, span := tp.Tracer("test").Start(context.Background(), "probe")
			span.End()
			if err := shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(rec.spans) != 1 {
				t.Fatalf("%d spans", len(rec.spans))
			}
			got := map[string]string{}
			for _, kv := range rec.spans[0].Resource().Attributes() {
				got[string(kv.Key)] = kv.Value.String()
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("resource %s = %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
			if got["telemetry.sdk.language"] != "go" {
				t.Errorf("no telemetry.sdk attributes: %v", got)
			}
		})
	}
}

type recordingExporter struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (e *recordingExporter) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.spans = append(e.spans, s...)
	return nil
}

func (e *recordingExporter) Shutdown(context.Context) error { return nil }

// TestOTLPExport runs Setup with the process environment pointing the OTLP
// exporter at a local HTTP server (the exporter reads its connection
// settings from there) and checks that a span arrives as OTLP/HTTP
// protobuf at /v1/traces with the configured header.
func TestOTLPExport(t *testing.T) {
	type post struct{ path, contentType, auth string }
	got := make(chan post, 10)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got <- post{r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization")}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv(EnvEndpoint, collector.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20collector-token")
	var logs bytes.Buffer
	tp, shutdown, err := Setup(context.Background(), func(k string) string {
		return map[string]string{EnvEndpoint: collector.URL}[k]
	}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer("test").Start(context.Background(), "probe")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p.path != "/v1/traces" || p.contentType != "application/x-protobuf" || p.auth != "Bearer collector-token" {
			t.Errorf("collector got %+v", p)
		}
	default:
		t.Fatal("no export reached the collector by shutdown")
	}
	if !strings.Contains(logs.String(), "tracing on") || !strings.Contains(logs.String(), collector.URL+"/v1/traces") {
		t.Errorf("start log: %s", logs.String())
	}
	if strings.Contains(logs.String(), "collector-token") {
		t.Errorf("the log holds the collector's header: %s", logs.String())
	}
}

// TestLoggedExporter checks that export failures are logged once at warn,
// then at debug while they go on, and that recovery is logged; the SDK is
// never handed the error (it would go to OpenTelemetry's global handler).
func TestLoggedExporter(t *testing.T) {
	fail := errors.New("collector unreachable")
	results := []error{fail, fail, nil, fail}
	var i int
	inner := funcExporter{export: func() error { err := results[i]; i++; return err }}
	var logs bytes.Buffer
	e := &loggedExporter{SpanExporter: inner, log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), name: "otlp"}
	for range results {
		if err := e.ExportSpans(context.Background(), nil); err != nil {
			t.Fatalf("ExportSpans returned %v", err)
		}
	}
	var levels []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		_, rest, _ := strings.Cut(line, "level=")
		lvl, _, _ := strings.Cut(rest, " ")
		levels = append(levels, lvl)
	}
	if want := "WARN DEBUG INFO WARN"; strings.Join(levels, " ") != want {
		t.Errorf("levels %v, want %s:\n%s", levels, want, logs.String())
	}
}

type funcExporter struct{ export func() error }

func (f funcExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return f.export() }
func (funcExporter) Shutdown(context.Context) error                               { return nil }
