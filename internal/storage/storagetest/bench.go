package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// BenchmarkAppendAudit measures a backend's audit writes under token load:
// the audit recorder's flushes, batches of token.issued events from 1,000
// clients (as the token endpoint records them), into a trail that already
// holds 200,000 events. It reports ns/event. newStore opens a new, empty
// store and closes it when b ends.
func BenchmarkAppendAudit(b *testing.B, newStore func(b *testing.B) storage.Storage) {
	for _, batch := range []int{512, 4096} {
		b.Run(fmt.Sprint("batch=", batch), func(b *testing.B) {
			ctx := b.Context()
			s := newStore(b)
			const clients = 1000
			now := time.Now().UTC()
			seq := 0
			events := func(n int) []storage.AuditEvent {
				ev := make([]storage.AuditEvent, n)
				for i := range ev {
					seq++
					c := fmt.Sprintf("client-%08x", seq*7919%clients)
					ev[i] = storage.AuditEvent{
						Time: now.Add(time.Duration(seq) * 50 * time.Microsecond), Actor: c, Action: storage.AuditTokenIssued,
						Target: "https://api.example.com/", Outcome: storage.OutcomeSuccess, RemoteAddr: "127.0.0.1",
						RequestID: fmt.Sprintf("req-%016x", seq),
						Details: map[string]string{"client_id": c, "audience": "https://api.example.com/", "scope": "read:orders write:orders",
							"jti": fmt.Sprintf("%022x", seq)},
					}
				}
				return ev
			}
			for range 200_000 / 4096 {
				if err := s.AppendAudit(ctx, events(4096)...); err != nil {
					b.Fatal(err)
				}
			}
			todo := make([][]storage.AuditEvent, b.N)
			for i := range todo {
				todo[i] = events(batch)
			}
			b.ResetTimer()
			for i := range b.N {
				if err := s.AppendAudit(ctx, todo[i]...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(batch), "ns/event")
		})
	}
}
