package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// BenchmarkTouchSecrets is one flush of last-use times: a batch of 10,000
// secrets (of 20,000), each moved forward, as after 5 s of load.
func BenchmarkTouchSecrets(b *testing.B) {
	cfg, _ := freshSchema(b)
	s := open(b, cfg)
	ctx := b.Context()
	const total, batch = 20_000, 10_000
	now := time.Now().UTC().Truncate(time.Second)
	secrets := make([]storage.Secret, total)
	for i := range secrets {
		secrets[i] = storage.Secret{ID: fmt.Sprintf("sec-%06d", i), HashAlg: storage.SecretHashSHA256, Hash: make([]byte, 32), CreatedAt: now}
	}
	if err := s.CreateClient(ctx, storage.Client{ClientID: "c", Name: "c", AppType: storage.AppTypeNonInteractive,
		GrantTypes: []string{storage.GrantClientCredentials}, CreatedAt: now, UpdatedAt: now}, secrets...); err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		n++
		m := make(map[string]time.Time, batch)
		for i := range batch {
			m[fmt.Sprintf("sec-%06d", (i*2+n)%total)] = now.Add(time.Duration(n) * time.Second)
		}
		if err := s.TouchSecrets(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/batch, "ns/secret")
}
