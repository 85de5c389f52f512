package server_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// samples parses a Prometheus text exposition into series → value.
func samples(t testing.TB, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func (l *live) scrape(base string) map[string]float64 {
	l.t.Helper()
	resp, err := l.client.Get(base + "/metrics")
	if err != nil {
		l.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	if resp.StatusCode != 200 {
		l.t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	return samples(l.t, b.String())
}

// TestMetricsEndToEnd scrapes a real server's /metrics and sees the request
// counters, latency histograms and catalog gauges move, and the signing key
// age.
func TestMetricsEndToEnd(t *testing.T) {
	l := startLive(t, server.Options{})
	if _, err := l.admin.CreateAPI(l.ctx, admin.APIInput{Identifier: audience, Scopes: scopes("read")}); err != nil {
		t.Fatal(err)
	}
	c, sec, err := l.admin.CreateClient(l.ctx, admin.ClientInput{Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.admin.CreateGrant(l.ctx, c.ClientID, audience, []string{"read"}); err != nil {
		t.Fatal(err)
	}
	l.sync()
	before := l.scrape(l.url)

	ok := fmt.Sprintf("grant_type=client_credentials&client_id=%s&client_secret=%s&audience=%s", c.ClientID, sec.Plain, audience)
	for range 3 {
		if resp, body := l.req(http.MethodPost, "/oauth/token", "application/x-www-form-urlencoded", ok, nil); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	l.req(http.MethodPost, "/oauth/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id="+c.ClientID+"&client_secret=wrong", nil)
	l.req(http.MethodGet, "/no/such/path/abc123", "", "", nil)
	if _, _, err := l.admin.CreateClient(l.ctx, admin.ClientInput{Name: "second"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.admin.CreateAPI(l.ctx, admin.APIInput{Identifier: other}); err != nil {
		t.Fatal(err)
	}
	l.sync()
	after := l.scrape(l.url)

	delta := func(series string) float64 { return after[series] - before[series] }
	for series, want := range map[string]float64{
		`gatehouse_http_requests_total{code="200",endpoint="/oauth/token"}`:                 3,
		`gatehouse_http_requests_total{code="401",endpoint="/oauth/token"}`:                 1,
		`gatehouse_http_requests_total{code="404",endpoint="unmatched"}`:                    1,
		`gatehouse_http_requests_total{code="200",endpoint="/metrics"}`:                     1, // the first scrape
		`gatehouse_http_request_duration_seconds_count{endpoint="/oauth/token"}`:            4,
		`gatehouse_http_request_duration_seconds_bucket{endpoint="/oauth/token",le="+Inf"}`: 4,
		`gatehouse_catalog_clients`: 1,
		`gatehouse_catalog_apis`:    1,
	} {
		if got := delta(series); got != want {
			t.Errorf("%s moved by %v, want %v", series, got, want)
		}
	}
	for series := range after {
		if strings.Contains(series, "abc123") {
			t.Errorf("a raw path became a label: %s", series)
		}
	}
	if age, ok := after[`gatehouse_signing_key_age_seconds{alg="RS256"}`]; !ok || age < 0 || age > 600 {
		t.Errorf("RS256 key age %v (present %v)", age, ok)
	}
	if s, ok := after[`gatehouse_catalog_staleness_seconds`]; !ok || s < 0 || s > 60 {
		t.Errorf("staleness %v (present %v)", s, ok)
	}
	if _, ok := after[`gatehouse_storage_errors_total{operation="catalog_sync"}`]; !ok {
		t.Error("no storage error counter")
	}
}

// TestMetricsListener: with --metrics-addr, /metrics is served there and not
// on the main listener; "off" serves it nowhere.
func TestMetricsListener(t *testing.T) {
	l := startLive(t, server.Options{}, func(c *config.Config) { c.MetricsAddr = "127.0.0.1:0" })
	var addr string
	deadline := time.Now().Add(5 * time.Second)
	for addr == "" && time.Now().Before(deadline) {
		if recs := l.logs.find(t, "metrics listening", nil); len(recs) == 1 {
			addr, _ = recs[0]["addr"].(string)
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if addr == "" {
		t.Fatalf("no \"metrics listening\" line:\n%s", l.logs)
	}
	if resp, _ := l.req(http.MethodGet, "/metrics", "", "", nil); resp.StatusCode != 404 {
		t.Fatalf("main listener /metrics: %d, want 404", resp.StatusCode)
	}
	got := l.scrape("http://" + addr)
	if _, ok := got[`gatehouse_catalog_clients`]; !ok {
		t.Fatal("the metrics listener lacks the catalog gauges")
	}

	off := startLive(t, server.Options{}, func(c *config.Config) { c.MetricsAddr = config.MetricsOff })
	if resp, _ := off.req(http.MethodGet, "/metrics", "", "", nil); resp.StatusCode != 404 {
		t.Fatalf("metrics off: /metrics answered %d", resp.StatusCode)
	}
}

// TestMetricsStorageErrors: when the database goes away, the failed syncs
// and last-use writes are counted while the server keeps serving /metrics.
func TestMetricsStorageErrors(t *testing.T) {
	l := startLive(t, server.Options{})
	c, sec, err := l.admin.CreateClient(l.ctx, admin.ClientInput{Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.admin.CreateAPI(l.ctx, admin.APIInput{Identifier: audience}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.admin.CreateGrant(l.ctx, c.ClientID, audience, nil); err != nil {
		t.Fatal(err)
	}
	l.sync()
	l.store.Close() // the database is gone
	// A token use, so that there is a last-use time to write.
	ok := fmt.Sprintf("grant_type=client_credentials&client_id=%s&client_secret=%s&audience=%s", c.ClientID, sec.Plain, audience)
	if resp, body := l.req(http.MethodPost, "/oauth/token", "application/x-www-form-urlencoded", ok, nil); resp.StatusCode != 200 {
		t.Fatalf("issuance without the database: %d %s", resp.StatusCode, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := l.scrape(l.url)
		if got[`gatehouse_storage_errors_total{operation="catalog_sync"}`] >= 2 && got[`gatehouse_storage_errors_total{operation="usage_flush"}`] >= 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("storage errors not counted: sync %v, usage %v", got[`gatehouse_storage_errors_total{operation="catalog_sync"}`], got[`gatehouse_storage_errors_total{operation="usage_flush"}`])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMetricsNotPublic is the /metrics finding of issue 16: on the main
// listener it lists every client ID and audience to anyone. It is now
// served only to the host itself (a loopback client that came through no
// proxy); everyone else, a proxy on the host included, gets 404.
func TestMetricsNotPublic(t *testing.T) {
	f := newFixture(t, trustLoopback)
	tests := []struct {
		name   string
		remote string
		header map[string]string
		want   int
	}{
		{"loopback scraper", "127.0.0.1:50000", nil, 200},
		{"IPv6 loopback scraper", "[::1]:50000", nil, 200},
		{"public address", "203.0.113.5:40000", nil, 404},
		{"private address", "10.1.2.3:40000", nil, 404},
		{"through the trusted proxy on the host", "127.0.0.1:50000", map[string]string{"X-Forwarded-For": "203.0.113.5"}, 404},
		{"through a proxy naming loopback", "127.0.0.1:50000", map[string]string{"X-Forwarded-For": "127.0.0.1"}, 404},
		{"through an RFC 7239 proxy", "127.0.0.1:50000", map[string]string{"Forwarded": "for=203.0.113.5"}, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.RemoteAddr = tc.remote
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			f.srv.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.want || tc.want == 404 && strings.Contains(rec.Body.String(), f.clientID) {
				t.Errorf("GET /metrics from %s %v: %d, want %d", tc.remote, tc.header, rec.Code, tc.want)
			}
		})
	}
}
