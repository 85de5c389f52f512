package client

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// AuthPrivateKeyJWT authenticates with a JWT the client signs with its own
// private key (RFC 7523 §2.2, OpenID Connect Core §9): no secret is sent.
// [Config.PrivateKey] or [Config.PrivateKeyFile] selects it.
const AuthPrivateKeyJWT AuthMethod = "private_key_jwt"

// AssertionLifetime is how long a client assertion is valid: long enough
// for a slow network, far under the 5 minutes gatehouse accepts.
const AssertionLifetime = time.Minute

// keySigner signs client assertions with the client's private key.
type keySigner struct {
	signer jose.Signer
	alg    jose.SignatureAlgorithm
}

// newKeySigner reads cfg's key (PrivateKey, or PrivateKeyFile read now) and
// returns its signer: alg from SigningAlg or the key's usual one, kid from
// KeyID or else the key's RFC 7638 thumbprint, which is the kid gatehouse
// shows for a registered public key.
func newKeySigner(cfg *Config) (*keySigner, error) {
	key := cfg.PrivateKey
	if cfg.PrivateKeyFile != "" {
		if key != nil {
			return nil, errors.New("PrivateKey and PrivateKeyFile are both set")
		}
		k, err := readPrivateKey(cfg.PrivateKeyFile)
		if err != nil {
			return nil, err
		}
		key = k
	}
	alg := jose.SignatureAlgorithm(cfg.SigningAlg)
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		if alg == "" {
			alg = jose.RS256
		}
		if alg != jose.RS256 && alg != jose.RS384 && alg != jose.PS256 {
			return nil, fmt.Errorf("SigningAlg %q does not sign with an RSA key (RS256, RS384, PS256)", alg)
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("the EC key is not on P-256 (ES256)")
		}
		if alg == "" {
			alg = jose.ES256
		}
		if alg != jose.ES256 {
			return nil, fmt.Errorf("SigningAlg %q does not sign with a P-256 key (ES256)", alg)
		}
	case ed25519.PublicKey:
		if alg == "" {
			alg = jose.EdDSA
		}
		if alg != jose.EdDSA {
			return nil, fmt.Errorf("SigningAlg %q does not sign with an Ed25519 key (EdDSA)", alg)
		}
	default:
		return nil, fmt.Errorf("the private key is a %T; RSA, EC P-256 and Ed25519 keys are supported", key)
	}
	kid := cfg.KeyID
	if kid == "" {
		tp, err := (&jose.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("key thumbprint: %w", err)
		}
		kid = base64.RawURLEncoding.EncodeToString(tp)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), kid)
	var signingKey any = jose.OpaqueSigner(opaque{key, alg}) // a KMS or HSM key
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		signingKey = key
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: signingKey}, opts)
	if err != nil {
		return nil, fmt.Errorf("assertion signer: %w", err)
	}
	return &keySigner{signer: s, alg: alg}, nil
}

// readPrivateKey reads a PEM private key: PKCS #8, PKCS #1 (RSA) or SEC 1 (EC).
func readPrivateKey(file string) (crypto.Signer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("PrivateKeyFile: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("PrivateKeyFile %s holds no PEM block", file)
	}
	var k any
	switch block.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PrivateKeyFile %s: PEM block %q is not a private key (PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY)", file, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("PrivateKeyFile %s: %w", file, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("PrivateKeyFile %s: a %T cannot sign", file, k)
	}
	return s, nil
}

// opaque lets any crypto.Signer (a KMS or HSM key included) sign through
// go-jose.
type opaque struct {
	key crypto.Signer
	alg jose.SignatureAlgorithm
}

func (o opaque) Public() *jose.JSONWebKey {
	return &jose.JSONWebKey{Key: o.key.Public(), Algorithm: string(o.alg)}
}
func (o opaque) Algs() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{o.alg}
}

// SignPayload signs as RFC 7518 §3 says for alg: a digest for RSA and
// ECDSA (the ECDSA signature as r||s, not ASN.1), the message for Ed25519.
func (o opaque) SignPayload(payload []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	var h crypto.Hash
	var opts crypto.SignerOpts
	switch alg {
	case jose.RS256, jose.ES256:
		h = crypto.SHA256
	case jose.RS384:
		h = crypto.SHA384
	case jose.PS256:
		h = crypto.SHA256
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	case jose.EdDSA:
		return o.key.Sign(rand.Reader, payload, crypto.Hash(0))
	default:
		return nil, fmt.Errorf("unsupported algorithm %s", alg)
	}
	d := h.New()
	d.Write(payload)
	if opts == nil {
		opts = h
	}
	sig, err := o.key.Sign(rand.Reader, d.Sum(nil), opts)
	if err != nil || alg != jose.ES256 {
		return sig, err
	}
	return ecdsaRaw(sig)
}

// ecdsaRaw turns an ASN.1 ECDSA signature into the 64-byte r||s of JWS.
func ecdsaRaw(der []byte) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		return nil, fmt.Errorf("ecdsa signature: %w", err)
	}
	out := make([]byte, 64)
	sig.R.FillBytes(out[:32])
	sig.S.FillBytes(out[32:])
	return out, nil
}

// assertion returns a fresh client assertion for the client, to aud.
func (k *keySigner) assertion(clientID, aud string, now time.Time) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	claims, _ := json.Marshal(map[string]any{
		"iss": clientID, "sub": clientID, "aud": aud, "jti": base64.RawURLEncoding.EncodeToString(jti),
		"iat": now.Unix(), "exp": now.Add(AssertionLifetime).Unix(),
	})
	jws, err := k.signer.Sign(claims)
	if err != nil {
		return "", fmt.Errorf("client: sign the client assertion: %w", err)
	}
	return jws.CompactSerialize()
}
