package client

import (
	"testing"
)

// BenchmarkTokenCached is the hot path: a cached token, one caller.
func BenchmarkTokenCached(b *testing.B) {
	f := newFakeAS(b, "s3cret-one")
	s, _, _ := newTestSource(b, f, nil)
	if _, err := s.TokenContext(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.TokenContext(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenCachedParallel is the hot path under contention.
func BenchmarkTokenCachedParallel(b *testing.B) {
	f := newFakeAS(b, "s3cret-one")
	s, _, _ := newTestSource(b, f, nil)
	if _, err := s.TokenContext(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.TokenContext(b.Context()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if n := len(f.requests()); n != 1 {
		b.Fatalf("%d token requests", n)
	}
}
