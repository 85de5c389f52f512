package token

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// JWT "typ" header values: RFC 9068 §2.1 and Auth0's.
const (
	TypeAccessToken = "at+jwt"
	TypeJWT         = "JWT"
)

// Claims are the access token claims (RFC 9068 §2.2, DESIGN §1).
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
}

type minter struct {
	issuer string
	signer Signer
	rand   io.Reader
}

func newMinter(issuer string, signer Signer, r io.Reader) *minter {
	if r == nil {
		r = rand.Reader
	}
	return &minter{issuer: issuer, signer: signer, rand: r}
}

// gty values name the grant the token came from, as Auth0 writes them.
var gty = map[string]string{storage.GrantClientCredentials: "client-credentials"}

// mint signs an access token for api. In the auth0 dialect the header typ is
// "JWT" and a client's own subject reads "<client_id>@clients"; everything
// else is the same (DESIGN §1).
func (m *minter) mint(api *storage.API, clientID, subject, scope, grantType string, now time.Time) (string, error) {
	var jti [16]byte
	if _, err := io.ReadFull(m.rand, jti[:]); err != nil {
		return "", fmt.Errorf("read randomness: %w", err)
	}
	c := Claims{
		Issuer:   m.issuer,
		Subject:  subject,
		Audience: api.Identifier,
		IssuedAt: now.Unix(),
		Expiry:   now.Add(api.TokenLifetime).Unix(),
		ClientID: clientID,
		AZP:      clientID,
		JTI:      base64.RawURLEncoding.EncodeToString(jti[:]),
		Scope:    scope,
		GTY:      gty[grantType],
	}
	typ := TypeAccessToken
	if api.TokenDialect == storage.DialectAuth0 {
		typ = TypeJWT
		if grantType == storage.GrantClientCredentials {
			c.Subject = subject + "@clients"
		}
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	tok, err := m.signer.Sign(api.SigningAlg, typ, payload)
	if err != nil {
		return "", fmt.Errorf("sign access token for %s: %w", api.Identifier, err)
	}
	return tok, nil
}
