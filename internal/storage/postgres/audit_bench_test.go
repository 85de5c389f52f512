package postgres_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/storagetest"
)

func BenchmarkAppendAudit(b *testing.B) {
	storagetest.BenchmarkAppendAudit(b, func(b *testing.B) storage.Storage {
		cfg, _ := freshSchema(b)
		return open(b, cfg)
	})
}
