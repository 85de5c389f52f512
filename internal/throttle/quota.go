package throttle

import (
	"fmt"
	"hash/maphash"
	"strconv"
	"strings"
	"time"
)

// Policy is one issuance quota: Limit tokens per Window.
type Policy struct {
	Limit  int
	Window time.Duration
}

var units = map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}

// ParsePolicies reads quotas written "N/UNIT" (UNIT s, m, h or d), several
// separated by commas, e.g. "100/m,5000/d"; "" is none.
func ParsePolicies(s string) ([]Policy, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []Policy
	seen := map[time.Duration]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		n, unit, ok := strings.Cut(part, "/")
		w, known := units[unit]
		limit, err := strconv.Atoi(n)
		if !ok || !known || err != nil || limit <= 0 {
			return nil, fmt.Errorf("quota %q must be a positive count per s, m, h or d, such as 100/m", part)
		}
		if seen[w] {
			return nil, fmt.Errorf("quota %q: a second quota per %s", part, unit)
		}
		seen[w] = true
		out = append(out, Policy{Limit: limit, Window: w})
	}
	return out, nil
}

// String writes p as ParsePolicies reads it.
func (p Policy) String() string {
	for u, w := range units {
		if w == p.Window {
			return strconv.Itoa(p.Limit) + "/" + u
		}
	}
	return strconv.Itoa(p.Limit) + "/" + p.Window.String()
}

// Quota limits the tokens issued per key K under every policy at once: per
// client (NewQuota, keyed by client ID) or per client and API (NewAPIQuota).
// Keys are those of authenticated clients and registered APIs, so the table
// is bounded by the catalog (and DefaultMaxKeys besides).
type Quota[K comparable] struct {
	policies []Policy
	buckets  []*Buckets[K]
}

// ClientAPI keys a per-API quota.
type ClientAPI struct{ Client, API string }

// NewQuota returns the per-client quota for policies, or nil (no quota) for none.
func NewQuota(policies []Policy) *Quota[string] {
	return newQuota(policies, maphash.String)
}

// NewAPIQuota returns the per-client-and-API quota for policies, or nil for none.
func NewAPIQuota(policies []Policy) *Quota[ClientAPI] {
	return newQuota(policies, func(s maphash.Seed, k ClientAPI) uint64 {
		return maphash.String(s, k.Client) ^ maphash.String(s, k.API)*31
	})
}

func newQuota[K comparable](policies []Policy, hash func(maphash.Seed, K) uint64) *Quota[K] {
	if len(policies) == 0 {
		return nil
	}
	q := &Quota[K]{policies: policies}
	for _, p := range policies {
		q.buckets = append(q.buckets, NewBuckets(p.Limit, p.Window, DefaultMaxKeys, hash))
	}
	return q
}

// Verdict is a quota decision with what the RateLimit header fields
// (draft-ietf-httpapi-ratelimit-headers) report: the policy that is
// closest to exhaustion, its remaining tokens and the seconds until one
// more.
type Verdict struct {
	OK         bool
	Policy     Policy
	Remaining  int
	RetryAfter time.Duration
}

// Check reports, without spending, whether k may be issued a token at now;
// when not, the verdict names the exhausted policy.
func (q *Quota[K]) Check(k K, now time.Time) Verdict {
	for i, b := range q.buckets {
		if ok, wait := b.Check(k, now); !ok {
			return Verdict{Policy: q.policies[i], RetryAfter: wait}
		}
	}
	return Verdict{OK: true}
}

// Take spends one token of k under every policy at now. When any policy is
// exhausted nothing is spent and the verdict names that policy.
func (q *Quota[K]) Take(k K, now time.Time) Verdict {
	if v := q.Check(k, now); !v.OK {
		return v
	}
	v := Verdict{OK: true, Remaining: -1}
	for i, b := range q.buckets {
		_, left, wait := b.Take(k, now)
		if v.Remaining < 0 || left < v.Remaining || left == v.Remaining && wait > v.RetryAfter {
			v.Policy, v.Remaining, v.RetryAfter = q.policies[i], left, wait
		}
	}
	return v
}

// PolicyHeader is the RateLimit-Policy field value: one item per policy,
// `"NAME";q=LIMIT;w=SECONDS`.
func (q *Quota[K]) PolicyHeader() string {
	var b strings.Builder
	for i, p := range q.policies {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"%s";q=%d;w=%d`, p.name(), p.Limit, int64(p.Window/time.Second))
	}
	return b.String()
}

// Header is the RateLimit field value of v: `"NAME";r=REMAINING;t=SECONDS`.
func (v Verdict) Header() string {
	return fmt.Sprintf(`"%s";r=%d;t=%d`, v.Policy.name(), max(0, v.Remaining), seconds(v.RetryAfter))
}

func (p Policy) name() string { return "per-" + strings.ReplaceAll(p.String(), "/", "-") }

// seconds rounds d up to whole seconds, as Retry-After counts them.
func seconds(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) }
