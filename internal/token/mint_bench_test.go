package token

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// benchManager returns a key manager with a current key for every
// supported algorithm, on a real SQLite store.
func benchManager(b *testing.B) *keys.Manager {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "k.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	km, err := keys.New(keys.Config{Store: st, MasterKey: make([]byte, keys.MasterKeySize), Generate: testutil.KeyGenerator()})
	if err != nil {
		b.Fatal(err)
	}
	if err := km.Ensure(ctx, keys.SupportedAlgs...); err != nil {
		b.Fatal(err)
	}
	return km
}

// BenchmarkMint measures minting one access token in process: claims,
// their encoding, base64 and the signature, per algorithm. This is the
// "one-core in-process minting rate" the load-tool targets compare with:
// run it with -cpu 1 (and taskset -c 1) for that figure.
func BenchmarkMint(b *testing.B) {
	km := benchManager(b)
	m := newMinter("https://auth.example.com/", km, nil)
	now := time.Unix(1767225600, 0)
	for _, alg := range keys.SupportedAlgs {
		api := &storage.API{Identifier: "https://api.example.com/orders", TokenLifetime: 24 * time.Hour, SigningAlg: alg, TokenDialect: storage.DialectRFC9068}
		b.Run(alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.mint(api, "Q2xpZW50SWQxMjM0NTY3ODkw", "Q2xpZW50SWQxMjM0NTY3ODkw", "read:orders write:orders", storage.GrantClientCredentials, nil, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// discard is a ResponseWriter that keeps the status only.
type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(s int)           { d.status = s }

// BenchmarkEndpoint measures the token endpoint handler alone (parse,
// authenticate, authorize, mint or reuse, write) with ES256, with token
// reuse off and on; with reuse on, no signature is made after the first.
func BenchmarkEndpoint(b *testing.B) {
	for _, reuse := range []bool{false, true} {
		name := "reuse=off"
		if reuse {
			name = "reuse=on"
		}
		b.Run(name, func(b *testing.B) {
			e := newReuseEnv(b, reuse, 0)
			h := e.http.Config.Handler
			body := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.client}, "client_secret": {e.secret}, "audience": {reuseAud}}.Encode()
			rd := strings.NewReader(body)
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", rd)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(body)
				h.ServeHTTP(w, r)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}

// BenchmarkAppendClaims measures the claims encoder alone, for a token of
// plain claims as the client credentials grant issues them.
func BenchmarkAppendClaims(b *testing.B) {
	c := Claims{Issuer: "https://auth.example.com/", Subject: "Q2xpZW50SWQxMjM0NTY3ODkw", Audience: "https://api.example.com/orders",
		IssuedAt: 1767225600, Expiry: 1767312000, ClientID: "Q2xpZW50SWQxMjM0NTY3ODkw", AZP: "Q2xpZW50SWQxMjM0NTY3ODkw",
		Scope: "read:orders write:orders", GTY: "client-credentials"}
	jti := []byte("AAECAwQFBgcICQoLDA0ODw")
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendClaims(buf[:0], &c, "@clients", jti)
	}
}
