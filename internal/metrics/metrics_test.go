package metrics

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 {
		t.Fatalf("scrape: %d", w.Code)
	}
	b, _ := io.ReadAll(w.Body)
	return string(b)
}

func TestRequestsAndStorage(t *testing.T) {
	m := New()
	m.ObserveRequest("/oauth/token", 200, 3*time.Millisecond)
	m.ObserveRequest("/oauth/token", 200, 3*time.Millisecond)
	m.ObserveRequest("/oauth/token", 401, time.Millisecond)
	m.StorageError(OpCatalogSync)
	if got := testutil.ToFloat64(m.requests.WithLabelValues("/oauth/token", "200")); got != 2 {
		t.Fatalf("200s = %v", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("/oauth/token", "401")); got != 1 {
		t.Fatalf("401s = %v", got)
	}
	out := scrape(t, m)
	for _, want := range []string{
		`gatehouse_http_request_duration_seconds_count{endpoint="/oauth/token"} 3`,
		`gatehouse_storage_errors_total{operation="catalog_sync"} 1`,
		`gatehouse_storage_errors_total{operation="usage_flush"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

// Two Metrics never share a counter (no global registry).
func TestRegistriesAreSeparate(t *testing.T) {
	a, b := New(), New()
	a.ObserveRequest("/healthz", 200, 0)
	if got := testutil.ToFloat64(b.requests.WithLabelValues("/healthz", "200")); got != 0 {
		t.Fatalf("b saw a's request: %v", got)
	}
}

func TestWatch(t *testing.T) {
	m := New()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	m.Watch(Sources{
		Now:     func() time.Time { return now },
		Catalog: func() (int, int, time.Time) { return 7, 3, now.Add(-1500 * time.Millisecond) },
		CurrentKeys: func() map[string]time.Time {
			return map[string]time.Time{"RS256": now.Add(-time.Hour), "ES256": now.Add(-90 * time.Second), "PS256": {}}
		},
	})
	out := scrape(t, m)
	for _, want := range []string{
		"gatehouse_catalog_clients 7\n",
		"gatehouse_catalog_apis 3\n",
		"gatehouse_catalog_staleness_seconds 1.5\n",
		`gatehouse_signing_key_age_seconds{alg="RS256"} 3600` + "\n",
		`gatehouse_signing_key_age_seconds{alg="ES256"} 90` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if strings.Contains(out, `alg="PS256"`) {
		t.Error("an algorithm without an activation time has an age")
	}
}

func TestTokenIssuedCardinalityCap(t *testing.T) {
	tok := newToken(3)
	for i := range 5 {
		tok.Issued(fmt.Sprintf("client%d", i), "https://api")
	}
	tok.Issued("client0", "https://api") // known pair: its own series still
	if got := testutil.ToFloat64(tok.issued.WithLabelValues("client0", "https://api")); got != 2 {
		t.Fatalf("client0 = %v", got)
	}
	if got := testutil.ToFloat64(tok.issued.WithLabelValues(Other, Other)); got != 2 {
		t.Fatalf("other = %v, want the 2 pairs past the cap", got)
	}
	// The pairs past the cap have no series of their own: 3 + "other".
	if n := testutil.CollectAndCount(tok.issued); n != 4 {
		t.Fatalf("%d series, want 4", n)
	}
}

func TestTokenAuthFailed(t *testing.T) {
	tok := newToken(10)
	tok.AuthFailed(ReasonInvalidSecret)
	tok.AuthFailed(ReasonInvalidSecret)
	tok.AuthFailed(ReasonUnknownClient)
	tok.AuthFailed("gths_not-a-reason") // never a free-form label
	if got := testutil.ToFloat64(tok.failures.WithLabelValues(ReasonInvalidSecret)); got != 2 {
		t.Fatalf("invalid_secret = %v", got)
	}
	if got := testutil.ToFloat64(tok.failures.WithLabelValues(Other)); got != 1 {
		t.Fatalf("other = %v", got)
	}
	if n := testutil.CollectAndCount(tok.failures); n != len(reasons)+1 {
		t.Fatalf("%d reason series, want %d (free-form reasons must not add series)", n, len(reasons)+1)
	}
}

// TestTokenIssuedConcurrent: concurrent first uses of the same pairs make
// one series each, count every token, and keep to the cap.
func TestTokenIssuedConcurrent(t *testing.T) {
	tok := newToken(4)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				tok.Issued(fmt.Sprintf("client%d", (g+i)%6), "https://api")
			}
		})
	}
	wg.Wait()
	// Count before reading: reading a client's series through
	// WithLabelValues would create it. Which four clients got a series
	// depends on the goroutines' order, so the sum reads all six (a client
	// past the cap then reads a new, zero series).
	if n := testutil.CollectAndCount(tok.issued); n != 5 {
		t.Fatalf("%d series, want the cap of 4 and other", n)
	}
	total := testutil.ToFloat64(tok.issued.WithLabelValues(Other, Other))
	for i := range 6 {
		total += testutil.ToFloat64(tok.issued.WithLabelValues(fmt.Sprintf("client%d", i), "https://api"))
	}
	if total != 800 {
		t.Fatalf("%v tokens counted, want 800", total)
	}
}
