package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
)

// BenchmarkAppendAudit is the audit writer's flush under token load: batches
// of token.issued events from 1,000 clients, as the recorder writes them,
// into a table that already holds 200,000 events.
func BenchmarkAppendAudit(b *testing.B) {
	for _, batch := range []int{512, 4096} {
		b.Run(fmt.Sprint("batch=", batch), func(b *testing.B) {
			ctx := b.Context()
			s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "g.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
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
			var todo [][]storage.AuditEvent
			b.ResetTimer()
			b.StopTimer()
			for range b.N {
				todo = append(todo, events(batch))
			}
			b.StartTimer()
			for i := range b.N {
				if err := s.AppendAudit(ctx, todo[i]...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(batch), "ns/event")
		})
	}
}
