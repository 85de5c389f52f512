package token

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/throttle"
)

// auditorFunc is an Auditor made of a func.
type auditorFunc func(audit.Event) bool

func (f auditorFunc) Enqueue(e audit.Event) bool { return f(e) }

// BenchmarkEndpointGuarded is BenchmarkEndpoint with everything issue 5 adds
// to the hot path switched on: an audit event per token (queued to a
// consumer that drops it, as a full queue would), the token metrics, the
// brute-force check and a quota that is never reached. Compare its
// allocations with BenchmarkEndpoint's.
func BenchmarkEndpointGuarded(b *testing.B) {
	for _, reuse := range []bool{false, true} {
		name := "reuse=off"
		if reuse {
			name = "reuse=on"
		}
		b.Run(name, func(b *testing.B) {
			e := newReuseEnv(b, reuse, 0)
			clock := func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }
			queued := 0
			ep := NewEndpoint(Config{Issuer: "https://issuer.test", Catalog: e.cat, Signer: e.keys, Now: clock,
				Grants: []Grant{ClientCredentials{}}, TokenReuse: reuse,
				Audit:        auditorFunc(func(audit.Event) bool { queued++; return false }),
				Metrics:      metrics.New().Token,
				AuthThrottle: throttle.NewAuth(throttle.AuthConfig{}),
				Quota:        throttle.NewQuota([]throttle.Policy{{Limit: 1 << 40, Window: time.Second}}),
			})
			body := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.client}, "client_secret": {e.secret}, "audience": {reuseAud}}.Encode()
			rd := strings.NewReader(body)
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", rd)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(body)
				ep.ServeHTTP(w, r)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
			if queued == 0 {
				b.Fatal("no audit event")
			}
		})
	}
}
