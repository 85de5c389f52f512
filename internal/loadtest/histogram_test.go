package loadtest

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestHistogramExact: values below 128 ns are kept exactly, so nearest-rank
// percentiles come out exact.
func TestHistogramExact(t *testing.T) {
	var h Histogram
	for v := 1; v <= 100; v++ {
		h.Record(time.Duration(v))
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50}, {0.9, 90}, {0.99, 99}, {0.991, 100}, {1, 100}, {0.001, 1}, {0, 1}} {
		if got := h.Quantile(tt.q); got != tt.want {
			t.Errorf("Quantile(%v) = %d, want %d", tt.q, got, tt.want)
		}
	}
	if h.Count() != 100 || h.Min() != 1 || h.Max() != 100 || h.Mean() != 50 {
		t.Errorf("count %d min %d max %d mean %d", h.Count(), h.Min(), h.Max(), h.Mean())
	}
}

// TestHistogramAgainstSorted: on random latencies from 10 µs to 1 s, every
// percentile is at or above the exact nearest-rank value from sorted
// samples, and within 1/128 of it.
func TestHistogramAgainstSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h, a, b Histogram
	samples := make([]time.Duration, 20000)
	for i := range samples {
		// log-uniform between 10 µs and 1 s
		d := time.Duration(10e3 * pow(1e5, rng.Float64()))
		samples[i] = d
		h.Record(d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	slices.Sort(samples)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		rank := int(ceil(q * float64(len(samples))))
		exact := samples[rank-1]
		for name, hh := range map[string]*Histogram{"one": &h, "merged": &a} {
			got := hh.Quantile(q)
			if got < exact || float64(got-exact) > float64(exact)/128 {
				t.Errorf("%s: Quantile(%v) = %s, exact %s", name, q, got, exact)
			}
		}
	}
	if h.Max() != samples[len(samples)-1] || a.Max() != h.Max() || a.Min() != samples[0] || a.Count() != h.Count() {
		t.Errorf("max %s/%s min %s count %d/%d", h.Max(), a.Max(), a.Min(), h.Count(), a.Count())
	}
}

func TestHistogramEdges(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 || h.Max() != 0 {
		t.Error("empty histogram is not all zero")
	}
	h.Merge(&Histogram{})
	h.Record(-5)
	h.Record(time.Duration(1<<63 - 1))
	if h.Min() != 0 || h.Max() != time.Duration(1<<63-1) || h.Quantile(1) != h.Max() {
		t.Errorf("min %d max %d q1 %d", h.Min(), h.Max(), h.Quantile(1))
	}
	for i := range numBuckets {
		if got := bucketOf(bucketHigh(i)); got != i {
			t.Fatalf("bucketOf(bucketHigh(%d)) = %d", i, got)
		}
		if i > 0 && bucketOf(bucketHigh(i-1)+1) != i {
			t.Fatalf("bucket %d does not start right after bucket %d", i, i-1)
		}
	}
}

func pow(x, y float64) float64 { return math.Pow(x, y) }
func ceil(x float64) float64   { return math.Ceil(x) }
