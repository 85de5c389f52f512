package dpop

import (
	"testing"
	"time"
)

// BenchmarkCheck measures one proof's check (ES256): parse, key and
// signature, claims, thumbprint, replay cache. The proofs are made before
// the clock starts.
func BenchmarkCheck(b *testing.B) {
	s, err := NewSigner(ecKey, "")
	if err != nil {
		b.Fatal(err)
	}
	s.Now = func() time.Time { return t0 }
	proofs := make([]string, b.N)
	for i := range proofs {
		proofs[i], _ = s.Proof("POST", "https://as.example/oauth/token", "", "")
	}
	c := newChecker()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Check(proofs[i], tokenReq); err != nil {
			b.Fatal(err)
		}
	}
}
