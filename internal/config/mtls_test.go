package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMTLSSettings(t *testing.T) {
	dir, cert, key := certPair(t)
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	tlsOn := map[string]string{"GATEHOUSE_TLS_CERT": cert, "GATEHOUSE_TLS_KEY": key, "GATEHOUSE_ADDR": "127.0.0.1:8443"}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	t.Run("main listener requests certificates", func(t *testing.T) {
		c, err := Load("", nil, env(with(tlsOn, "GATEHOUSE_TLS_CLIENT_CA", cert)))
		if err != nil {
			t.Fatal(err)
		}
		if !c.RequestClientCertOnMain() || !c.ClientCertificates() || c.MTLSEndpointBase() != "" {
			t.Fatalf("main %v, any %v, alias %q", c.RequestClientCertOnMain(), c.ClientCertificates(), c.MTLSEndpointBase())
		}
		if pool, err := c.ClientCAPool(); err != nil || pool == nil {
			t.Fatalf("pool %v, %v", pool, err)
		}
	})
	t.Run("alias listener", func(t *testing.T) {
		c, err := Load("", nil, env(with(tlsOn, "GATEHOUSE_TLS_CLIENT_CA", cert, "GATEHOUSE_MTLS_ADDR", ":9443", "GATEHOUSE_ISSUER", "https://auth.example.com/")))
		if err != nil {
			t.Fatal(err)
		}
		if c.RequestClientCertOnMain() || c.MTLSEndpointBase() != "https://auth.example.com:9443" {
			t.Fatalf("main %v, alias %q", c.RequestClientCertOnMain(), c.MTLSEndpointBase())
		}
	})
	t.Run("no mTLS by default", func(t *testing.T) {
		c, err := Load("", nil, env(tlsOn))
		if err != nil {
			t.Fatal(err)
		}
		if c.ClientCertificates() || c.RequestClientCertOnMain() {
			t.Fatal("client certificates without any mTLS setting")
		}
	})
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"CA file missing", with(tlsOn, "GATEHOUSE_TLS_CLIENT_CA", filepath.Join(dir, "nope")), []string{"tls-client-ca:", "no such file"}},
		{"CA file without certificates", with(tlsOn, "GATEHOUSE_TLS_CLIENT_CA", junk), []string{"tls-client-ca:", "no PEM certificate"}},
		{"alias without TLS", map[string]string{"GATEHOUSE_MTLS_ADDR": "127.0.0.1:9443"}, []string{"mtls-addr needs tls-cert"}},
		{"alias on the main address", with(tlsOn, "GATEHOUSE_MTLS_ADDR", "127.0.0.1:8443"), []string{"main listener's address"}},
		{"alias not host:port", with(tlsOn, "GATEHOUSE_MTLS_ADDR", "9443"), []string{`mtls-addr "9443" must be host:port`}},
		{"alias URL not https", map[string]string{"GATEHOUSE_MTLS_BASE_URL": "http://mtls.example.com"}, []string{"mtls-base-url"}},
		{"header without trusted proxies", map[string]string{"GATEHOUSE_CLIENT_CERT_HEADER": "X-SSL-Client-Cert"}, []string{"client-cert-header needs trusted-proxies"}},
		{"header not a name", map[string]string{"GATEHOUSE_CLIENT_CERT_HEADER": "X SSL", "GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/8"}, []string{"is not a header name"}},
		{"header read for something else", map[string]string{"GATEHOUSE_CLIENT_CERT_HEADER": "x-forwarded-for", "GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/8"}, []string{"for something else"}},
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
}
