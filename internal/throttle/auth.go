package throttle

import (
	"hash/maphash"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/clientip"
)

// Defaults of AuthConfig.
const (
	DefaultAuthFailureLimit  = 10
	DefaultAuthFailureWindow = time.Minute
	// DefaultAddressFactor makes the per-address limit this many times the
	// per-client-and-address limit.
	DefaultAddressFactor = 10
	DefaultMaxKeys       = 100_000
	// maxClientIDKey bounds the part of a client_id used as a key.
	maxClientIDKey = 128
)

// AuthConfig configures an Auth guard. Limit failures (0: DefaultAuthFailureLimit;
// negative: no throttling) are allowed per client_id and source address per
// Window; AddressLimit failures (default Limit × DefaultAddressFactor) per
// address over every client_id.
type AuthConfig struct {
	Limit        int
	Window       time.Duration
	AddressLimit int
	MaxKeys      int
}

// Auth is brute-force protection of client authentication. Only failures
// spend tokens; the check happens before the secret is compared, so a
// throttled caller cannot test a guess at all.
//
// The policy: failures are counted per (client_id, source address) and per
// source address. There is deliberately no limit per client_id over all
// addresses: an attacker could then lock a client out from everywhere by
// failing against its ID (RFC 6819 §5.1.4.2.3 warns of exactly that),
// while a real client from its own address is never throttled by failures
// that others make elsewhere. Guessing a 256-bit secret from many addresses
// stays futile, each address being held to the same rate. An IPv6 address
// counts as its /64 (clientip.Group), which one subscriber holds whole.
type Auth struct {
	pairs *Buckets[pairKey]
	addrs *Buckets[netip.Addr]
}

type pairKey struct {
	client string
	addr   netip.Addr
	known  bool
}

// NewAuth returns the guard for cfg, or nil when cfg.Limit is negative (no
// throttling). A nil *Auth allows everything.
func NewAuth(cfg AuthConfig) *Auth {
	if cfg.Limit < 0 {
		return nil
	}
	if cfg.Limit == 0 {
		cfg.Limit = DefaultAuthFailureLimit
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultAuthFailureWindow
	}
	if cfg.AddressLimit <= 0 {
		cfg.AddressLimit = cfg.Limit * DefaultAddressFactor
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	return &Auth{
		pairs: NewBuckets(cfg.Limit, cfg.Window, cfg.MaxKeys, func(s maphash.Seed, k pairKey) uint64 {
			return maphash.String(s, k.client) ^ addrHash(s, k.addr)
		}),
		addrs: NewBuckets(cfg.AddressLimit, cfg.Window, cfg.MaxKeys, addrHash),
	}
}

func key(clientID string, addr netip.Addr, known bool) pairKey {
	if len(clientID) > maxClientIDKey {
		clientID = clientID[:maxClientIDKey]
	}
	return pairKey{clientID, addr, known}
}

// Check reports whether clientID may try to authenticate from addr at now,
// and if not, how long until it may. known says whether the client_id names
// a client: failures while it named none are kept apart from those against
// the client, so that a new client polled before this instance knows it is
// not locked out by its own polling once it is known. Both kinds are held
// to the same limit, so the answers still do not tell the two apart.
func (a *Auth) Check(clientID string, addr netip.Addr, now time.Time, known bool) (ok bool, retryAfter time.Duration) {
	if a == nil {
		return true, 0
	}
	addr = clientip.Group(addr)
	okA, waitA := a.addrs.Check(addr, now)
	okP, waitP := a.pairs.Check(key(clientID, addr, known), now)
	return okA && okP, max(waitA, waitP)
}

// Failed records a failed authentication of clientID (known: it names a
// client) from addr.
func (a *Auth) Failed(clientID string, addr netip.Addr, now time.Time, known bool) {
	if a == nil {
		return
	}
	addr = clientip.Group(addr)
	k := key(clientID, addr, known)
	if len(k.client) > 0 {
		k.client = strings.Clone(k.client) // not the request body's memory
	}
	a.pairs.Take(k, now)
	a.addrs.Take(addr, now)
}

// Len returns the keys held (pairs and addresses), for tests of the bound.
func (a *Auth) Len() int {
	if a == nil {
		return 0
	}
	return a.pairs.Len() + a.addrs.Len()
}

// addrHash hashes an address without making it escape.
func addrHash(s maphash.Seed, a netip.Addr) uint64 {
	b := a.As16()
	return maphash.Bytes(s, b[:]) + uint64(len(a.Zone()))
}
