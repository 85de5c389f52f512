package storage

import (
	"context"
	"errors"
	"time"
)

// Sentinels of the login flow's one-time records.
var (
	// ErrConsumed is returned for an authorization code or a refresh token
	// that was used before. For a refresh token the store has then revoked
	// its whole family (RFC 9700 §4.14.2).
	ErrConsumed = errors.New("already used")
	// ErrRevoked is returned for a refresh token whose family was revoked.
	ErrRevoked = errors.New("revoked")
)

// LoginSession is a user's login at the hosted login page, named by the
// digest of the random value its cookie holds (the store never sees the
// cookie itself).
type LoginSession struct {
	ID        string // digest of the cookie value
	UserID    string
	AuthTime  time.Time // when the user last entered a password
	CreatedAt time.Time
	ExpiresAt time.Time
}

// AuthCode is an authorization code (RFC 6749 §4.1.2), named by the
// digest of the code, bound to the client, the redirect URI and the PKCE
// challenge (RFC 7636 §4.4) it was issued with.
type AuthCode struct {
	ID            string // digest of the code
	ClientID      string
	UserID        string
	RedirectURI   string
	Scope         []string // as consented
	Audience      string   // the API the access token is for; empty: /userinfo only
	Nonce         string   // OpenID Connect Core §3.1.2.1, echoed in the ID token
	CodeChallenge string   // S256 challenge (RFC 7636 §4.2)
	AuthTime      time.Time
	CreatedAt     time.Time
	ExpiresAt     time.Time
	// UsedAt is when the code was redeemed (zero: never); FamilyID the
	// refresh token family its redemption started, if any; AccessJTI the
	// jti of the access token its redemption issued, which a second use
	// revokes (RFC 6749 §4.1.2).
	UsedAt    time.Time
	FamilyID  string
	AccessJTI string
}

// Consent is what a user allowed a client: scopes for an audience (the
// empty audience is the OpenID Connect scopes alone).
type Consent struct {
	UserID    string
	ClientID  string
	Audience  string
	Scope     []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RefreshFamily is the chain of refresh tokens that one authorization code
// started (RFC 9700 §4.14.2): each use rotates the token, and the reuse of
// a rotated one revokes the family. ExpiresAt is its absolute lifetime.
type RefreshFamily struct {
	ID        string
	ClientID  string
	UserID    string
	Audience  string
	Scope     []string
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero: not revoked
	// DPoPJKT is the thumbprint of the DPoP key a public client's refresh
	// tokens are bound to (RFC 9449 §5); empty when they are not bound.
	DPoPJKT string
}

// RefreshToken is one refresh token of a family, named by its digest.
// ExpiresAt is its idle lifetime: a token not used by then is dead.
type RefreshToken struct {
	ID        string // digest of the token
	FamilyID  string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero: not yet rotated
	// AccessJTI and AccessExpiresAt name the access token issued with this
	// refresh token: revoking the family puts it on the denylist until it
	// expires (RFC 7009 §2.1). Empty when none was recorded.
	AccessJTI       string
	AccessExpiresAt time.Time
}

// Logins is the part of the storage contract that keeps the login flow's
// state: sessions, authorization codes, consents and refresh token
// families. None of it appends to the change feed.
type Logins interface {
	// CreateSession stores a session; ErrAlreadyExists if its ID is taken.
	CreateSession(ctx context.Context, s LoginSession) error
	// GetSession returns the session or ErrNotFound.
	GetSession(ctx context.Context, id string) (LoginSession, error)
	// DeleteSession deletes the session, or returns ErrNotFound.
	DeleteSession(ctx context.Context, id string) error

	// CreateAuthCode stores a new code; ErrAlreadyExists if its ID is taken.
	CreateAuthCode(ctx context.Context, c AuthCode) error
	// RedeemAuthCode marks the code used at at, recording familyID and
	// accessJTI (either may be empty), and returns it as it was before. Of
	// concurrent redemptions one wins; a code used before is returned with
	// ErrConsumed (and its recorded family and jti) and left as it is; an
	// unknown one is ErrNotFound.
	RedeemAuthCode(ctx context.Context, id, familyID, accessJTI string, at time.Time) (AuthCode, error)

	// PutConsent stores or replaces the consent of c.UserID to c.ClientID
	// for c.Audience; an existing consent keeps its CreatedAt.
	PutConsent(ctx context.Context, c Consent) error
	// GetConsent returns a consent or ErrNotFound.
	GetConsent(ctx context.Context, userID, clientID, audience string) (Consent, error)

	// CreateRefreshFamily stores a family with its first token.
	CreateRefreshFamily(ctx context.Context, f RefreshFamily, first RefreshToken) error
	// GetRefreshToken returns a token and its family, or ErrNotFound.
	GetRefreshToken(ctx context.Context, id string) (RefreshToken, RefreshFamily, error)
	// RotateRefreshToken marks the token id used at at and stores next in
	// its family, atomically, and returns the family. A token used before
	// revokes its family (RevokedAt = at) and returns ErrConsumed; a token
	// of a revoked family returns ErrRevoked; an unknown one ErrNotFound.
	// Of concurrent rotations of one token one wins and the others revoke
	// the family.
	RotateRefreshToken(ctx context.Context, id string, next RefreshToken, at time.Time) (RefreshFamily, error)
	// RevokeRefreshFamily revokes a family at at (an earlier revocation
	// stays), or returns ErrNotFound.
	RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error

	// DeleteExpiredLogins deletes the sessions, authorization codes and
	// refresh token families (with their tokens) that expired before
	// before, and the families revoked before it, and reports how many
	// rows of the three it deleted. Consents stay.
	DeleteExpiredLogins(ctx context.Context, before time.Time) (int64, error)
	// EndUserLogins deletes every session of the user and revokes (at at)
	// every refresh token family of the user that is not revoked yet:
	// after a password change the user logs in again everywhere. An
	// unknown user has nothing to end.
	EndUserLogins(ctx context.Context, userID string, at time.Time) error
}
