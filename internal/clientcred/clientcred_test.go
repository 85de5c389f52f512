package clientcred_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/clientcred"
	"github.com/gatehouse-dev/gatehouse/internal/mtlsauth"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func pemOf(t *testing.T, typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func spki(t *testing.T, k crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf(t, "PUBLIC KEY", der)
}

func cert(t *testing.T, k crypto.Signer, notAfter time.Time) string {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "svc"}, NotBefore: notAfter.Add(-48 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf(t, "CERTIFICATE", der)
}

// issued is a certificate of subject, signed by a throwaway CA.
func issued(t *testing.T, k crypto.Signer, subject pkix.Name) (string, *x509.Certificate) {
	ca, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "ca"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: subject, NotBefore: caTmpl.NotBefore, NotAfter: caTmpl.NotAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caTmpl, k.Public(), ca)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf(t, "CERTIFICATE", der), c
}

// TestNew: each of Auth0's credential types is built with its derived
// fields, and every input Auth0 would refuse, or that would weaken
// private_key_jwt, is refused with a message naming the problem.
func TestNew(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	certPEM := cert(t, ec, now.Add(30*24*time.Hour))
	caIssuedPEM, caIssued := issued(t, ec, pkix.Name{Country: []string{"FR"}, Organization: []string{"Example, Inc"}, OrganizationalUnit: []string{"ops"}, CommonName: "svc"})
	tests := []struct {
		name  string
		in    clientcred.Input
		inErr string
		check func(t *testing.T, c storage.Credential)
	}{
		{"ec key takes ES256", clientcred.Input{Type: "public_key", PEM: spki(t, &ec.PublicKey)}, "", func(t *testing.T, c storage.Credential) {
			kid, _ := clientcred.KeyID(&ec.PublicKey)
			if c.Alg != "ES256" || c.KeyID != kid || len(c.KeyID) != 43 {
				t.Errorf("alg %q kid %q", c.Alg, c.KeyID)
			}
		}},
		{"rsa key defaults to RS256", clientcred.Input{Type: "public_key", PEM: spki(t, &rsaKey.PublicKey)}, "", func(t *testing.T, c storage.Credential) {
			if c.Alg != "RS256" {
				t.Errorf("alg %q", c.Alg)
			}
		}},
		{"pkcs1 rsa PS256", clientcred.Input{Type: "public_key", PEM: pemOf(t, "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)), Alg: "PS256"}, "", nil},
		{"ed25519", clientcred.Input{Type: "public_key", PEM: spki(t, ed.Public())}, "", func(t *testing.T, c storage.Credential) {
			if c.Alg != "EdDSA" {
				t.Errorf("alg %q", c.Alg)
			}
		}},
		{"certificate with its expiry", clientcred.Input{Type: "public_key", PEM: certPEM, ParseExpiryFromCert: true}, "", func(t *testing.T, c storage.Credential) {
			if !c.ExpiresAt.Equal(now.Add(30 * 24 * time.Hour)) {
				t.Errorf("expires %v", c.ExpiresAt)
			}
		}},
		{"x509_cert thumbprint", clientcred.Input{Type: "x509_cert", PEM: certPEM}, "", func(t *testing.T, c storage.Credential) {
			if len(c.ThumbprintSHA256) != 43 || c.KeyID != "" || c.Alg != "" {
				t.Errorf("%+v", c)
			}
		}},
		{"cert_subject_dn", clientcred.Input{Type: "cert_subject_dn", SubjectDN: " CN=svc,O=Example\\, Inc "}, "", func(t *testing.T, c storage.Credential) {
			if c.SubjectDN != "CN=svc,O=Example\\, Inc" {
				t.Errorf("dn %q", c.SubjectDN)
			}
		}},
		// Auth0's cert_subject_dn takes subject_dn or pem, the CA-issued
		// certificate to read it from (Terraform's tls_client_auth sends
		// either); read, it matches that certificate.
		{"cert_subject_dn from pem", clientcred.Input{Type: "cert_subject_dn", PEM: caIssuedPEM}, "", func(t *testing.T, c storage.Credential) {
			if ok, err := mtlsauth.MatchSubjectDN(caIssued, c.SubjectDN); !ok || err != nil || c.PEM != "" {
				t.Errorf("dn %q matches its certificate: %v %v; pem kept %q", c.SubjectDN, ok, err, c.PEM)
			}
		}},
		{"cert_subject_dn from a bare key", clientcred.Input{Type: "cert_subject_dn", PEM: spki(t, &ec.PublicKey)}, "certificate", nil},
		// Auth0 (and Terraform's parse_expiry_from_cert): an explicit
		// expires_at wins over the certificate's.
		{"expires_at beside parse_expiry_from_cert", clientcred.Input{Type: "public_key", PEM: certPEM, ParseExpiryFromCert: true, ExpiresAt: now.Add(time.Hour)}, "",
			func(t *testing.T, c storage.Credential) {
				if !c.ExpiresAt.Equal(now.Add(time.Hour)) {
					t.Errorf("expires %v", c.ExpiresAt)
				}
			}},
		// A name mtlsauth cannot parse would never match a certificate.
		{"dn the mTLS check cannot read", clientcred.Input{Type: "cert_subject_dn", SubjectDN: "CN=svc,Department=ops"}, "unknown attribute type", nil},
		{"no type", clientcred.Input{PEM: spki(t, &ec.PublicKey)}, "credential_type is required", nil},
		{"unknown type", clientcred.Input{Type: "secret"}, "not one of", nil},
		{"private key", clientcred.Input{Type: "public_key", PEM: pemOf(t, "EC PRIVATE KEY", ecDER)}, "private key", nil},
		{"small rsa", clientcred.Input{Type: "public_key", PEM: spki(t, &small.PublicKey)}, "2048", nil},
		{"p-384", clientcred.Input{Type: "public_key", PEM: spki(t, &p384.PublicKey)}, "P-256", nil},
		{"alg for another key type", clientcred.Input{Type: "public_key", PEM: spki(t, &ec.PublicKey), Alg: "RS256"}, "does not sign", nil},
		{"alg HS256", clientcred.Input{Type: "public_key", PEM: spki(t, &rsaKey.PublicKey), Alg: "HS256"}, "not one of", nil},
		{"alg none", clientcred.Input{Type: "public_key", PEM: spki(t, &rsaKey.PublicKey), Alg: "none"}, "not one of", nil},
		{"two blocks", clientcred.Input{Type: "public_key", PEM: spki(t, &ec.PublicKey) + spki(t, &ec.PublicKey)}, "exactly one", nil},
		{"garbage", clientcred.Input{Type: "public_key", PEM: "hello"}, "no PEM block", nil},
		{"too large", clientcred.Input{Type: "public_key", PEM: strings.Repeat("a", clientcred.MaxPEMBytes+1)}, "exceeds", nil},
		{"expiry from a bare key", clientcred.Input{Type: "public_key", PEM: spki(t, &ec.PublicKey), ParseExpiryFromCert: true}, "needs a certificate", nil},
		{"expired certificate", clientcred.Input{Type: "x509_cert", PEM: cert(t, ec, now.Add(-time.Hour))}, "expired", nil},
		{"x509_cert of a bare key", clientcred.Input{Type: "x509_cert", PEM: spki(t, &ec.PublicKey)}, "certificate", nil},
		{"expires in the past", clientcred.Input{Type: "public_key", PEM: spki(t, &ec.PublicKey), ExpiresAt: now.Add(-time.Second)}, "future", nil},
		{"dn with pem", clientcred.Input{Type: "cert_subject_dn", SubjectDN: "CN=a", PEM: certPEM}, "subject_dn alone", nil},
		{"dn malformed", clientcred.Input{Type: "cert_subject_dn", SubjectDN: "just words"}, "not a distinguished name", nil},
		{"key with dn", clientcred.Input{Type: "public_key", PEM: spki(t, &ec.PublicKey), SubjectDN: "CN=a"}, "subject_dn is for", nil},
		{"long name", clientcred.Input{Type: "cert_subject_dn", SubjectDN: "CN=a", Name: strings.Repeat("n", 129)}, "at most 128", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := clientcred.New("c1", "cred_1", tc.in, now)
			if tc.inErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.inErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.inErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ID != "cred_1" || c.ClientID != "c1" || c.Type != tc.in.Type || !c.CreatedAt.Equal(now) {
				t.Errorf("%+v", c)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}
