package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/storage/storagetest"
)

func BenchmarkAppendAudit(b *testing.B) {
	storagetest.BenchmarkAppendAudit(b, func(b *testing.B) storage.Storage {
		s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "g.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	})
}
