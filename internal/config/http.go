package config

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/internal/clientip"
)

// MetricsOff is the --metrics-addr value that serves no /metrics.
const MetricsOff = "off"

// Scheme is "https" when the server terminates TLS itself, else "http".
func (c *Config) Scheme() string {
	if c.TLSCert != "" {
		return "https"
	}
	return "http"
}

// TLS reports whether the server serves HTTPS.
func (c *Config) TLS() bool { return c.TLSCert != "" && c.TLSKey != "" }

// TrustedProxyPrefixes returns the parsed --trusted-proxies (nil when the
// setting is empty or invalid; Validate reports the latter).
func (c *Config) TrustedProxyPrefixes() []netip.Prefix {
	p, err := clientip.ParsePrefixes(c.TrustedProxies)
	if err != nil {
		return nil
	}
	return p
}

// validateHTTP checks the listener settings: TLS files given together and
// loadable as a key pair now (not at the first handshake), the trusted
// proxies, and the metrics address.
func (c *Config) validateHTTP() []error {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		bad("tls-cert is set but tls-key is not: give both or neither")
	case c.TLSCert == "" && c.TLSKey != "":
		bad("tls-key is set but tls-cert is not: give both or neither")
	case c.TLSCert != "":
		if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
			bad("tls-cert/tls-key: %v", err)
		}
	}
	if _, err := clientip.ParsePrefixes(c.TrustedProxies); err != nil {
		bad("trusted-proxies: %v", err)
	}
	if c.MetricsAddr != "" && c.MetricsAddr != MetricsOff {
		_, port, err := net.SplitHostPort(c.MetricsAddr)
		if p, perr := strconv.Atoi(port); err != nil || perr != nil || p < 0 || p > 65535 {
			bad("metrics-addr %q must be host:port, empty (serve /metrics on the main listener) or %q", c.MetricsAddr, MetricsOff)
		} else if c.MetricsAddr == c.Addr && p != 0 {
			bad("metrics-addr %q is the main listener's address: leave it empty to serve /metrics there", c.MetricsAddr)
		}
	}
	return problems
}
