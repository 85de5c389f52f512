package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// certPair writes a certificate and its key into a new directory and
// returns the three paths.
func certPair(t *testing.T) (dir, cert, key string) {
	dir = t.TempDir()
	cert, key = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	testutil.WriteCert(t, cert, key, "test")
	return dir, cert, key
}

func TestHTTPSettings(t *testing.T) {
	dir, cert, key := certPair(t)
	t.Run("tls pair and proxies", func(t *testing.T) {
		c, err := Load("", nil, env(map[string]string{
			"GATEHOUSE_TLS_CERT": cert, "GATEHOUSE_TLS_KEY": key, "GATEHOUSE_ADDR": "127.0.0.1:8443",
			"GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.0.1", "GATEHOUSE_METRICS_ADDR": "127.0.0.1:9090",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if !c.TLS() || c.Issuer != "https://127.0.0.1:8443" {
			t.Fatalf("TLS %v, issuer %q: the derived issuer must be https under TLS", c.TLS(), c.Issuer)
		}
		if p := c.TrustedProxyPrefixes(); len(p) != 2 || p[1].String() != "192.168.0.1/32" {
			t.Fatalf("trusted proxies %v", p)
		}
	})
	tests := []struct {
		name string
		env  map[string]string
		want []string // every problem is reported
	}{
		{"cert without key", map[string]string{"GATEHOUSE_TLS_CERT": cert}, []string{"tls-cert is set but tls-key is not"}},
		{"key without cert", map[string]string{"GATEHOUSE_TLS_KEY": key}, []string{"tls-key is set but tls-cert is not"}},
		{"unreadable pair", map[string]string{"GATEHOUSE_TLS_CERT": cert, "GATEHOUSE_TLS_KEY": cert}, []string{"tls-cert/tls-key:"}},
		{"missing files", map[string]string{"GATEHOUSE_TLS_CERT": filepath.Join(dir, "nope"), "GATEHOUSE_TLS_KEY": key}, []string{"tls-cert/tls-key:", "no such file"}},
		{"all at once", map[string]string{
			"GATEHOUSE_TLS_CERT": cert, "GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/8,proxy", "GATEHOUSE_METRICS_ADDR": "9090",
		}, []string{"tls-cert is set but tls-key is not", `trusted-proxies: "proxy"`, `metrics-addr "9090" must be host:port`}},
		{"metrics on the main address", map[string]string{"GATEHOUSE_METRICS_ADDR": "127.0.0.1:8080"}, []string{"leave it empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("", nil, env(tc.env))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	for _, ok := range []string{"", "off", "127.0.0.1:0", ":9090"} {
		if _, err := Load("", nil, env(map[string]string{"GATEHOUSE_METRICS_ADDR": ok})); err != nil {
			t.Errorf("metrics-addr %q refused: %v", ok, err)
		}
	}
}
