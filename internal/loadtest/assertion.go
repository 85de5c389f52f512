package loadtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// AuthPrivateKeyJWT signs a client assertion (RFC 7523 §2.2) per request
// with the credential's private key: a jti is single-use, so no assertion
// can be prepared once and sent again. The signing happens in the worker
// before the request's clock starts: latencies are the server's, while
// tokens/s includes the load tool's signing.
const AuthPrivateKeyJWT = "private_key_jwt"

// assertionSigner is a credential's prepared signer.
type assertionSigner struct {
	signer   jose.Signer
	clientID string
	aud      string
	prefix   []byte // the form up to client_assertion=
}

// ParsePrivateKey reads a PEM PKCS #8 private key (a Credential's
// private_key).
func ParsePrivateKey(text string) (crypto.Signer, string, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, "", errors.New("private_key is not a PEM PKCS #8 PRIVATE KEY")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("private_key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, "", fmt.Errorf("private_key: a %T cannot sign", k)
	}
	switch s.Public().(type) {
	case *rsa.PublicKey:
		return s, "RS256", nil
	case *ecdsa.PublicKey:
		return s, "ES256", nil
	case ed25519.PublicKey:
		return s, "EdDSA", nil
	}
	return nil, "", fmt.Errorf("private_key: a %T key; RSA, P-256 and Ed25519 keys sign assertions", s.Public())
}

// EncodePrivateKey writes key as a PEM PKCS #8 private key.
func EncodePrivateKey(key crypto.Signer) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

func newAssertionSigner(c *Config, cr Credential, form url.Values) (*assertionSigner, error) {
	key, alg, err := ParsePrivateKey(cr.PrivateKey)
	if err != nil {
		return nil, err
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	aud := c.AssertionAudience
	if aud == "" {
		aud = c.TokenURL
	}
	form.Set("client_id", cr.ClientID)
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	return &assertionSigner{signer: s, clientID: cr.ClientID, aud: aud, prefix: []byte(form.Encode() + "&client_assertion=")}, nil
}

// body returns the request body with a fresh assertion, appended to buf.
func (a *assertionSigner) body(buf []byte, now time.Time) ([]byte, error) {
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	n := now.Unix()
	claims := `{"iss":` + strconv.Quote(a.clientID) + `,"sub":` + strconv.Quote(a.clientID) + `,"aud":` + strconv.Quote(a.aud) +
		`,"jti":"` + base64.RawURLEncoding.EncodeToString(jti[:]) + `","iat":` + strconv.FormatInt(n, 10) + `,"exp":` + strconv.FormatInt(n+60, 10) + `}`
	jws, err := a.signer.Sign([]byte(claims))
	if err != nil {
		return nil, err
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		return nil, err
	}
	buf = append(buf[:0], a.prefix...)
	return append(buf, tok...), nil // base64url and dots need no form escaping
}
