package federation_test

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/federation"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// BenchmarkVerify is the federated part of a token request once the
// issuer's keys are cached: telling the assertion's issuer, then parsing,
// one RS256 verification and the checks (no database, no fetch).
func BenchmarkVerify(b *testing.B) {
	iss, _ := testutil.NewIssuer(b, false)
	v := federation.New(federation.Config{Audience: gatehouse, InsecureHTTP: true})
	creds := []storage.FederatedCredential{k8sCred(iss.URL)}
	tok := iss.Sign(b, testutil.KubernetesClaims(iss.URL, gatehouse, "payments", "billing", time.Now()))
	if _, err := v.Verify(b.Context(), creds, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if federation.Issuer(tok) == "" {
			b.Fatal("no issuer")
		}
		if _, err := v.Verify(b.Context(), creds, tok); err != nil {
			b.Fatal(err)
		}
	}
}
