package storage

import (
	"context"
	"strings"
	"time"
)

// Application types of login clients (ARCHITECTURE.md), beside
// AppTypeNonInteractive: a regular web application is confidential (it holds
// a secret, RFC 6749 §2.1); a single-page or native application is public.
const (
	AppTypeRegularWeb = "regular_web"
	AppTypeSPA        = "spa"
	AppTypeNative     = "native"
)

// Grant types of the login flow (RFC 6749 §4.1 and §6).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
)

// Audit actions of users and the login flow (beside storage/audit.go's).
const (
	AuditUserCreated     = "user.created"
	AuditUserUpdated     = "user.updated"
	AuditUserDisabled    = "user.disabled"
	AuditUserEnabled     = "user.enabled"
	AuditUserPasswordSet = "user.password_set"
	AuditUserDeleted     = "user.deleted"
	AuditUserLogin       = "user.login"  // success, or failure with a reason
	AuditUserLogout      = "user.logout" // RP-initiated logout ended a session
	AuditConsentGranted  = "consent.granted"
	AuditConsentDenied   = "consent.denied"
	AuditCodeReused      = "code.reused"    // a code's second use; its refresh tokens revoked
	AuditRefreshReused   = "refresh.reused" // a rotated refresh token presented again; its family revoked
)

// AuthMethodNone is the token endpoint authentication method of a public
// client, which has no secret and sends only its client_id (RFC 7591 §2).
const AuthMethodNone = "none"

// User is a person who logs in through the hosted login page. Email is
// unique regardless of case (see NormalizeEmail); PasswordHash is an
// argon2id hash in the PHC string format (package users), never the
// password.
type User struct {
	UserID        string
	Email         string
	Name          string
	PasswordHash  string
	EmailVerified bool
	Disabled      bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// NormalizeEmail returns the key under which an email address is unique:
// the address in lower case, so that Alice@Example.com and alice@example.com
// are one user.
func NormalizeEmail(email string) string { return strings.ToLower(email) }

// Users is the part of the storage contract that keeps the login flow's
// users. User writes do not append to the change feed: the token endpoint's
// catalog holds no users.
type Users interface {
	// CreateUser stores a new user; ErrAlreadyExists if the user ID is
	// taken or another user has the same email regardless of case.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns the user with that ID or ErrNotFound.
	GetUser(ctx context.Context, userID string) (User, error)
	// GetUserByEmail returns the user whose email equals email regardless
	// of case, or ErrNotFound.
	GetUserByEmail(ctx context.Context, email string) (User, error)
	// ListUsers returns every user ordered by creation time, then user ID.
	ListUsers(ctx context.Context) ([]User, error)
	// UpdateUser replaces every field of the user u.UserID but its UserID
	// and CreatedAt with u's; ErrNotFound if there is no such user,
	// ErrAlreadyExists if another user has the new email.
	UpdateUser(ctx context.Context, u User) error
	// DeleteUser deletes the user with its login sessions, authorization
	// codes, consents and refresh tokens, or returns ErrNotFound.
	DeleteUser(ctx context.Context, userID string) error
}
