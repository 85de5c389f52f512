package clientip

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds a request's client address given the trusted proxies.
// The zero value trusts no proxy: the direct peer is the client.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver that believes X-Forwarded-For only from peers in
// trusted.
func New(trusted []netip.Prefix) *Resolver {
	out := make([]netip.Prefix, len(trusted))
	for i, p := range trusted {
		out[i] = p.Masked()
	}
	return &Resolver{trusted: out}
}

// ParsePrefixes parses a comma-separated list of CIDR prefixes or single
// addresses (a single address is a /32 or /128), as --trusted-proxies takes
// it. Empty entries are skipped; every bad entry is reported.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var bad []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil && a.Zone() == "" {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		bad = append(bad, fmt.Sprintf("%q", f))
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s: not a CIDR prefix (10.0.0.0/8, fd00::/8) or an IP address", strings.Join(bad, ", "))
	}
	return out, nil
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the client address of req: the direct peer
// (req.RemoteAddr), or — when the peer is a trusted proxy — the right-most
// X-Forwarded-For hop that is not a trusted proxy. When every hop is
// trusted, the left-most one is the answer; when a hop cannot be parsed, the
// trusted hop to its right is (a trusted proxy appends only addresses, so
// anything else came from the client). The zero Addr means RemoteAddr is not
// an IP address (not a TCP connection).
func (r *Resolver) ClientIP(req *http.Request) netip.Addr {
	peer := peerAddr(req.RemoteAddr)
	if !peer.IsValid() || len(r.trusted) == 0 || !r.isTrusted(peer) {
		return peer
	}
	hops := req.Header.Values("X-Forwarded-For")
	client := peer
	// Walk the hops from the right: the last header line, its last value.
	for i := len(hops) - 1; i >= 0; i-- {
		line := hops[i]
		for line != "" {
			var hop string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				hop, line = line[j+1:], line[:j]
			} else {
				hop, line = line, ""
			}
			hop = strings.TrimSpace(hop)
			if hop == "" {
				continue
			}
			a, ok := parseHop(hop)
			if !ok {
				return client
			}
			client = a
			if !r.isTrusted(a) {
				return a
			}
		}
	}
	return client
}

// peerAddr parses a RemoteAddr ("ip:port").
func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// parseHop parses one X-Forwarded-For value: an address, possibly in
// brackets or with a port, as some proxies write it.
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone("").Unmap(), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.WithZone("").Unmap(), true
		}
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.WithZone("").Unmap(), true
		}
	}
	return netip.Addr{}, false
}

type ctxKey struct{}

// ContextKey is the context key under which the client address (a
// netip.Addr) is stored, for a context implementation that carries it along
// other values (the server's middleware does, to allocate one context per
// request); read it with FromContext or FromRequest.
var ContextKey any = ctxKey{}

// Middleware resolves each request's client address once and stores it in
// the request context for FromRequest.
func (r *Resolver) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		next.ServeHTTP(w, req.WithContext(NewContext(req.Context(), r.ClientIP(req))))
	})
}

// NewContext returns ctx carrying the client address a.
func NewContext(ctx context.Context, a netip.Addr) context.Context {
	return context.WithValue(ctx, ContextKey, a)
}

// FromContext returns the client address stored by Middleware or NewContext,
// or answered as a *netip.Addr by a context that stores it without
// allocating (the server's request context).
func FromContext(ctx context.Context) (netip.Addr, bool) {
	switch a := ctx.Value(ContextKey).(type) {
	case netip.Addr:
		return a, true
	case *netip.Addr:
		return *a, true
	}
	return netip.Addr{}, false
}

// FromRequest returns the client address of req as Middleware resolved it,
// or the direct peer when no middleware ran (a handler tested on its own).
func FromRequest(req *http.Request) netip.Addr {
	if a, ok := FromContext(req.Context()); ok {
		return a
	}
	return peerAddr(req.RemoteAddr)
}

// Group returns the address a throttle counts a itself under: an IPv4
// address as it is, an IPv6 address as its /64 prefix. One IPv6 subscriber
// is usually given a whole /64 (RFC 6177, RFC 7934 §6 recommend at least
// one per host or link), and may pick any address in it: counted per /128
// it would be 2^64 fresh addresses to a throttle.
func Group(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if !a.Is6() {
		return a
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.Addr()
}
