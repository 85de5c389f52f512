package storage

import (
	"context"
	"slices"
	"time"
)

// Credential types (Auth0's client credential credential_type).
const (
	// CredentialPublicKey is a public key (or a certificate holding one)
	// whose private key signs the client's private_key_jwt assertions
	// (RFC 7523 §2.2).
	CredentialPublicKey = "public_key"
	// CredentialCertSubjectDN is the subject distinguished name of the
	// certificate, issued by a trusted CA, the client presents in mutual
	// TLS (RFC 8705 §2.1 tls_client_auth).
	CredentialCertSubjectDN = "cert_subject_dn"
	// CredentialX509Cert is the self-signed certificate the client
	// presents in mutual TLS (RFC 8705 §2.2 self_signed_tls_client_auth).
	CredentialX509Cert = "x509_cert"
)

// CredentialTypes are every credential type, in Auth0's order.
var CredentialTypes = []string{CredentialPublicKey, CredentialCertSubjectDN, CredentialX509Cert}

// Token endpoint authentication methods a credential serves (RFC 7591 §2,
// RFC 8705 §2), the keys of Auth0's client_authentication_methods.
const (
	AuthMethodPrivateKeyJWT           = "private_key_jwt"
	AuthMethodTLSClientAuth           = "tls_client_auth"
	AuthMethodSelfSignedTLSClientAuth = "self_signed_tls_client_auth"
)

// Credential is a key or certificate a client authenticates with instead of
// a secret (Auth0's client credential). Its fields are those of its type:
// PEM, KeyID and Alg for public_key; SubjectDN for cert_subject_dn; PEM and
// ThumbprintSHA256 for x509_cert. A zero ExpiresAt means it does not
// expire. Only the credentials the client's AuthMethods name authenticate.
type Credential struct {
	ID               string
	ClientID         string
	Type             string // CredentialPublicKey, CredentialCertSubjectDN or CredentialX509Cert
	Name             string
	KeyID            string // the JWK thumbprint (RFC 7638) of a public key; unique per client
	Alg              string // the JWS algorithm its assertions use (public_key)
	PEM              string // the public key or certificate, PEM-encoded
	SubjectDN        string
	ThumbprintSHA256 string // base64url SHA-256 of an x509_cert's DER (RFC 8705 §3.1)
	CreatedAt        time.Time
	UpdatedAt        time.Time
	ExpiresAt        time.Time
}

// ActiveAt reports whether the credential may authenticate at t.
func (c Credential) ActiveAt(t time.Time) bool { return c.ExpiresAt.IsZero() || t.Before(c.ExpiresAt) }

// ClientAuthMethods names the credentials each authentication method of a
// client uses (Auth0's client_authentication_methods, with each method's
// credentials as IDs). An empty list means the method is off. A client with
// any credential here authenticates with those alone: its secrets no longer
// do, as in Auth0, where client_authentication_methods and
// token_endpoint_auth_method exclude each other.
type ClientAuthMethods struct {
	PrivateKeyJWT           []string `json:"private_key_jwt,omitempty"`
	TLSClientAuth           []string `json:"tls_client_auth,omitempty"`
	SelfSignedTLSClientAuth []string `json:"self_signed_tls_client_auth,omitempty"`
}

// IsZero reports whether no method is on.
func (m ClientAuthMethods) IsZero() bool {
	return len(m.PrivateKeyJWT) == 0 && len(m.TLSClientAuth) == 0 && len(m.SelfSignedTLSClientAuth) == 0
}

// For returns the credential IDs of the method that credential type t
// serves, or nil for an unknown type.
func (m *ClientAuthMethods) For(t string) *[]string {
	switch t {
	case CredentialPublicKey:
		return &m.PrivateKeyJWT
	case CredentialCertSubjectDN:
		return &m.TLSClientAuth
	case CredentialX509Cert:
		return &m.SelfSignedTLSClientAuth
	}
	return nil
}

// Uses reports whether a method uses the credential ID.
func (m ClientAuthMethods) Uses(id string) bool {
	return slices.Contains(m.PrivateKeyJWT, id) || slices.Contains(m.TLSClientAuth, id) || slices.Contains(m.SelfSignedTLSClientAuth, id)
}

// Without returns m without credential id in any method; m's lists are not
// changed (they may be a stored client's).
func (m ClientAuthMethods) Without(id string) ClientAuthMethods {
	drop := func(ids []string) []string {
		return slices.DeleteFunc(slices.Clone(ids), func(v string) bool { return v == id })
	}
	return ClientAuthMethods{PrivateKeyJWT: drop(m.PrivateKeyJWT), TLSClientAuth: drop(m.TLSClientAuth),
		SelfSignedTLSClientAuth: drop(m.SelfSignedTLSClientAuth)}
}

// Credentials keeps the keys and certificates clients authenticate with,
// and the JWT IDs of used client assertions.
type Credentials interface {
	// AddCredential stores a new credential of an existing client and,
	// when attach is set, adds it to the client's authentication method
	// for its type in the same write; ErrNotFound if the client does not
	// exist, ErrAlreadyExists if the ID, or the client's key ID, is taken.
	AddCredential(ctx context.Context, c Credential, attach bool) error
	// GetCredential returns a credential of the client, or ErrNotFound.
	GetCredential(ctx context.Context, clientID, id string) (Credential, error)
	// ListCredentials returns a client's credentials ordered by creation
	// time, then ID; ErrNotFound if the client does not exist.
	ListCredentials(ctx context.Context, clientID string) ([]Credential, error)
	// ListAllCredentials returns every client's credentials ordered by
	// client ID, then creation time, then ID (the catalog's load).
	ListAllCredentials(ctx context.Context) ([]Credential, error)
	// UpdateCredential replaces the Name, ExpiresAt and UpdatedAt of the
	// credential c.ID of c.ClientID, or returns ErrNotFound.
	UpdateCredential(ctx context.Context, c Credential) error
	// DeleteCredential deletes a credential of the client, and removes it
	// from the client's authentication methods in the same write, or
	// returns ErrNotFound.
	DeleteCredential(ctx context.Context, clientID, id string) error

	// UseAssertionID records that the client used the client assertion
	// JWT ID jti, which expires at exp; ErrAlreadyExists if it was
	// recorded before (a replay, RFC 7523 §3 item 7). It appends nothing
	// to the change feed.
	UseAssertionID(ctx context.Context, clientID, jti string, exp time.Time) error
	// DeleteAssertionIDsBefore forgets the JWT IDs that expired before t
	// and returns how many it deleted.
	DeleteAssertionIDsBefore(ctx context.Context, t time.Time) (int64, error)
}
