package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrivateKeyConfig: New refuses a private key beside secrets, with a
// secret method, of a size or curve or algorithm that cannot sign a
// client assertion, and a file that holds no private key.
func TestPrivateKeyConfig(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	dir := t.TempDir()
	pubDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	pubFile := filepath.Join(dir, "pub.pem")
	_ = os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o600)
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	ecFile := filepath.Join(dir, "ec.pem")
	_ = os.WriteFile(ecFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), 0o600)
	base := Config{Issuer: "https://auth.example.com", ClientID: "c"}
	with := func(mod func(*Config)) Config { c := base; mod(&c); return c }
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"ec key", with(func(c *Config) { c.PrivateKey = ec }), ""},
		{"ec file", with(func(c *Config) { c.PrivateKeyFile = ecFile }), ""},
		{"rsa PS256", with(func(c *Config) { c.PrivateKey = rsaKey; c.SigningAlg = "PS256" }), ""},
		{"key and secrets", with(func(c *Config) { c.PrivateKey = ec; c.Secrets = []string{"s"} }), "exclude each other"},
		{"key and basic", with(func(c *Config) { c.PrivateKey = ec; c.AuthMethod = AuthBasic }), "needs Secrets"},
		{"method without key", with(func(c *Config) { c.Secrets = []string{"s"}; c.AuthMethod = AuthPrivateKeyJWT }), "needs PrivateKey"},
		{"ec with RS256", with(func(c *Config) { c.PrivateKey = ec; c.SigningAlg = "RS256" }), "does not sign"},
		{"rsa with HS256", with(func(c *Config) { c.PrivateKey = rsaKey; c.SigningAlg = "HS256" }), "does not sign"},
		{"P-384", with(func(c *Config) { c.PrivateKey = p384 }), "P-256"},
		{"public key file", with(func(c *Config) { c.PrivateKeyFile = pubFile }), "not a private key"},
		{"missing file", with(func(c *Config) { c.PrivateKeyFile = filepath.Join(dir, "none") }), "PrivateKeyFile"},
		{"both", with(func(c *Config) { c.PrivateKey = ec; c.PrivateKeyFile = ecFile }), "both set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.cfg)
			if tc.want == "" {
				if err != nil || s.cfg.AuthMethod != AuthPrivateKeyJWT {
					t.Fatalf("New: %v", err)
				}
				a, err := s.key.assertion("c", "https://auth.example.com", s.now())
				if err != nil || strings.Count(a, ".") != 2 {
					t.Fatalf("assertion %q: %v", a, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
