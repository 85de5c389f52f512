package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
)

// Signer makes proofs with one key (RFC 9449 §4.2). It is safe for
// concurrent use.
type Signer struct {
	// Now is the clock of iat; set it before use (nil means time.Now).
	Now    func() time.Time
	signer jose.Signer
	jkt    string
	alg    string
	rand   io.Reader
}

// NewSigner returns a Signer for key: an ECDSA P-256 key signs ES256, an
// Ed25519 key EdDSA and an RSA key (2048 bits or more) PS256, or RS256
// when alg says so. key may be any crypto.Signer (a KMS or HSM key).
func NewSigner(key crypto.Signer, alg string) (*Signer, error) {
	if key == nil {
		return nil, errors.New("dpop: no key")
	}
	switch pub := key.Public().(type) {
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return nil, errors.New("dpop: an ECDSA key must be on P-256 (ES256)")
		}
		alg = defaultAlg(alg, "ES256")
	case ed25519.PublicKey:
		alg = defaultAlg(alg, "EdDSA")
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return nil, errors.New("dpop: an RSA key must have at least 2048 bits")
		}
		alg = defaultAlg(alg, "PS256")
	default:
		return nil, fmt.Errorf("dpop: unsupported key type %T", pub)
	}
	var sk any = key
	switch key.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey, *rsa.PrivateKey:
	default:
		sk = cryptosigner.Opaque(key)
	}
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType(TypeProof)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: sk}, opts)
	if err != nil {
		return nil, fmt.Errorf("dpop: %s with a %T: %w", alg, key.Public(), err)
	}
	jkt, err := Thumbprint(key.Public())
	if err != nil {
		return nil, err
	}
	return &Signer{signer: s, jkt: jkt, alg: alg, rand: rand.Reader}, nil
}

func defaultAlg(alg, def string) string {
	if alg == "" {
		return def
	}
	return alg
}

// JKT returns the thumbprint of the signer's key: the cnf.jkt of the
// tokens bound to it.
func (s *Signer) JKT() string { return s.jkt }

// Algorithm returns the JWS algorithm of the proofs.
func (s *Signer) Algorithm() string { return s.alg }

// Proof returns a proof for a request of method to url (its query and
// fragment are left out of htu), carrying the access token's hash when
// accessToken is set and the server's nonce when nonce is.
func (s *Signer) Proof(method, url, accessToken, nonce string) (string, error) {
	htu, err := NormalizeURL(url)
	if err != nil {
		return "", fmt.Errorf("dpop: url %q: %w", url, err)
	}
	now := s.Now
	if now == nil {
		now = time.Now
	}
	var jti [16]byte
	if _, err := io.ReadFull(s.rand, jti[:]); err != nil {
		return "", fmt.Errorf("dpop: read randomness: %w", err)
	}
	c := struct {
		JTI   string `json:"jti"`
		HTM   string `json:"htm"`
		HTU   string `json:"htu"`
		IAT   int64  `json:"iat"`
		ATH   string `json:"ath,omitempty"`
		Nonce string `json:"nonce,omitempty"`
	}{JTI: base64.RawURLEncoding.EncodeToString(jti[:]), HTM: method, HTU: htu, IAT: now().Unix(), Nonce: nonce}
	if accessToken != "" {
		c.ATH = AccessTokenHash(accessToken)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("dpop: sign proof: %w", err)
	}
	return jws.CompactSerialize()
}
