package interop_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// launchEnv is launch with extra environment variables, and without any
// OTEL_* setting of the test's own environment.
func launchEnv(name string, in instance, env []string, args ...string) (*proc, error) {
	p := &proc{instance: in, name: name, stderr: &logLines{listening: make(chan [2]string, 1)}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"serve", "--log-format", "json", "--db", in.db}, args...)...)
	var base []string
	for _, e := range environ("GATEHOUSE_MASTER_KEY=" + in.masterKey) {
		if !strings.HasPrefix(e, "OTEL_") {
			base = append(base, e)
		}
	}
	p.cmd.Env = append(base, env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	recordProc(p)
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// export is one OTLP/HTTP request the collector received.
type export struct {
	raw []byte
	req *coltracepb.ExportTraceServiceRequest
}

// otlpCollector accepts OTLP/HTTP protobuf exports at /v1/traces, as an
// OpenTelemetry Collector's otlp receiver does, and hands each on.
func otlpCollector(t *testing.T) (*httptest.Server, <-chan export) {
	t.Helper()
	got := make(chan export, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "want POST /v1/traces application/x-protobuf", http.StatusBadRequest)
			return
		}
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req := &coltracepb.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(raw, req); err != nil {
			http.Error(w, "not an ExportTraceServiceRequest: "+err.Error(), http.StatusBadRequest)
			return
		}
		resp, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(resp)
		got <- export{raw: raw, req: req}
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func attrString(attrs []*commonpb.KeyValue, key string) (string, bool) {
	for _, kv := range attrs {
		if kv.Key == key {
			switch v := kv.Value.Value.(type) {
			case *commonpb.AnyValue_StringValue:
				return v.StringValue, true
			case *commonpb.AnyValue_IntValue:
				return fmt.Sprint(v.IntValue), true
			}
			return kv.Value.String(), true
		}
	}
	return "", false
}

// TestTracingOTLP starts the real `gatehouse serve` with
// OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local OTLP/HTTP collector,
// makes a token request with a W3C traceparent, and checks that the
// request's server span arrives in the caller's trace, with the client's
// attributes and without its secret or the token anywhere in the export.
func TestTracingOTLP(t *testing.T) {
	collector, exports := otlpCollector(t)
	in := newInstance(t.TempDir())
	in.admin(t, "migrate") // the admin commands below need the database to exist
	aud := in.newAPI(t, "RS256")
	c := in.newClient(t, "tracing-client")
	in.grant(t, c, aud)

	p, err := launchEnv("traced server", in, []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.URL,
		"OTEL_BSP_SCHEDULE_DELAY=100",
		"OTEL_SERVICE_NAME=gatehouse-interop",
		"OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=test",
	}, "--addr", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.kill)
	select {
	case li := <-p.stderr.listening:
		p.addr, p.issuer = li[0], li[1]
	case <-p.done:
		t.Fatalf("exited before listening (%v); %s", p.waitErr, p.logs())
	case <-time.After(startDeadline):
		t.Fatalf("not listening within %s; %s", startDeadline, p.logs())
	}

	const traceID, parentID = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.id}, "client_secret": {c.secret}, "audience": {aud}}
	req, _ := http.NewRequest(http.MethodPost, p.base()+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Traceparent", "00-"+traceID+"-"+parentID+"-01")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var reply map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&reply)
	resp.Body.Close()
	token, _ := reply["access_token"].(string)
	if resp.StatusCode != 200 || token == "" {
		t.Fatalf("token request: %d %v", resp.StatusCode, reply)
	}
	requestID := resp.Header.Get("X-Request-Id")

	var span *tracepb.Span
	var resource []*commonpb.KeyValue
	deadline := time.After(10 * time.Second)
	for span == nil {
		select {
		case e := <-exports:
			for _, secret := range []string{c.secret, token} {
				if bytes.Contains(e.raw, []byte(secret)) {
					t.Fatalf("an export holds the client secret or the token")
				}
			}
			for _, rs := range e.req.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					for _, s := range ss.Spans {
						if hex.EncodeToString(s.TraceId) == traceID && s.Name == "POST /oauth/token" {
							span, resource = s, rs.Resource.GetAttributes()
						}
					}
				}
			}
		case <-deadline:
			t.Fatalf("no span of trace %s reached the collector within 10s; %s", traceID, p.logs())
		}
	}
	if got := hex.EncodeToString(span.ParentSpanId); got != parentID {
		t.Errorf("parent span %s, want the caller's %s", got, parentID)
	}
	if span.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("span kind %v", span.Kind)
	}
	for k, want := range map[string]string{
		"http.request.method": "POST", "http.route": "/oauth/token", "http.response.status_code": "200",
		"oauth.client_id": c.id, "oauth.audience": aud, "oauth.grant_type": "client_credentials",
		"client.address": "127.0.0.1", "gatehouse.request_id": requestID,
	} {
		if got, _ := attrString(span.Attributes, k); got != want {
			t.Errorf("span attribute %s = %q, want %q", k, got, want)
		}
	}
	for k, want := range map[string]string{"service.name": "gatehouse-interop", "deployment.environment.name": "test"} {
		if got, _ := attrString(resource, k); got != want {
			t.Errorf("resource attribute %s = %q, want %q", k, got, want)
		}
	}
	if _, err := p.stop(); err != nil {
		t.Fatalf("%v; %s", err, p.logs())
	}
	logs := p.logs()
	if !strings.Contains(logs, `"msg":"tracing on"`) || !strings.Contains(logs, `"trace_id":"`+traceID+`"`) {
		t.Errorf("want the tracing start line and an access line in trace %s; %s", traceID, logs)
	}
}

// TestTracingConfigErrors checks that serve refuses a tracing configuration
// it cannot honour, at start, with one line naming the variable.
func TestTracingConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"grpc", []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported"},
		{"exporter", []string{"OTEL_TRACES_EXPORTER=jaeger"}, `OTEL_TRACES_EXPORTER: "jaeger" is not supported`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := launchEnv("misconfigured "+tc.name, newInstance(t.TempDir()), tc.env, "--addr", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.kill)
			select {
			case <-p.done:
			case <-time.After(startDeadline):
				t.Fatalf("still running; %s", p.logs())
			}
			if p.waitErr == nil {
				t.Fatalf("exited 0; %s", p.logs())
			}
			lines := p.stderr.all()
			last := lines[len(lines)-1]
			if !strings.Contains(last, tc.want) {
				t.Errorf("last stderr line %q does not say %q; %s", last, tc.want, p.logs())
			}
			if strings.Contains(p.logs(), "gatehouse listening") {
				t.Error("listened despite the configuration error")
			}
		})
	}
}
