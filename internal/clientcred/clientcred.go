package clientcred

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/mtlsauth"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Algs are the JWS algorithms (RFC 7518 §3, RFC 8037 §3.1) a client may
// sign its assertions with: Auth0's RS256, RS384 and PS256, and ES256 and
// EdDSA. Never none, never HMAC (a public key is no shared secret).
var Algs = []string{"RS256", "RS384", "PS256", "ES256", "EdDSA"}

// AlgEd25519 is RFC 9864's fully-specified name of EdDSA with Ed25519,
// which newer clients (openid-client v6) send instead of EdDSA; an EdDSA
// credential accepts either.
const AlgEd25519 = "Ed25519"

// AssertionAlgs are the JWS algorithms a client assertion may carry: Algs
// and AlgEd25519, as go-jose names them for parsing.
var AssertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.PS256, jose.ES256, jose.EdDSA, AlgEd25519}

// CanonicalAlg returns alg, with AlgEd25519 as the EdDSA it specifies.
func CanonicalAlg(alg string) string {
	if alg == AlgEd25519 {
		return "EdDSA"
	}
	return alg
}

// MaxPEMBytes bounds a credential's PEM text: a 16384-bit RSA certificate
// chain fits many times over.
const MaxPEMBytes = 16 << 10

// MinRSABits is the smallest RSA modulus accepted (NIST SP 800-131A).
const MinRSABits = 2048

// Input is a credential as a management API or command line request gives
// it (Auth0's POST /api/v2/clients/{id}/credentials body).
type Input struct {
	Type                string
	Name                string
	PEM                 string
	Alg                 string
	SubjectDN           string
	ExpiresAt           time.Time
	ParseExpiryFromCert bool
}

// New checks in and returns the credential it describes for the client,
// with its derived fields filled: for public_key the key ID (the key's RFC
// 7638 thumbprint) and the algorithm (in's, which must fit the key, or the
// key's usual one); for x509_cert the certificate's SHA-256 thumbprint; the
// expiry from the certificate when asked. The error says what is wrong, for
// the person who sent it.
func New(clientID, id string, in Input, now time.Time) (storage.Credential, error) {
	c := storage.Credential{ID: id, ClientID: clientID, Type: in.Type, ExpiresAt: in.ExpiresAt, CreatedAt: now, UpdatedAt: now}
	var err error
	if c.Name, err = CheckNameAndExpiry(in.Name, in.ExpiresAt, now); err != nil {
		return c, err
	}
	switch in.Type {
	case storage.CredentialPublicKey, storage.CredentialX509Cert:
		if in.SubjectDN != "" {
			return c, fmt.Errorf("subject_dn is for credential_type %s only", storage.CredentialCertSubjectDN)
		}
		key, cert, err := Parse(in.PEM)
		if err != nil {
			return c, err
		}
		c.PEM = in.PEM
		if in.ParseExpiryFromCert {
			if cert == nil {
				return c, errors.New("parse_expiry_from_cert needs a certificate in pem")
			}
			if in.ExpiresAt.IsZero() { // an explicit expires_at wins, as in Auth0
				c.ExpiresAt = cert.NotAfter.UTC()
			}
		}
		if cert != nil && !cert.NotAfter.After(now) {
			return c, fmt.Errorf("the certificate expired at %s", cert.NotAfter.UTC().Format(time.RFC3339))
		}
		if in.Type == storage.CredentialX509Cert {
			if cert == nil {
				return c, errors.New("pem must hold a certificate for credential_type x509_cert")
			}
			if in.Alg != "" {
				return c, fmt.Errorf("alg is for credential_type %s only", storage.CredentialPublicKey)
			}
			c.ThumbprintSHA256 = CertThumbprint(cert)
			return c, nil
		}
		if c.Alg, err = pickAlg(key, in.Alg); err != nil {
			return c, err
		}
		c.KeyID, err = KeyID(key)
		return c, err
	case storage.CredentialCertSubjectDN:
		if in.Alg != "" || in.ParseExpiryFromCert || in.PEM != "" && in.SubjectDN != "" {
			return c, fmt.Errorf("credential_type %s takes subject_dn alone, or a certificate's pem to read it from, not both, nor alg or parse_expiry_from_cert", in.Type)
		}
		dn := in.SubjectDN
		if in.PEM != "" { // Auth0 reads the subject DN from the certificate
			_, cert, err := Parse(in.PEM)
			if err != nil {
				return c, err
			}
			if cert == nil {
				return c, fmt.Errorf("pem must hold a certificate for credential_type %s", in.Type)
			}
			if dn, err = SubjectDN(cert); err != nil {
				return c, err
			}
		}
		if dn, err = checkDN(dn); err != nil {
			return c, err
		}
		c.SubjectDN = dn
		return c, nil
	case "":
		return c, errors.New("credential_type is required")
	}
	return c, fmt.Errorf("credential_type %q is not one of %s", in.Type, strings.Join(storage.CredentialTypes, ", "))
}

// MaxNameLen bounds a credential's name.
const MaxNameLen = 128

// CheckNameAndExpiry returns name trimmed, or what is wrong with it or
// with expiresAt (which, unless zero, must be after now).
func CheckNameAndExpiry(name string, expiresAt, now time.Time) (string, error) {
	name = strings.TrimSpace(name)
	if len(name) > MaxNameLen {
		return "", fmt.Errorf("name must be at most %d characters", MaxNameLen)
	}
	if !expiresAt.IsZero() && !expiresAt.After(now) {
		return "", errors.New("expires_at must be in the future")
	}
	return name, nil
}

// Parse reads a PEM public key (SPKI "PUBLIC KEY" or PKCS #1 "RSA PUBLIC
// KEY") or certificate, and returns its key, with the certificate when it
// was one. It refuses private keys, trailing data, RSA keys under
// MinRSABits and curves other than P-256.
func Parse(text string) (crypto.PublicKey, *x509.Certificate, error) {
	if text == "" {
		return nil, nil, errors.New("pem is required")
	}
	if len(text) > MaxPEMBytes {
		return nil, nil, fmt.Errorf("pem exceeds %d KiB", MaxPEMBytes>>10)
	}
	block, rest := pem.Decode([]byte(text))
	if block == nil {
		return nil, nil, errors.New("pem holds no PEM block")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, nil, errors.New("pem must hold exactly one PEM block")
	}
	var key crypto.PublicKey
	var cert *x509.Certificate
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		cert, err = x509.ParseCertificate(block.Bytes)
		if err == nil {
			key = cert.PublicKey
		}
	default:
		if strings.Contains(block.Type, "PRIVATE") {
			return nil, nil, errors.New("pem holds a private key: send the public key or certificate only, and keep the private key secret")
		}
		return nil, nil, fmt.Errorf("pem block %q is not a PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", block.Type)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("pem: %w", err)
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return nil, nil, fmt.Errorf("the RSA key has %d bits; at least %d are required", k.N.BitLen(), MinRSABits)
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, nil, fmt.Errorf("the EC key is on %s; only P-256 (ES256) is supported", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return nil, nil, fmt.Errorf("the key is a %T; RSA, EC P-256 and Ed25519 keys are supported", key)
	}
	return key, cert, nil
}

// AlgFits reports whether alg is one of Algs and signs with key's type.
func AlgFits(alg string, key crypto.PublicKey) bool {
	switch key.(type) {
	case *rsa.PublicKey:
		return alg == "RS256" || alg == "RS384" || alg == "PS256"
	case *ecdsa.PublicKey:
		return alg == "ES256"
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// pickAlg returns alg if it fits key, or key's usual algorithm for none
// (RS256 for RSA, as Auth0's default).
func pickAlg(key crypto.PublicKey, alg string) (string, error) {
	if alg == "" {
		switch key.(type) {
		case *rsa.PublicKey:
			return "RS256", nil
		case *ecdsa.PublicKey:
			return "ES256", nil
		default:
			return "EdDSA", nil
		}
	}
	if !slices.Contains(Algs, alg) {
		return "", fmt.Errorf("alg %q is not one of %s", alg, strings.Join(Algs, ", "))
	}
	if !AlgFits(alg, key) {
		return "", fmt.Errorf("alg %s does not sign with this key's type", alg)
	}
	return alg, nil
}

// KeyID returns key's RFC 7638 JWK thumbprint (SHA-256, base64url), the
// key ID of a public_key credential.
func KeyID(key crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: key}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// CertThumbprint returns the base64url SHA-256 of the certificate's DER
// (RFC 8705 §3.1 x5t#S256).
func CertThumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// SubjectDN returns the certificate's subject as an RFC 4514 string, its
// RDNs in the certificate's order (unlike pkix.Name.String, which
// reorders them), so that mtlsauth.MatchSubjectDN matches it.
func SubjectDN(cert *x509.Certificate) (string, error) {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(cert.RawSubject, &seq); err != nil || len(rest) > 0 || len(seq) == 0 {
		return "", errors.New("the certificate's subject cannot be read, or is empty")
	}
	return seq.String(), nil
}

// checkDN returns the distinguished name trimmed, after checking that it
// reads as RFC 4514 attribute=value pairs separated by commas, and that
// the tls_client_auth method can parse it (mtlsauth.ParseDN): a name it
// cannot parse would never match a certificate.
func checkDN(dn string) (string, error) {
	dn = strings.TrimSpace(dn)
	if dn == "" {
		return "", errors.New("subject_dn is required for credential_type cert_subject_dn")
	}
	if len(dn) > 1024 {
		return "", errors.New("subject_dn must be at most 1024 characters")
	}
	for _, part := range splitDN(dn) {
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("subject_dn %q is not a distinguished name (attribute=value, separated by commas)", dn)
		}
	}
	if _, err := mtlsauth.ParseDN(dn); err != nil {
		return "", fmt.Errorf("subject_dn %q: %v", dn, err)
	}
	return dn, nil
}

// splitDN splits an RFC 4514 string at the commas that are not escaped.
func splitDN(dn string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			parts = append(parts, dn[start:i])
			start = i + 1
		}
	}
	return append(parts, dn[start:])
}
