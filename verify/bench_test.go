package verify

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkVerify is one verification per algorithm, key set cached,
// verified-token cache off.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range DefaultAlgorithms {
		b.Run(alg, func(b *testing.B) {
			f := newFakeIssuer(b, keyFor(alg))
			v, _ := newTestVerifier(b, f, nil)
			tok := sign(b, keyFor(alg), "at+jwt", claims())
			if _, err := v.Verify(b.Context(), tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(b.Context(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyCached is a verification answered by the verified-token
// cache (SHA-256 of the token and a map lookup).
func BenchmarkVerifyCached(b *testing.B) {
	f := newFakeIssuer(b, keyFor("RS256"))
	v, _ := newTestVerifier(b, f, func(c *Config) { c.CacheSize = 1024 })
	tok := sign(b, keyFor("RS256"), "at+jwt", claims())
	if _, err := v.Verify(b.Context(), tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(b.Context(), tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMiddleware is a request through Require("read:sensors") to an
// empty handler, against the bare handler; the difference is the
// middleware's overhead.
func BenchmarkMiddleware(b *testing.B) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	f := newFakeIssuer(b, keyFor("ES256"))
	tok := sign(b, keyFor("ES256"), "at+jwt", claims())
	plain, _ := newTestVerifier(b, f, nil)
	cached, _ := newTestVerifier(b, f, func(c *Config) { c.CacheSize = 1024 })
	cases := []struct {
		name string
		h    http.Handler
	}{
		{"bare handler", ok},
		{"ES256", plain.Require("read:sensors")(ok)},
		{"ES256 cached", cached.Require("read:sensors")(ok)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/v1/sensors", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				c.h.ServeHTTP(w, req)
				if w.Code != http.StatusNoContent {
					b.Fatal(w.Code, w.Body)
				}
			}
		})
	}
}
