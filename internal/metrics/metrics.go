package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every gatehouse metric.
const Namespace = "gatehouse"

// Unmatched is the endpoint label of requests no route matched.
const Unmatched = "unmatched"

// Metrics is one server's set of metrics and their registry.
type Metrics struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	storage  *prometheus.CounterVec

	// series caches the children of requests and duration per endpoint and
	// status, so that a request costs a map lookup, not a label hash nor a
	// lock.
	series seriesCache[routeStatus, *httpSeries]

	// Token is the token endpoint's part (tokens issued, authentication
	// failures).
	Token *Token
	// Audit is the audit trail's part (dropped events).
	Audit *Audit
}

// Storage operations counted by StorageError.
const (
	OpCatalogSync = "catalog_sync" // reading the change feed or reloading what changed
	OpUsageFlush  = "usage_flush"  // writing secret last-use times
)

// New returns a fresh set of metrics on a new registry that also carries
// the Go runtime and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "http_requests_total",
			Help: "HTTP requests served, by endpoint (route pattern) and status code.",
		}, []string{"endpoint", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by endpoint (route pattern).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"endpoint"}),
		storage: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "storage_errors_total",
			Help: "Failed background storage operations, by operation (catalog_sync, usage_flush, audit_flush).",
		}, []string{"operation"}),
		Token: newToken(DefaultMaxTokenSeries),
		Audit: newAudit(),
	}
	reg.MustRegister(m.requests, m.duration, m.storage,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.Token.register(reg)
	reg.MustRegister(m.Audit.dropped)
	for _, op := range []string{OpCatalogSync, OpUsageFlush, OpAuditFlush} {
		m.storage.WithLabelValues(op) // present at 0 from the start
	}
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

type routeStatus struct {
	endpoint string
	status   int
}

type httpSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// ObserveRequest counts one HTTP request. endpoint must be a route pattern
// or Unmatched, never a raw path.
func (m *Metrics) ObserveRequest(endpoint string, status int, d time.Duration) {
	hs := m.series.get(routeStatus{endpoint, status}, func(int) (*httpSeries, bool) {
		return &httpSeries{
			requests: m.requests.WithLabelValues(endpoint, strconv.Itoa(status)),
			duration: m.duration.WithLabelValues(endpoint),
		}, true
	})
	hs.requests.Inc()
	hs.duration.Observe(d.Seconds())
}

// StorageError counts a failed background storage operation.
func (m *Metrics) StorageError(op string) {
	m.storage.WithLabelValues(op).Inc()
}

// Sources are the live values the scrape-time gauges read.
type Sources struct {
	Now func() time.Time
	// Catalog returns the catalog's size and when it last read the store
	// successfully (zero when never).
	Catalog func() (clients, apis int, lastSync time.Time)
	// CurrentKeys returns, per signing algorithm, when its current key
	// became current.
	CurrentKeys func() map[string]time.Time
}

// Watch registers the gauges computed from src at every scrape: catalog
// size and staleness, and the age of each algorithm's current signing key.
func (m *Metrics) Watch(src Sources) {
	if src.Now == nil {
		src.Now = time.Now
	}
	m.reg.MustRegister(&sourceCollector{src: src})
}

var (
	descClients = prometheus.NewDesc(Namespace+"_catalog_clients",
		"Clients in the in-memory catalog the token endpoint reads.", nil, nil)
	descAPIs = prometheus.NewDesc(Namespace+"_catalog_apis",
		"APIs (audiences) in the in-memory catalog.", nil, nil)
	descStaleness = prometheus.NewDesc(Namespace+"_catalog_staleness_seconds",
		"Seconds since the catalog last read the store successfully (it keeps serving the last good view meanwhile).", nil, nil)
	descKeyAge = prometheus.NewDesc(Namespace+"_signing_key_age_seconds",
		"Seconds since the current signing key of each algorithm became current.", []string{"alg"}, nil)
)

type sourceCollector struct{ src Sources }

func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descClients
	ch <- descAPIs
	ch <- descStaleness
	ch <- descKeyAge
}

func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.src.Now()
	if c.src.Catalog != nil {
		clients, apis, last := c.src.Catalog()
		ch <- prometheus.MustNewConstMetric(descClients, prometheus.GaugeValue, float64(clients))
		ch <- prometheus.MustNewConstMetric(descAPIs, prometheus.GaugeValue, float64(apis))
		if !last.IsZero() {
			ch <- prometheus.MustNewConstMetric(descStaleness, prometheus.GaugeValue, now.Sub(last).Seconds())
		}
	}
	if c.src.CurrentKeys != nil {
		for alg, at := range c.src.CurrentKeys() {
			if at.IsZero() {
				continue
			}
			ch <- prometheus.MustNewConstMetric(descKeyAge, prometheus.GaugeValue, now.Sub(at).Seconds(), alg)
		}
	}
}
