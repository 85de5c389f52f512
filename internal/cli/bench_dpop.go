package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/dpop"
	"github.com/gatehouse-dev/gatehouse/internal/loadtest"
)

// dpopUsage describes bench --dpop.
const dpopUsage = "DPoP mode (RFC 9449): on sends a DPoP proof with every request, signed by the bench (ES256, one key); " +
	"compare runs a bearer run, then a DPoP run of the same length, and reports both and DPoP's extra cost per request"

func (f *benchFlags) validateDPoP() []string {
	switch f.dpop {
	case "", "on", "compare":
	default:
		return []string{fmt.Sprintf("--dpop %q must be on or compare", f.dpop)}
	}
	if f.dpop != "" && f.sampleInterval > 0 {
		return []string{"--dpop and --sample-interval do not go together"}
	}
	return nil
}

// benchDPoPJSON is the --json summary of --dpop compare.
type benchDPoPJSON struct {
	Bearer benchJSON `json:"bearer"`
	DPoP   benchJSON `json:"dpop"`
	// ExtraMS is the DPoP run's mean latency less the bearer run's, in
	// milliseconds: the server's extra work per request.
	ExtraMS float64 `json:"dpop_extra_ms_per_request"`
	// Ratio is the DPoP run's tokens/s over the bearer run's.
	Ratio float64 `json:"dpop_throughput_ratio"`
}

// runBenchDPoP runs the DPoP mode: a DPoP run alone, or a bearer run and
// a DPoP run back to back, on the same connections' settings.
func (a *app) runBenchDPoP(ctx context.Context, f benchFlags, cfg loadtest.Config, tokenURL string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	signer, err := dpop.NewSigner(key, "")
	if err != nil {
		return err
	}
	proof := func(method, url string) (string, error) { return signer.Proof(method, url, "", "") }
	var bearer *loadtest.Result
	if f.dpop == "compare" {
		if bearer, err = loadtest.Run(ctx, cfg); err != nil {
			return err
		}
	}
	cfg.DPoP = proof
	res, err := loadtest.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if bearer == nil {
		if err := a.printBench(tokenURL, f.audience, res, nil); err != nil {
			return err
		}
	} else {
		b, d := bearer.Summary(), res.Summary()
		out := benchDPoPJSON{Bearer: benchJSON{TokenURL: tokenURL, Audience: f.audience, Summary: b},
			DPoP: benchJSON{TokenURL: tokenURL, Audience: f.audience, Summary: d}, ExtraMS: d.LatencyMS.Mean - b.LatencyMS.Mean}
		if b.TokensPerSecond > 0 {
			out.Ratio = d.TokensPerSecond / b.TokensPerSecond
		}
		ms := func(s loadtest.Summary) string {
			return fmt.Sprintf("mean %.3fms  p50 %.3fms  p99 %.3fms", s.LatencyMS.Mean, s.LatencyMS.P50, s.LatencyMS.P99)
		}
		if err := a.out().fields(out,
			[2]string{"token url", tokenURL}, [2]string{"audience", f.audience}, [2]string{"workers", fmt.Sprint(d.Workers)},
			[2]string{"bearer tokens/s", fmt.Sprintf("%.1f", b.TokensPerSecond)}, [2]string{"bearer latency", ms(b)},
			[2]string{"bearer errors", errorList(bearer)},
			[2]string{"dpop tokens/s", fmt.Sprintf("%.1f", d.TokensPerSecond)}, [2]string{"dpop latency", ms(d)},
			[2]string{"dpop errors", errorList(res)},
			[2]string{"dpop cost", fmt.Sprintf("%+.3fms per request (mean), %.2f× the bearer throughput", out.ExtraMS, out.Ratio)}); err != nil {
			return err
		}
		if bearer.OK == 0 && bearer.Requests > 0 {
			return fmt.Errorf("no bearer request got a token (%s)", errorList(bearer))
		}
	}
	if res.OK == 0 && res.Requests > 0 {
		return fmt.Errorf("no DPoP request got a token (%s)", errorList(res))
	}
	return nil
}
