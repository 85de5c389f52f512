package cli_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// TestBenchBadFlags: every bad combination of bench flags is one line on
// stderr and a non-zero exit, before any request is sent.
func TestBenchBadFlags(t *testing.T) {
	h := newHarness(t)
	creds := filepath.Join(h.dir, "creds.jsonl")
	if err := os.WriteFile(creds, []byte(`{"client_id":"a","client_secret":"b"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(h.dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"client_id\":\"a\",\"client_secret\":\"b\"}\nnot json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A port nothing listens on: a request would fail as a transport error,
	// but every case below must be refused before that.
	const u = "http://127.0.0.1:1/oauth/token"
	base := []string{"bench", "--token-url", u, "--audience", "https://a.test", "--credentials", creds}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no target", []string{"bench", "--audience", "https://a.test", "--credentials", creds}, "--token-url or --issuer is required"},
		{"both targets", append(base, "--issuer", "http://127.0.0.1:1"), "not both"},
		{"relative url", []string{"bench", "--token-url", "/oauth/token", "--audience", "x", "--credentials", creds}, "absolute http"},
		{"no audience", []string{"bench", "--token-url", u, "--credentials", creds}, "--audience is required"},
		{"no credentials", []string{"bench", "--token-url", u, "--audience", "x"}, "--credentials or --clients is required"},
		{"credentials and clients", append(base, "--clients", "3"), "not both"},
		{"negative clients", []string{"bench", "--token-url", u, "--audience", "x", "--clients", "-3"}, "--clients -3"},
		{"credentials-out without clients", append(base, "--credentials-out", "x"), "--credentials-out needs --clients"},
		{"signing-alg without clients", append(base, "--signing-alg", "ES256"), "--signing-alg needs --clients"},
		{"bad signing alg", []string{"bench", "--token-url", u, "--audience", "x", "--clients", "2", "--signing-alg", "HS256"}, "HS256"},
		{"workers 0", append(base, "--workers", "0"), "--workers 0"},
		{"workers not a number", append(base, "--workers", "many"), "workers"},
		{"duration and requests", append(base, "--duration", "1s", "--requests", "5"), "not both"},
		{"duration 0", append(base, "--duration", "0"), "--duration must be positive"},
		{"negative duration", append(base, "--duration", "-1s"), "negative"},
		{"duration not a duration", append(base, "--duration", "ten"), "duration"},
		{"requests 0", append(base, "--requests", "0"), "--requests must be positive"},
		{"bad auth", append(base, "--auth", "jwt"), "--auth"},
		{"timeout 0", append(base, "--timeout", "0s"), "--timeout"},
		{"negative rate", append(base, "--rate", "-5"), "--rate -5"},
		{"sample interval too short", append(base, "--sample-interval", "10ms"), "--sample-interval 10ms must be at least 100ms"},
		{"metrics url without samples", append(base, "--metrics-url", "http://127.0.0.1:1/metrics"), "--metrics-url needs --sample-interval"},
		{"relative metrics url", append(base, "--sample-interval", "1s", "--metrics-url", "/metrics"), "--metrics-url \"/metrics\" must be an absolute"},
		{"unknown flag", append(base, "--frobnicate"), "unknown flag"},
		{"positional argument", append(base, "extra"), "unknown command"},
		{"missing credentials file", []string{"bench", "--token-url", u, "--audience", "x", "--credentials", filepath.Join(h.dir, "none")}, "credentials"},
		{"malformed credentials file", []string{"bench", "--token-url", u, "--audience", "x", "--credentials", bad}, "line 2"},
		{"several problems at once", []string{"bench", "--workers", "0", "--auth", "x"}, "--audience is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.run(tt.args...)
			expect(t, oneLineError(r))
			if !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(tt.want)) {
				t.Errorf("stderr %q lacks %q", r.stderr, tt.want)
			}
		})
	}
}

// benchServer runs a real gatehouse server on the harness database.
func benchServer(t *testing.T, h *harness) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ts := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.DB = h.db
	cfg.Issuer = "http://" + ts.Listener.Addr().String()
	cfg.SyncInterval = 20 * time.Millisecond
	store, err := server.OpenStorage(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := keys.ParseMasterKey(testMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, cfg, store, mk, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wait := srv.Start(ctx)
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		cancel()
		wait()
		_ = store.Close()
	})
	return ts
}

type benchOut struct {
	TokenURL        string           `json:"token_url"`
	Clients         int              `json:"clients"`
	Requests        int64            `json:"requests"`
	Tokens          int64            `json:"tokens"`
	TokensPerSecond float64          `json:"tokens_per_second"`
	Errors          map[string]int64 `json:"errors"`
	LatencyMS       struct {
		P50, P99, Max float64
	} `json:"latency_ms"`
}

// TestBenchAgainstServer: bench provisions clients in the database, waits
// for a running server to know them, and counts the tokens it gets; the
// saved credentials work for a second run; wrong secrets are counted by
// status and fail the command.
func TestBenchAgainstServer(t *testing.T) {
	h := newHarness(t)
	ts := benchServer(t, h)
	out := filepath.Join(h.dir, "bench.jsonl")
	r := h.run("bench", "--json", "--quiet", "--issuer", ts.URL, "--audience", "https://bench.test", "--signing-alg", "ES256",
		"--clients", "3", "--credentials-out", out, "--workers", "2", "--requests", "30")
	if r.code != 0 {
		t.Fatalf("bench: %s", r)
	}
	var got benchOut
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("bench --json: %v: %q", err, r.stdout)
	}
	if got.Tokens != 30 || got.Requests != 30 || len(got.Errors) != 0 || got.Clients != 3 || got.TokensPerSecond <= 0 ||
		got.TokenURL != ts.URL+"/oauth/token" || got.LatencyMS.Max <= 0 || got.LatencyMS.P50 > got.LatencyMS.P99 {
		t.Errorf("summary %+v", got)
	}
	if !strings.Contains(r.stderr, "provisioned 3 clients") || !strings.Contains(r.stderr, "created API https://bench.test (ES256)") {
		t.Errorf("stderr %q", r.stderr)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi, err)
	}
	if n := len(h.array("client", "list")); n != 3 {
		t.Errorf("%d clients in the database, want 3", n)
	}

	// A second run with the saved credentials, HTTP Basic, table output
	// and the progress line.
	r = h.run("bench", "--token-url", ts.URL+"/oauth/token", "--audience", "https://bench.test", "--credentials", out,
		"--auth", "basic", "--duration", "1200ms", "--workers", "3")
	if r.code != 0 {
		t.Fatalf("bench with saved credentials: %s", r)
	}
	for _, want := range []string{"tokens/s", "p99", "errors:     none", "clients:    3"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}
	// The progress line comes once a second; a loaded machine prints it late.
	if !regexp.MustCompile(`bench: +1\.\ds`).MatchString(r.stderr) {
		t.Errorf("no progress line on stderr: %q", r.stderr)
	}

	wrong := filepath.Join(h.dir, "wrong.jsonl")
	data, _ := os.ReadFile(out)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var c map[string]string
		_ = json.Unmarshal([]byte(l), &c)
		c["client_secret"] += "x"
		b, _ := json.Marshal(c)
		lines = append(lines, string(b))
	}
	if err := os.WriteFile(wrong, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	r = h.run("bench", "--json", "--quiet", "--token-url", ts.URL+"/oauth/token", "--audience", "https://bench.test", "--credentials", wrong, "--requests", "9")
	if r.code == 0 || !strings.Contains(r.stderr, "no request got a token (401: 9)") {
		t.Errorf("wrong secrets: %s", r)
	}
}

// TestBenchSoakSamples: --sample-interval reports each interval on its own,
// with the server's RSS, goroutines and open files read from its /metrics,
// as a line on stderr each and "samples" in --json; the samples' tokens
// add up to the run's.
func TestBenchSoakSamples(t *testing.T) {
	h := newHarness(t)
	ts := benchServer(t, h)
	r := h.run("bench", "--json", "--issuer", ts.URL, "--audience", "https://bench.test", "--clients", "2",
		"--workers", "2", "--duration", "1100ms", "--rate", "200", "--sample-interval", "250ms", "--metrics-url", ts.URL+"/metrics")
	if r.code != 0 {
		t.Fatalf("bench: %s", r)
	}
	var got struct {
		benchOut
		Samples []struct {
			ElapsedSeconds float64 `json:"elapsed_seconds"`
			Tokens         int64
			P99MS          float64 `json:"p99_ms"`
			RSSBytes       float64 `json:"rss_bytes"`
			Goroutines     float64
			OpenFDs        float64 `json:"open_fds"`
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("bench --json: %v: %q", err, r.stdout)
	}
	if len(got.Samples) < 4 || len(got.Samples) > 6 {
		t.Fatalf("%d samples of 250ms in 1.1s: %+v", len(got.Samples), got.Samples)
	}
	var tokens int64
	for i, s := range got.Samples {
		tokens += s.Tokens
		if s.RSSBytes < 1<<20 || s.Goroutines < 1 || s.OpenFDs < 3 || s.P99MS <= 0 {
			t.Errorf("sample %d: %+v, want the process figures and a p99", i, s)
		}
	}
	if tokens != got.Tokens {
		t.Errorf("the samples count %d tokens, the run %d", tokens, got.Tokens)
	}
	if n := strings.Count(r.stderr, "bench: sample "); n != len(got.Samples) || !strings.Contains(r.stderr, "goroutines") {
		t.Errorf("%d sample lines on stderr for %d samples: %q", n, len(got.Samples), r.stderr)
	}
}

// TestBenchPrivateKeyJWT: bench --auth private_key_jwt provisions clients
// with a key each and no secret, signs a fresh assertion per request (the
// server refuses a replayed jti, so a reused one would fail), and a second
// run with the saved keys gets tokens too; with the keys swapped between
// clients, every request is refused.
func TestBenchPrivateKeyJWT(t *testing.T) {
	h := newHarness(t)
	ts := benchServer(t, h)
	out := filepath.Join(h.dir, "keys.jsonl")
	r := h.run("bench", "--json", "--quiet", "--issuer", ts.URL, "--audience", "https://bench.test", "--auth", "private_key_jwt",
		"--clients", "2", "--credentials-out", out, "--workers", "2", "--requests", "40")
	if r.code != 0 {
		t.Fatalf("bench: %s", r)
	}
	var got benchOut
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Tokens != 40 || len(got.Errors) != 0 {
		t.Fatalf("summary %+v %v", got, err)
	}
	data, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var first map[string]string
	_ = json.Unmarshal([]byte(lines[0]), &first)
	if first["client_secret"] != "" || !strings.Contains(first["private_key"], "PRIVATE KEY") {
		t.Fatalf("saved credential %v", first)
	}
	for _, c := range h.array("client", "list") {
		if str(c, "auth_method") != "private_key_jwt" {
			t.Errorf("provisioned client %v", c)
		}
	}
	r = h.run("bench", "--json", "--quiet", "--issuer", ts.URL, "--audience", "https://bench.test", "--auth", "private_key_jwt",
		"--credentials", out, "--requests", "20")
	if r.code != 0 || !strings.Contains(r.stdout, `"tokens": 20,`) {
		t.Fatalf("bench with saved keys: %s", r)
	}
	var second map[string]string
	_ = json.Unmarshal([]byte(lines[1]), &second)
	first["private_key"], second["private_key"] = second["private_key"], first["private_key"]
	a, _ := json.Marshal(first)
	b, _ := json.Marshal(second)
	swapped := filepath.Join(h.dir, "swapped.jsonl")
	_ = os.WriteFile(swapped, []byte(string(a)+"\n"+string(b)+"\n"), 0o600)
	r = h.run("bench", "--json", "--quiet", "--issuer", ts.URL, "--audience", "https://bench.test", "--auth", "private_key_jwt",
		"--credentials", swapped, "--requests", "6")
	if r.code == 0 || !strings.Contains(r.stderr, "no request got a token (401: 6)") {
		t.Errorf("swapped keys: %s", r)
	}
}

// TestBenchDPoP: --dpop sends a valid proof with every request (a server
// that requires DPoP for the API issues every token, and refuses the same
// run without proofs), and --dpop compare reports a bearer and a DPoP run
// of the same length and the difference.
func TestBenchDPoP(t *testing.T) {
	h := newHarness(t)
	ts := benchServer(t, h)
	out := filepath.Join(h.dir, "bench.jsonl")
	args := []string{"bench", "--json", "--quiet", "--token-url", ts.URL + "/oauth/token", "--audience", "https://bench.test", "--workers", "2", "--requests", "20"}
	if r := h.run(append(args, "--clients", "2", "--credentials-out", out, "--dpop", "compare")...); r.code != 0 {
		t.Fatalf("bench --dpop compare: %s", r)
	} else {
		var got struct {
			Bearer, DPoP benchOut
			Extra        *float64 `json:"dpop_extra_ms_per_request"`
			Ratio        float64  `json:"dpop_throughput_ratio"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("%v: %q", err, r.stdout)
		}
		if got.Bearer.Tokens != 20 || got.DPoP.Tokens != 20 || len(got.DPoP.Errors) != 0 || got.Extra == nil || got.Ratio <= 0 {
			t.Errorf("compare %+v", got)
		}
	}
	h.ok("api", "update", "https://bench.test", "--pop-mechanism", "dpop", "--pop-required")
	args = append(args[:len(args)-2], "--requests", "10", "--credentials", out)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := h.run(args...)
		if r.code != 0 && strings.Contains(r.stderr, "no request got a token (400: 10)") {
			break // the server knows the API requires DPoP
		}
		if time.Now().After(deadline) {
			t.Fatalf("bearer run against a DPoP-only API: %s", r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := h.run(append(args, "--dpop", "on")...); r.code != 0 || !strings.Contains(r.stdout, `"tokens": 10,`) {
		t.Errorf("bench --dpop on against a DPoP-only API: %s", r)
	}
}
