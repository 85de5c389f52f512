package revocation_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/revocation"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// listStore serves a fixed denylist.
type listStore []storage.Revocation

func (l listStore) GetRevocation(context.Context, string, string) (storage.Revocation, error) {
	return storage.Revocation{}, storage.ErrNotFound
}

func (l listStore) ListRevocations(context.Context, time.Time) ([]storage.Revocation, error) {
	return l, nil
}

// BenchmarkDenylistRevoked measures the check introspection makes per
// token, against an empty list and one of 100 000 revoked tokens, and
// reports the memory the entries take (bytes/entry).
func BenchmarkDenylistRevoked(b *testing.B) {
	for _, n := range []int{0, 100_000} {
		b.Run("entries="+strconv.Itoa(n), func(b *testing.B) {
			now := time.Now()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			list := make(listStore, n) // garbage once loaded: only the jti strings stay
			for i := range list {
				list[i] = storage.Revocation{Kind: storage.RevokeToken, Value: strconv.Itoa(1e15 + i)[:16] + "abcdef", Before: now, ExpiresAt: now.Add(time.Hour)}
			}
			d := revocation.NewDenylist(list, nil)
			if err := d.Load(b.Context()); err != nil {
				b.Fatal(err)
			}
			list = nil
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if d.Revoked("nOtReVoKeDjTiXXXXXXXXX", "client", "client@clients", now.Unix()) {
					b.Fatal("revoked")
				}
			}
			if n > 0 { // after the loop: ResetTimer drops reported metrics
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n), "bytes/entry")
			}
			runtime.KeepAlive(d)
		})
	}
}
