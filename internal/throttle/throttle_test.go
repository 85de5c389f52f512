package throttle_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/throttle"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestAuthThrottlesThePairNotTheRealClient(t *testing.T) {
	a := throttle.NewAuth(throttle.AuthConfig{Limit: 3, Window: time.Minute})
	attacker, real := netip.MustParseAddr("198.51.100.9"), netip.MustParseAddr("192.0.2.1")
	for i := range 3 {
		if ok, _ := a.Check("victim", attacker, t0, true); !ok {
			t.Fatalf("attempt %d throttled early", i)
		}
		a.Failed("victim", attacker, t0, true)
	}
	ok, wait := a.Check("victim", attacker, t0, true)
	if ok || wait != 20*time.Second {
		t.Errorf("4th attempt: ok=%v retry after %s; want throttled, 20s (one failure per 60s/3)", ok, wait)
	}
	if ok, _ := a.Check("victim", real, t0, true); !ok {
		t.Error("the real client's address is throttled by the attacker's failures")
	}
	if ok, _ := a.Check("victim", attacker, t0.Add(20*time.Second), true); !ok {
		t.Error("not allowed again after Retry-After")
	}
}

func TestAuthPerAddressOverAllClients(t *testing.T) {
	a := throttle.NewAuth(throttle.AuthConfig{Limit: 3, AddressLimit: 5, Window: time.Minute})
	addr := netip.MustParseAddr("198.51.100.9")
	for i := range 5 {
		a.Failed(fmt.Sprintf("random-%d", i), addr, t0, true)
	}
	if ok, _ := a.Check("fresh-id", addr, t0, true); ok {
		t.Error("a sixth client_id from the same address is not throttled")
	}
	if ok, _ := a.Check("fresh-id", netip.MustParseAddr("198.51.100.10"), t0, true); !ok {
		t.Error("another address is throttled")
	}
}

func TestAuthIsBounded(t *testing.T) {
	a := throttle.NewAuth(throttle.AuthConfig{Limit: 3, Window: time.Minute, MaxKeys: 6400})
	for i := range 100_000 {
		addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		a.Failed(fmt.Sprintf("random-%d", i), addr, t0, true)
	}
	if n := a.Len(); n > 2*6400 {
		t.Errorf("%d keys held after a flood of 100,000, want at most %d", n, 2*6400)
	}
}

func TestAuthDisabled(t *testing.T) {
	var a *throttle.Auth = throttle.NewAuth(throttle.AuthConfig{Limit: -1})
	a.Failed("x", netip.Addr{}, t0, true)
	if ok, _ := a.Check("x", netip.Addr{}, t0, true); !ok || a != nil {
		t.Error("a negative limit still throttles")
	}
}

func TestParsePolicies(t *testing.T) {
	tests := []struct {
		in      string
		want    []throttle.Policy
		wantErr bool
	}{
		{in: ""},
		{in: "100/m", want: []throttle.Policy{{100, time.Minute}}},
		{in: "10/s, 5000/d", want: []throttle.Policy{{10, time.Second}, {5000, 24 * time.Hour}}},
		{in: "0/m", wantErr: true},
		{in: "100/w", wantErr: true},
		{in: "100", wantErr: true},
		{in: "1/m,2/m", wantErr: true},
	}
	for _, tc := range tests {
		got, err := throttle.ParsePolicies(tc.in)
		if (err != nil) != tc.wantErr || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("ParsePolicies(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestQuota(t *testing.T) {
	q := throttle.NewQuota([]throttle.Policy{{Limit: 2, Window: time.Minute}, {Limit: 3, Window: time.Hour}})
	if q.PolicyHeader() != `"per-2-m";q=2;w=60, "per-3-h";q=3;w=3600` {
		t.Errorf("PolicyHeader = %s", q.PolicyHeader())
	}
	steps := []struct {
		at      time.Duration
		ok      bool
		header  string
		retryIn time.Duration
	}{
		{0, true, `"per-2-m";r=1;t=0`, 0},
		{0, true, `"per-2-m";r=0;t=30`, 30 * time.Second},
		{0, false, `"per-2-m";r=0;t=30`, 30 * time.Second},
		{10 * time.Second, false, `"per-2-m";r=0;t=20`, 20 * time.Second},
		{30 * time.Second, true, `"per-3-h";r=0;t=1170`, 1170 * time.Second}, // the hour's quota is spent now and waits longest
		{2 * time.Minute, false, `"per-3-h";r=0;t=1080`, 1080 * time.Second},
	}
	for i, st := range steps {
		v := q.Take("c1", t0.Add(st.at))
		if v.OK != st.ok || v.Header() != st.header || v.RetryAfter.Round(time.Second) != st.retryIn {
			t.Errorf("step %d at +%s: %+v %s; want ok=%v %s retry %s", i, st.at, v, v.Header(), st.ok, st.header, st.retryIn)
		}
	}
	if v := q.Take("c2", t0); !v.OK {
		t.Error("another client shares c1's quota")
	}
}

func TestChecksAllocateNothing(t *testing.T) {
	a := throttle.NewAuth(throttle.AuthConfig{Limit: 3, Window: time.Minute})
	addr := netip.MustParseAddr("192.0.2.1")
	a.Failed("client", addr, t0, true)
	q := throttle.NewQuota([]throttle.Policy{{Limit: 1 << 30, Window: time.Minute}})
	q.Take("client", t0)
	if n := testing.AllocsPerRun(100, func() { a.Check("client", addr, t0, true); a.Check("other", addr, t0, true) }); n != 0 {
		t.Errorf("Auth.Check allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { q.Take("client", t0) }); n != 0 {
		t.Errorf("Quota.Take of a known client allocates %v times", n)
	}
}

func TestAuthKeepsFailuresWhileUnknownApart(t *testing.T) {
	a := throttle.NewAuth(throttle.AuthConfig{Limit: 3, Window: time.Minute})
	addr := netip.MustParseAddr("192.0.2.1")
	for range 5 { // a script polls a client that this instance does not know yet
		a.Failed("new-client", addr, t0, false)
	}
	if ok, _ := a.Check("new-client", addr, t0, false); ok {
		t.Fatal("an unknown client_id is not throttled like a known one")
	}
	if ok, _ := a.Check("new-client", addr, t0, true); !ok {
		t.Error("once known, the client is throttled by the failures from before")
	}
	for range 3 {
		a.Failed("new-client", addr, t0, true)
	}
	if ok, _ := a.Check("new-client", addr, t0, true); ok {
		t.Error("failures against the known client do not count")
	}
}

func TestAPIQuota(t *testing.T) {
	q := throttle.NewAPIQuota([]throttle.Policy{{Limit: 2, Window: time.Minute}})
	a, b := throttle.ClientAPI{Client: "c1", API: "https://a/"}, throttle.ClientAPI{Client: "c1", API: "https://b/"}
	for range 2 {
		if v := q.Take(a, t0); !v.OK {
			t.Fatal("refused within the quota")
		}
	}
	if v := q.Check(a, t0); v.OK || v.RetryAfter != 30*time.Second {
		t.Errorf("third for the same API: %+v, want refused, 30s", v)
	}
	if v := q.Take(b, t0); !v.OK {
		t.Error("another API shares the quota")
	}
	if throttle.NewAPIQuota(nil) != nil {
		t.Error("no policies, yet a quota")
	}
}

// TestAuthGroupsIPv6By64: an IPv6 client picks any address of its /64, so
// every throttle counts the /64 as one address; IPv4 addresses stay apart.
func TestAuthGroupsIPv6By64(t *testing.T) {
	a := throttle.NewAuth(throttle.AuthConfig{Limit: 3, AddressLimit: 5, Window: time.Minute})
	for i := range 3 {
		a.Failed("victim", netip.MustParseAddr(fmt.Sprintf("2001:db8:7:7::%x", i+1)), t0, true)
	}
	if ok, _ := a.Check("victim", netip.MustParseAddr("2001:db8:7:7:ffff::1"), t0, true); ok {
		t.Error("a fresh address of the same /64 is not throttled for the pair")
	}
	if ok, _ := a.Check("victim", netip.MustParseAddr("2001:db8:7:8::1"), t0, true); !ok {
		t.Error("another /64 is throttled")
	}
	for i := range 5 {
		a.Failed(fmt.Sprintf("random-%d", i), netip.MustParseAddr(fmt.Sprintf("2001:db8:9:9::%x", i+1)), t0, true)
	}
	if ok, _ := a.Check("fresh-id", netip.MustParseAddr("2001:db8:9:9::abcd"), t0, true); ok {
		t.Error("the per-address limit does not hold over a /64")
	}
	for i := range 3 {
		a.Failed("v4", netip.MustParseAddr(fmt.Sprintf("198.51.100.%d", i+1)), t0, true)
	}
	if ok, _ := a.Check("v4", netip.MustParseAddr("198.51.100.4"), t0, true); !ok {
		t.Error("IPv4 neighbours share a limit")
	}
}
