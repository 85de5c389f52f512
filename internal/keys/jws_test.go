package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestCompactSignerMatchesGoJose: the precomputed-header signer produces
// JWS that go-jose verifies, for every algorithm and token type, with the
// exact header go-jose itself writes; for the deterministic algorithms
// (RS256, EdDSA) the whole token is byte-for-byte go-jose's. The raw
// signatures are checked against the RFCs with the standard library: ES256
// is R||S in 64 bytes (RFC 7518 §3.4), PS256 verifies with the salt length
// fixed to the hash length (RFC 7518 §3.5), EdDSA is Ed25519 over the
// signing input (RFC 8037 §3.1).
func TestCompactSignerMatchesGoJose(t *testing.T) {
	gen := newEnv().gen
	payloads := [][]byte{
		benchClaims,
		[]byte(`{}`),
		[]byte(`{"sub":"ünïcödé \"quoted\" <tag>","n":1}`),
		[]byte(strings.Repeat(`{"a":"b"}`, 200)[:1799]), // odd length, long
	}
	for _, alg := range SupportedAlgs {
		priv, err := gen(alg)
		if err != nil {
			t.Fatal(err)
		}
		kid, err := thumbprint(priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		cs, err := newCompactSigner(kid, alg, priv, TypeAccessToken, TypeJWT)
		if err != nil {
			t.Fatal(err)
		}
		for _, typ := range []string{TypeAccessToken, TypeJWT} {
			ref, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: priv, KeyID: kid}},
				(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
			if err != nil {
				t.Fatal(err)
			}
			for i, payload := range payloads {
				t.Run(alg+"/"+typ+"/"+string(rune('0'+i)), func(t *testing.T) {
					tok, ok, err := cs.sign(typ, payload)
					if !ok || err != nil {
						t.Fatalf("sign: %v %v", ok, err)
					}
					jws, err := ref.Sign(payload)
					if err != nil {
						t.Fatal(err)
					}
					want, err := jws.CompactSerialize()
					if err != nil {
						t.Fatal(err)
					}
					parts, wantParts := strings.Split(tok, "."), strings.Split(want, ".")
					if len(parts) != 3 {
						t.Fatalf("token has %d parts", len(parts))
					}
					if parts[0] != wantParts[0] || parts[1] != wantParts[1] {
						t.Errorf("header/payload differ from go-jose:\n got %s.%s\nwant %s.%s", parts[0], parts[1], wantParts[0], wantParts[1])
					}
					if (alg == RS256 || alg == EdDSA) && tok != want {
						t.Errorf("deterministic %s token differs from go-jose's", alg)
					}
					parsed, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
					if err != nil {
						t.Fatalf("go-jose cannot parse: %v", err)
					}
					got, err := parsed.Verify(priv.Public())
					if err != nil {
						t.Fatalf("go-jose does not verify: %v", err)
					}
					if string(got) != string(payload) {
						t.Errorf("payload changed")
					}
					sig, err := base64.RawURLEncoding.DecodeString(parts[2])
					if err != nil {
						t.Fatal(err)
					}
					input := []byte(parts[0] + "." + parts[1])
					digest := sha256.Sum256(input)
					switch alg {
					case ES256:
						if len(sig) != 64 {
							t.Fatalf("ES256 signature is %d bytes, want 64", len(sig))
						}
						r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
						if !ecdsa.Verify(priv.Public().(*ecdsa.PublicKey), digest[:], r, s) {
							t.Error("ES256 R||S does not verify")
						}
					case PS256:
						if err := rsa.VerifyPSS(priv.Public().(*rsa.PublicKey), crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: sha256.Size}); err != nil {
							t.Errorf("PS256 with salt length 32: %v", err)
						}
					case RS256:
						if err := rsa.VerifyPKCS1v15(priv.Public().(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
							t.Errorf("RS256: %v", err)
						}
					case EdDSA:
						if !ed25519.Verify(priv.Public().(ed25519.PublicKey), input, sig) {
							t.Error("EdDSA does not verify over the signing input")
						}
					}
				})
			}
		}
	}
}

// TestCompactSignerRefuses: an unknown typ is refused, and a key that does
// not fit the algorithm is refused when the signer is made.
func TestCompactSignerRefuses(t *testing.T) {
	gen := newEnv().gen
	ec, _ := gen(ES256)
	cs, err := newCompactSigner("k", ES256, ec, TypeAccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := cs.sign(TypeJWT, []byte(`{}`)); ok {
		t.Error("signed a typ it has no header for")
	}
	if _, err := newCompactSigner("k", RS256, ec); err == nil {
		t.Error("accepted an ECDSA key for RS256")
	}
}
