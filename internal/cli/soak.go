package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/loadtest"
)

// soakSample is one --sample-interval of a bench run: the interval's own
// throughput and latency, and the server's process figures at its end when
// --metrics-url is given (-1 when a figure could not be read).
type soakSample struct {
	ElapsedSeconds  float64 `json:"elapsed_seconds"`
	Tokens          int64   `json:"tokens"`
	Errors          int64   `json:"errors"`
	TokensPerSecond float64 `json:"tokens_per_second"`
	P50MS           float64 `json:"p50_ms"`
	P99MS           float64 `json:"p99_ms"`
	MaxMS           float64 `json:"max_ms"`
	RSSBytes        float64 `json:"rss_bytes,omitempty"`
	Goroutines      float64 `json:"goroutines,omitempty"`
	OpenFDs         float64 `json:"open_fds,omitempty"`
}

// The server's metrics a soak samples: the Prometheus Go and process
// collectors' (every gatehouse serve exports them on /metrics).
const (
	metricRSS        = "process_resident_memory_bytes"
	metricGoroutines = "go_goroutines"
	metricFDs        = "process_open_fds"
)

// soakSampler turns loadtest samples into soakSamples, scraping the
// server's metrics for each.
type soakSampler struct {
	hc         *http.Client
	metricsURL string // "" for none
	log        io.Writer
	quiet      bool
	samples    []soakSample
}

func (s *soakSampler) sample(ctx context.Context, ls loadtest.Sample) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	out := soakSample{
		ElapsedSeconds: ls.Elapsed.Seconds(), Tokens: ls.OK, Errors: ls.Errors, TokensPerSecond: ls.Rate(),
		P50MS: ms(ls.Latency.Quantile(0.5)), P99MS: ms(ls.Latency.Quantile(0.99)), MaxMS: ms(ls.Latency.Max()),
	}
	line := fmt.Sprintf("bench: sample %7.1fs  %6.0f tokens/s  p50 %.1fms  p99 %.1fms  max %.1fms  errors %d",
		out.ElapsedSeconds, out.TokensPerSecond, out.P50MS, out.P99MS, out.MaxMS, out.Errors)
	if s.metricsURL != "" {
		m, err := scrapeMetrics(ctx, s.hc, s.metricsURL, metricRSS, metricGoroutines, metricFDs)
		if err != nil {
			fmt.Fprintf(s.log, "bench: sample: %v\n", err)
		}
		out.RSSBytes, out.Goroutines, out.OpenFDs = m[metricRSS], m[metricGoroutines], m[metricFDs]
		line += fmt.Sprintf("  rss %.1fMB  goroutines %.0f  fds %.0f", out.RSSBytes/(1<<20), out.Goroutines, out.OpenFDs)
	}
	if !s.quiet {
		fmt.Fprintln(s.log, line)
	}
	s.samples = append(s.samples, out)
}

// summary is the samples in one line: the range of the intervals' p99 and
// the process figures from the first sample to the last.
func (s *soakSampler) summary() string {
	if len(s.samples) == 0 {
		return "none"
	}
	lo, hi := s.samples[0].P99MS, s.samples[0].P99MS
	for _, x := range s.samples {
		lo, hi = min(lo, x.P99MS), max(hi, x.P99MS)
	}
	out := fmt.Sprintf("%d; p99 per interval %.1f-%.1fms", len(s.samples), lo, hi)
	if s.metricsURL != "" {
		a, b := s.samples[0], s.samples[len(s.samples)-1]
		out += fmt.Sprintf("; rss %.1f -> %.1f MB, goroutines %.0f -> %.0f, fds %.0f -> %.0f",
			a.RSSBytes/(1<<20), b.RSSBytes/(1<<20), a.Goroutines, b.Goroutines, a.OpenFDs, b.OpenFDs)
	}
	return out
}

// scrapeMetrics reads the named unlabelled samples of a Prometheus text
// exposition at url; a name it does not find is -1.
func scrapeMetrics(ctx context.Context, hc *http.Client, url string, names ...string) (map[string]float64, error) {
	out := make(map[string]float64, len(names))
	for _, n := range names {
		out[n] = -1
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return out, fmt.Errorf("metrics %s: %w", url, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return out, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("metrics %s: HTTP %d", url, resp.StatusCode)
	}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if _, want := out[name]; !ok || !want {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			out[name] = v
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("metrics %s: %w", url, err)
	}
	return out, nil
}
