package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// compactSigner signs JWS compact serializations (RFC 7515 §7.1) with one
// key over precomputed protected headers, one per token type. It does what
// go-jose's Signer does, minus re-encoding the header on every call: the
// signing input is BASE64URL(header) "." BASE64URL(payload), hashed with
// SHA-256 and signed by the standard library's primitives:
//
//   - RS256: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3);
//   - PS256: RSASSA-PSS with SHA-256, MGF1 with SHA-256 and a salt as long
//     as the hash (RFC 7518 §3.5);
//   - ES256: ECDSA P-256 with SHA-256, the signature being R and S as two
//     32-byte big-endian integers, 64 bytes in all (RFC 7518 §3.4);
//   - EdDSA: Ed25519 over the signing input itself, no pre-hash (RFC 8037
//     §3.1).
type compactSigner struct {
	alg  string
	priv crypto.Signer
	// headers maps a typ to its encoded protected header segment.
	headers map[string]string
	sigLen  int // encoded length of the signature segment
	rand    io.Reader
}

// jwsHeader is the protected header, in the member order go-jose writes.
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

func newCompactSigner(kid, alg string, priv crypto.Signer, typs ...string) (*compactSigner, error) {
	if err := checkKeyType(alg, priv); err != nil {
		return nil, err
	}
	s := &compactSigner{alg: alg, priv: priv, headers: make(map[string]string, len(typs)), rand: rand.Reader}
	for _, typ := range typs {
		b, err := json.Marshal(jwsHeader{Alg: alg, Kid: kid, Typ: typ})
		if err != nil {
			return nil, fmt.Errorf("encode %s header: %w", alg, err)
		}
		s.headers[typ] = base64.RawURLEncoding.EncodeToString(b)
	}
	var n int
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		n = k.Size()
	case *ecdsa.PrivateKey:
		n = 64
	case ed25519.PrivateKey:
		n = ed25519.SignatureSize
	}
	s.sigLen = base64.RawURLEncoding.EncodedLen(n)
	return s, nil
}

// bufPool holds token buffers; a token is well under 2 KiB with RSA-2048.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// pss are the PSS options of PS256 (RFC 7518 §3.5: salt length = hash length).
var pss = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}

// sign returns the compact JWS of payload with the header for typ; ok is
// false when there is no header for typ.
func (s *compactSigner) sign(typ string, payload []byte) (token string, ok bool, err error) {
	hdr, ok := s.headers[typ]
	if !ok {
		return "", false, nil
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	enc := base64.RawURLEncoding
	need := len(hdr) + 1 + enc.EncodedLen(len(payload)) + 1 + s.sigLen
	buf := (*bp)[:0]
	if cap(buf) < need {
		buf = make([]byte, 0, need)
	}
	buf = append(buf, hdr...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	input := buf

	var sig []byte
	var raw [64]byte
	switch k := s.priv.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, input)
	case *rsa.PrivateKey:
		digest := sha256.Sum256(input)
		if s.alg == PS256 {
			sig, err = rsa.SignPSS(s.rand, k, crypto.SHA256, digest[:], pss)
		} else {
			sig, err = rsa.SignPKCS1v15(nil, k, crypto.SHA256, digest[:])
		}
	case *ecdsa.PrivateKey:
		digest := sha256.Sum256(input)
		r, ss, serr := ecdsa.Sign(s.rand, k, digest[:])
		if serr == nil {
			r.FillBytes(raw[:32])
			ss.FillBytes(raw[32:])
			sig = raw[:]
		}
		err = serr
	default:
		err = fmt.Errorf("unsupported key type %T", s.priv)
	}
	if err != nil {
		return "", true, err
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	*bp = buf
	return string(buf), true, nil
}
