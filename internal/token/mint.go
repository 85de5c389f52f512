package token

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/jsonenc"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// JWT "typ" header values: RFC 9068 §2.1 and Auth0's.
const (
	TypeAccessToken = "at+jwt"
	TypeJWT         = "JWT"
)

// Claims are the access token claims (RFC 9068 §2.2, docs/reference/protocol.md).
type Claims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience string `json:"aud"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
	ClientID string `json:"client_id"`
	AZP      string `json:"azp"`
	JTI      string `json:"jti"`
	Scope    string `json:"scope,omitempty"`
	GTY      string `json:"gty"`
	// Cnf binds the token to a key (RFC 7800, RFC 9449 §6); nil for a
	// bearer token.
	Cnf *Confirmation `json:"cnf,omitempty"`
}

// Confirmation is the cnf claim (RFC 7800 §3.1) of a sender-constrained
// token: the DPoP key's thumbprint (RFC 9449 §6.1 jkt) and/or the TLS
// client certificate's (RFC 8705 §3.1 x5t#S256), base64url without padding.
type Confirmation struct {
	JKT string `json:"jkt,omitempty"`
	X5T string `json:"x5t#S256,omitempty"`
}

type minter struct {
	issuer string
	signer Signer
	rand   io.Reader // nil: crypto/rand
}

func newMinter(issuer string, signer Signer, r io.Reader) *minter {
	return &minter{issuer: issuer, signer: signer, rand: r}
}

// gty values name the grant the token came from, as Auth0 writes them.
var gty = map[string]string{storage.GrantClientCredentials: "client-credentials"}

// payloadPool holds claims buffers; claims are a few hundred bytes.
var payloadPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// mint signs an access token for api. In the auth0 dialect the header typ is
// "JWT" and a client's own subject reads "<client_id>@clients"; everything
// else is the same (docs/reference/protocol.md). cnf, when not nil, binds
// the token (RFC 8705 §3.1).
func (m *minter) mint(api *storage.API, clientID, subject, scope, grantType string, cnf *Confirmation, now time.Time) (string, error) {
	var jti [16]byte
	if err := m.random(jti[:]); err != nil {
		return "", fmt.Errorf("read randomness: %w", err)
	}
	var jtiText [22]byte
	base64.RawURLEncoding.Encode(jtiText[:], jti[:])
	c := Claims{
		Issuer:   m.issuer,
		Subject:  subject,
		Audience: api.Identifier,
		IssuedAt: now.Unix(),
		Expiry:   now.Add(api.TokenLifetime).Unix(),
		ClientID: clientID,
		AZP:      clientID,
		Scope:    scope,
		GTY:      gty[grantType],
		Cnf:      cnf,
	}
	typ := TypeAccessToken
	suffix := ""
	if storage.Auth0Dialect(api.TokenDialect) {
		typ = TypeJWT
		if grantType == storage.GrantClientCredentials {
			suffix = "@clients"
		}
	}
	bp := payloadPool.Get().(*[]byte)
	payload := appendClaims((*bp)[:0], &c, suffix, jtiText[:])
	tok, err := m.signer.Sign(api.SigningAlg, typ, payload)
	*bp = payload
	payloadPool.Put(bp)
	if err != nil {
		return "", fmt.Errorf("sign access token for %s: %w", api.Identifier, err)
	}
	return tok, nil
}

// random fills b from the injected reader, or from crypto/rand when none
// was given. crypto/rand.Read keeps b on the stack; reading through an
// io.Reader would move b to the heap, so an injected reader fills a heap
// buffer of its own that is copied.
func (m *minter) random(b []byte) error {
	if m.rand == nil {
		_, _ = rand.Read(b) // never fails (Go 1.24+)
		return nil
	}
	buf := make([]byte, len(b))
	if _, err := io.ReadFull(m.rand, buf); err != nil {
		return err
	}
	copy(b, buf)
	return nil
}

// appendClaims appends the JSON encoding of c to b, byte-for-byte what
// json.Marshal(c) writes (RFC 8259), without reflection or allocation. The
// subject is c.Subject followed by subjectSuffix, and jti, when c.JTI is
// empty, is taken from jti; both exist so that the caller need not build
// strings.
func appendClaims(b []byte, c *Claims, subjectSuffix string, jti []byte) []byte {
	b = append(b, `{"iss":`...)
	b = appendString(b, c.Issuer, "")
	b = append(b, `,"sub":`...)
	b = appendString(b, c.Subject, subjectSuffix)
	b = append(b, `,"aud":`...)
	b = appendString(b, c.Audience, "")
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, c.IssuedAt, 10)
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, c.Expiry, 10)
	b = append(b, `,"client_id":`...)
	b = appendString(b, c.ClientID, "")
	b = append(b, `,"azp":`...)
	b = appendString(b, c.AZP, "")
	b = append(b, `,"jti":`...)
	if c.JTI != "" || jti == nil {
		b = appendString(b, c.JTI, "")
	} else {
		b = append(b, '"')
		b = append(b, jti...) // base64url: nothing to escape
		b = append(b, '"')
	}
	if c.Scope != "" {
		b = append(b, `,"scope":`...)
		b = appendString(b, c.Scope, "")
	}
	b = append(b, `,"gty":`...)
	b = appendString(b, c.GTY, "")
	if !c.Cnf.empty() {
		b = appendConfirmation(append(b, `,"cnf":`...), c.Cnf)
	}
	return append(b, '}')
}

// appendConfirmation appends cnf as json.Marshal writes it.
func appendConfirmation(b []byte, cnf *Confirmation) []byte {
	b = append(b, '{')
	if cnf.JKT != "" {
		b = append(b, `"jkt":`...)
		b = appendString(b, cnf.JKT, "")
	}
	if cnf.X5T != "" {
		if cnf.JKT != "" {
			b = append(b, ',')
		}
		b = append(b, `"x5t#S256":`...)
		b = appendString(b, cnf.X5T, "")
	}
	return append(b, '}')
}

// appendString appends s+suffix as a JSON string the way encoding/json
// writes it (jsonenc). suffix is ASCII, so escaping the two apart is
// escaping them joined.
func appendString(b []byte, s, suffix string) []byte {
	b = append(b, '"')
	b = jsonenc.AppendEscaped(b, s)
	b = jsonenc.AppendEscaped(b, suffix)
	return append(b, '"')
}
