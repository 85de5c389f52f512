package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
)

// BenchmarkTouchSecrets is one flush of last-use times: a batch of 10,000
// secrets (of 20,000), each moved forward, as after 5 s of load.
func BenchmarkTouchSecrets(b *testing.B) {
	ctx := b.Context()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "g.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const clients, batch = 20_000, 10_000
	now := time.Now().UTC().Truncate(time.Second)
	for i := range clients {
		id := fmt.Sprintf("client-%06d", i)
		sec := storage.Secret{ID: fmt.Sprintf("sec-%06d", i), ClientID: id, HashAlg: storage.SecretHashSHA256, Hash: make([]byte, 32), CreatedAt: now}
		if err := s.CreateClient(ctx, storage.Client{ClientID: id, Name: id, AppType: storage.AppTypeNonInteractive,
			GrantTypes: []string{storage.GrantClientCredentials}, CreatedAt: now, UpdatedAt: now}, sec); err != nil {
			b.Fatal(err)
		}
	}
	n := 0
	for b.Loop() {
		n++
		m := make(map[string]time.Time, batch)
		for i := range batch {
			m[fmt.Sprintf("sec-%06d", (i*2+n)%clients)] = now.Add(time.Duration(n) * time.Second)
		}
		if err := s.TouchSecrets(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/batch, "ns/secret")
}
