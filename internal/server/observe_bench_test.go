package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/clientip"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
)

// BenchmarkObserve measures what the outermost middleware (request ID,
// client address, body cap, metrics, access log decision) adds to a request,
// around a handler that does nothing; the log is at warn, so no access line
// is written (BenchmarkObserveLogged writes one, as JSON to io.Discard).
func BenchmarkObserve(b *testing.B) {
	benchObserve(b, slog.LevelWarn)
}

func BenchmarkObserveLogged(b *testing.B) {
	benchObserve(b, slog.LevelInfo)
}

// BenchmarkObserveBaseline is the same request without the middleware, to
// subtract.
func BenchmarkObserveBaseline(b *testing.B) {
	benchObserve(b, -1)
}

func benchObserve(b *testing.B, level slog.Level) {
	s := &Server{log: slog.New(slog.NewJSONHandler(discard{}, &slog.HandlerOptions{Level: level})), metrics: metrics.New(), ips: clientip.New(nil)}
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/token", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	h := s.observe(mux)
	if level == -1 {
		h = mux
	}
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader("x=1"))
		h.ServeHTTP(nopWriter{header: http.Header{}}, req)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

type nopWriter struct{ header http.Header }

func (w nopWriter) Header() http.Header       { return w.header }
func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (nopWriter) WriteHeader(int)             {}
