package clientip_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/clientip"
)

func TestParsePrefixes(t *testing.T) {
	got, err := clientip.ParsePrefixes(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,,::ffff:172.16.0.1, 10.1.2.3/16")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.168.1.7/32", "fd00::/8", "172.16.0.1/32", "10.1.0.0/16"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("prefix %d = %s, want %s", i, got[i], want[i])
		}
	}
	if p, err := clientip.ParsePrefixes(""); err != nil || len(p) != 0 {
		t.Errorf("empty list: %v, %v", p, err)
	}
	_, err = clientip.ParsePrefixes("10.0.0.0/8,proxy.local,10.0.0.0/33")
	if err == nil {
		t.Fatal("bad entries accepted")
	}
	for _, s := range []string{`"proxy.local"`, `"10.0.0.0/33"`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
}

func TestClientIP(t *testing.T) {
	trusted, err := clientip.ParsePrefixes("10.0.0.0/8, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	r := clientip.New(trusted)
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"untrusted peer, no header", "203.0.113.9:4000", nil, "203.0.113.9"},
		{"untrusted peer's header is ignored", "203.0.113.9:4000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted peer without header", "10.0.0.2:4000", nil, "10.0.0.2"},
		{"trusted peer, one hop", "10.0.0.2:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"right-most untrusted hop wins over a spoofed left part", "10.0.0.2:4000", []string{"1.2.3.4, 198.51.100.1, 10.0.0.3"}, "198.51.100.1"},
		{"several header lines read as one list", "10.0.0.2:4000", []string{"1.2.3.4", "198.51.100.1", "10.0.0.3"}, "198.51.100.1"},
		{"all hops trusted: the left-most", "10.0.0.2:4000", []string{"10.9.9.9, 10.0.0.3"}, "10.9.9.9"},
		{"garbage stops the walk at the trusted hop to its right", "10.0.0.2:4000", []string{"198.51.100.1, not-an-ip, 10.0.0.3"}, "10.0.0.3"},
		{"garbage right after the peer", "10.0.0.2:4000", []string{"unknown"}, "10.0.0.2"},
		{"hop with a port", "10.0.0.2:4000", []string{"198.51.100.1:5555"}, "198.51.100.1"},
		{"bracketed IPv6 hop", "10.0.0.2:4000", []string{"[2001:db8::1]"}, "2001:db8::1"},
		{"bracketed IPv6 hop with port", "10.0.0.2:4000", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"IPv6 trusted peer", "[fd00::1]:4000", []string{"2001:db8::2"}, "2001:db8::2"},
		{"IPv4-mapped peer is unmapped", "[::ffff:10.0.0.2]:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"IPv4-mapped hop is unmapped", "10.0.0.2:4000", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"empty values skipped", "10.0.0.2:4000", []string{"198.51.100.1, ,"}, "198.51.100.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := r.ClientIP(req); got != netip.MustParseAddr(tc.want) {
				t.Fatalf("ClientIP = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNoTrustedProxies(t *testing.T) {
	var r clientip.Resolver // zero value: trusts nobody
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "127.0.0.1:1"
	req.Header.Set("X-Forwarded-For", "198.51.100.1")
	if got := r.ClientIP(req); got != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("ClientIP = %s, want the peer", got)
	}
	req.RemoteAddr = "@" // a unix socket peer
	if got := r.ClientIP(req); got.IsValid() {
		t.Fatalf("ClientIP of a non-IP peer = %s, want the zero Addr", got)
	}
}

func TestMiddlewareAndFromRequest(t *testing.T) {
	trusted, _ := clientip.ParsePrefixes("127.0.0.0/8")
	var seen netip.Addr
	h := clientip.New(trusted).Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		seen = clientip.FromRequest(r)
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "127.0.0.1:9"
	req.Header.Set("X-Forwarded-For", "198.51.100.7")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if seen != netip.MustParseAddr("198.51.100.7") {
		t.Fatalf("handler saw %s", seen)
	}
	// Without the middleware, FromRequest falls back to the peer.
	if got := clientip.FromRequest(req); got != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("FromRequest without middleware = %s", got)
	}
}

func TestGroup(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::"},
		{"2001:db8:1:2::1", "2001:db8:1:2::"},
		{"fe80::1%eth0", "fe80::"},
		{"::1", "::"},
	}
	for _, tc := range tests {
		if got := clientip.Group(netip.MustParseAddr(tc.in)); got.String() != tc.want {
			t.Errorf("Group(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if clientip.Group(netip.Addr{}).IsValid() {
		t.Error("the zero Addr grouped into a valid one")
	}
}
