package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"io"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
)

// Signing algorithms (RFC 7518 §3.3, §3.4, §3.5; RFC 8037 §3.1).
const (
	RS256 = "RS256"
	ES256 = "ES256"
	PS256 = "PS256"
	EdDSA = "EdDSA"
)

// Token types for the JWS "typ" header (RFC 7515 §4.1.9).
const (
	// TypeAccessToken is the RFC 9068 §2.1 access token type.
	TypeAccessToken = "at+jwt"
	// TypeJWT is the type Auth0 puts in its access tokens (the auth0 dialect).
	TypeJWT = "JWT"
	// TypeIntrospection is the type of a JWT introspection response (RFC
	// 9701 §5).
	TypeIntrospection = "token-introspection+jwt"
)

// SupportedAlgs lists the signing algorithms gatehouse supports, RS256 first
// (the default).
var SupportedAlgs = []string{RS256, ES256, PS256, EdDSA}

// rsaBits is the modulus size of generated RSA keys, and the smallest accepted.
const rsaBits = 2048

// checkAlg returns an error if alg is not one of SupportedAlgs.
func checkAlg(alg string) error {
	if !slices.Contains(SupportedAlgs, alg) {
		return fmt.Errorf("unsupported signing algorithm %q (want one of %v)", alg, SupportedAlgs)
	}
	return nil
}

// generateKey creates a new private key for alg: RSA 2048 for RS256 and PS256,
// P-256 for ES256, Ed25519 for EdDSA.
func generateKey(rnd io.Reader, alg string) (crypto.Signer, error) {
	switch alg {
	case RS256, PS256:
		return rsa.GenerateKey(rnd, rsaBits)
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rnd)
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rnd)
		return priv, err
	default:
		return nil, checkAlg(alg)
	}
}

// checkKeyType reports whether priv is a key alg can sign with. It accepts
// the types x509.ParsePKCS8PrivateKey returns.
func checkKeyType(alg string, priv crypto.Signer) error {
	switch alg {
	case RS256, PS256:
		k, ok := priv.(*rsa.PrivateKey)
		if !ok {
			return fmt.Errorf("%s needs an RSA key, got %T", alg, priv)
		}
		if n := k.N.BitLen(); n < rsaBits {
			return fmt.Errorf("%s key has %d bits, want at least %d", alg, n, rsaBits)
		}
	case ES256:
		k, ok := priv.(*ecdsa.PrivateKey)
		if !ok || k.Curve != elliptic.P256() {
			return fmt.Errorf("%s needs a P-256 ECDSA key, got %T", alg, priv)
		}
	case EdDSA:
		if _, ok := priv.(ed25519.PrivateKey); !ok {
			return fmt.Errorf("%s needs an Ed25519 key, got %T", alg, priv)
		}
	default:
		return checkAlg(alg)
	}
	return nil
}

// thumbprint returns the RFC 7638 JWK SHA-256 thumbprint of pub, base64url
// encoded without padding: the kid.
func thumbprint(pub crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("compute jwk thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// publicJWK returns the public JWK (RFC 7517 §4) of pub with its kid, alg and
// use "sig".
func publicJWK(pub crypto.PublicKey, kid, alg string) ([]byte, error) {
	jwk := jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"}
	if !jwk.IsPublic() {
		return nil, fmt.Errorf("marshal public jwk: %T is not a public key", pub)
	}
	b, err := jwk.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("marshal public jwk: %w", err)
	}
	return b, nil
}
