package loadtest

import (
	"math"
	"math/bits"
	"time"
)

// subBits is the number of mantissa bits a Histogram keeps: 2^subBits
// buckets per power of two, so a recorded value is known within 1/128
// (0.78%) of itself; values below 2^subBits ns are exact.
const subBits = 7

const subCount = 1 << subBits

// numBuckets covers every non-negative int64 nanosecond value.
const numBuckets = (64 - subBits) * subCount

// Histogram is a log-linear histogram of durations (the HdrHistogram idea
// with a fixed precision). The zero value is ready; it is not safe for
// concurrent use: give each worker its own and Merge them.
type Histogram struct {
	counts   []uint64
	n        uint64
	min, max time.Duration
	sum      time.Duration
}

// bucketOf returns the bucket index of v >= 0.
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return (shift+1)*subCount + int(v>>uint(shift)) - subCount
}

// bucketHigh returns the largest value that falls into bucket i.
func bucketHigh(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	shift := i/subCount - 1
	m := uint64(i%subCount + subCount)
	return (m+1)<<uint(shift) - 1
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	if h.counts == nil {
		h.counts = make([]uint64, numBuckets)
	}
	h.counts[bucketOf(uint64(d))]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.sum += d
}

// Merge adds every value recorded in o.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, numBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// reset forgets every value, keeping the buckets' memory.
func (h *Histogram) reset() {
	clear(h.counts)
	h.n, h.min, h.max, h.sum = 0, 0, 0, 0
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest recorded value, exactly.
func (h *Histogram) Max() time.Duration { return h.max }

// Min returns the smallest recorded value, exactly.
func (h *Histogram) Min() time.Duration { return h.min }

// Mean returns the arithmetic mean, exactly.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Quantile returns the q-quantile (0 < q <= 1) by the nearest-rank method:
// the smallest recorded value v such that at least ceil(q·n) values are <= v,
// reported as the upper edge of v's bucket (so it never understates, and
// overstates by less than 1/128), and never above Max. It is 0 when nothing
// was recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(bucketHigh(i)), h.max)
		}
	}
	return h.max
}
