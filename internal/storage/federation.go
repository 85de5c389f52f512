package storage

import (
	"context"
	"time"
)

// FederatedCredential lets a client authenticate with a token its platform
// already gave the workload (a Kubernetes projected service-account token, a
// GitHub Actions OIDC token) instead of a secret: a JWT signed by Issuer
// whose sub matches Subject, whose aud holds Audience and whose claims equal
// Claims (docs/clients-without-secrets.md; package federation checks them).
// A client may hold several.
type FederatedCredential struct {
	ID       string
	ClientID string
	// Issuer is the external issuer's identifier, an https URL (its OpenID
	// discovery document names its JWKS).
	Issuer string
	// Subject is the sub expected: exact, or a pattern in which each '*'
	// stands for one or more characters other than ':'.
	Subject string
	// Audience is the aud expected; empty for the server's own issuer.
	Audience string
	// Claims are further conditions: each claim (a name, or a path into
	// nested objects with '/' between names) must equal its value.
	Claims map[string]string
	// MaxLifetime caps the external token's remaining lifetime at use
	// (exp less the time of the request); zero for the default.
	MaxLifetime time.Duration
	CreatedAt   time.Time
}

// FederatedCredentials is the part of Storage that keeps federated
// credentials. Adding or deleting one appends the client's change to the
// feed, so that every instance's catalog follows.
type FederatedCredentials interface {
	// AddFederatedCredential stores fc; ErrNotFound if its client does not
	// exist, ErrAlreadyExists if its ID is taken.
	AddFederatedCredential(ctx context.Context, fc FederatedCredential) error
	// ListFederatedCredentials returns a client's federated credentials
	// ordered by creation time, then ID; ErrNotFound if the client does
	// not exist.
	ListFederatedCredentials(ctx context.Context, clientID string) ([]FederatedCredential, error)
	// ListAllFederatedCredentials returns every client's, ordered by client
	// ID, then creation time, then ID (the catalog's load).
	ListAllFederatedCredentials(ctx context.Context) ([]FederatedCredential, error)
	// DeleteFederatedCredential deletes one of a client's federated
	// credentials, or returns ErrNotFound.
	DeleteFederatedCredential(ctx context.Context, clientID, id string) error
}
