package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kinds of access token revocation (RFC 7009 §2; docs/revocation.md). An
// access token is a signed JWT that verifiers check offline, so it cannot be
// taken back: what is revoked is recorded instead, on a denylist that every
// instance holds in memory and that introspection (RFC 7662) honours.
const (
	// RevokeToken revokes one access token, named by its jti.
	RevokeToken = "jti"
	// RevokeClient revokes every token whose client_id is the value and
	// that was issued (iat) at or before Before.
	RevokeClient = "client"
	// RevokeSubject revokes every token whose sub is the value (a user ID)
	// and that was issued at or before Before.
	RevokeSubject = "subject"
)

// Change entities of the revocation denylist and of introspection rights.
const (
	// EntityRevocation: the denylist entry whose Key is the change's ID
	// was added or raised.
	EntityRevocation = "revocation"
	// EntityIntrospection: the introspection clients of the API whose
	// identifier is the change's ID changed.
	EntityIntrospection = "introspection"
)

// Revocation is one entry of the access token denylist.
type Revocation struct {
	Kind  string // RevokeToken, RevokeClient or RevokeSubject
	Value string // the jti, client ID or subject
	// Before is, for RevokeClient and RevokeSubject, the time at or before
	// which (to the second) a token must have been issued to be revoked;
	// for RevokeToken, when the token was revoked.
	Before time.Time
	// ExpiresAt is when no token the entry revokes is valid any more: the
	// token's exp, or Before plus the longest token lifetime. The entry may
	// be forgotten then, which bounds the denylist by the tokens' remaining
	// lifetimes.
	ExpiresAt time.Time
}

// Key names the entry in the change feed: kind, a colon, value.
func (r Revocation) Key() string { return r.Kind + ":" + r.Value }

// ParseRevocationKey splits a Key into its kind and value.
func ParseRevocationKey(key string) (kind, value string, ok bool) {
	kind, value, ok = strings.Cut(key, ":")
	return kind, value, ok && validRevocationKind(kind) && value != ""
}

func validRevocationKind(k string) bool {
	return k == RevokeToken || k == RevokeClient || k == RevokeSubject
}

// CheckRevocation reports what makes r unfit to store.
func CheckRevocation(r Revocation) error {
	switch {
	case !validRevocationKind(r.Kind):
		return fmt.Errorf("revocation: kind %q is not %s, %s or %s", r.Kind, RevokeToken, RevokeClient, RevokeSubject)
	case r.Value == "":
		return errors.New("revocation: the value is empty")
	case r.Before.IsZero() || r.ExpiresAt.IsZero():
		return fmt.Errorf("revocation %s: a time is zero", r.Key())
	}
	return nil
}

// Introspector is a client's right to introspect the tokens of an API
// (RFC 7662 §2.1: the resource server authenticates as a client).
type Introspector struct {
	Audience  string
	ClientID  string
	CreatedAt time.Time
}

// Revocations is the part of the storage contract that keeps what was
// revoked and who may introspect.
type Revocations interface {
	// Revoke stores r (see CheckRevocation), or, when an entry of its kind
	// and value exists, raises that entry's Before and ExpiresAt to r's
	// where r's are later; it records a change of EntityRevocation with ID
	// r.Key() in the same transaction.
	Revoke(ctx context.Context, r Revocation) error
	// GetRevocation returns the entry of that kind and value, or ErrNotFound.
	GetRevocation(ctx context.Context, kind, value string) (Revocation, error)
	// ListRevocations returns the entries that expire after after, ordered
	// by kind, then value.
	ListRevocations(ctx context.Context, after time.Time) ([]Revocation, error)
	// DeleteExpiredRevocations deletes the entries that expired before
	// before and reports how many; it appends nothing to the change feed
	// (followers drop expired entries themselves).
	DeleteExpiredRevocations(ctx context.Context, before time.Time) (int64, error)
	// RevokeRefreshFamilies revokes at at every refresh token family not
	// yet revoked of the client (when clientID is set) and of the user
	// (when userID is set; one of the two must be), and reports how many.
	RevokeRefreshFamilies(ctx context.Context, clientID, userID string, at time.Time) (int64, error)

	// AddIntrospector lets a client introspect an API's tokens, recording
	// a change of EntityIntrospection with the API's identifier;
	// ErrNotFound if the API or the client does not exist,
	// ErrAlreadyExists if the client has the right already.
	AddIntrospector(ctx context.Context, in Introspector) error
	// RemoveIntrospector takes the right back (recording a change as
	// AddIntrospector does), or returns ErrNotFound.
	RemoveIntrospector(ctx context.Context, audience, clientID string) error
	// ListIntrospectors returns the rights for the API (every right when
	// audience is empty), ordered by audience, then client ID.
	ListIntrospectors(ctx context.Context, audience string) ([]Introspector, error)
}

// Audit actions of revocation and introspection rights.
const (
	// AuditTokenRevoked: a client revoked one of its tokens (RFC 7009).
	AuditTokenRevoked = "token.revoked"
	// AuditTokensRevoked: an administrator revoked every token of a client
	// or of a user.
	AuditTokensRevoked = "tokens.revoked"
	// AuditIntrospectorAdded and AuditIntrospectorRemoved: a client was
	// given or lost the right to introspect an API's tokens.
	AuditIntrospectorAdded   = "introspector.added"
	AuditIntrospectorRemoved = "introspector.removed"
)
