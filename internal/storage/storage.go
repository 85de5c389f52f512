package storage

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Backends translate driver errors into these so callers can
// test with errors.Is regardless of the backend.
var (
	// ErrNotFound is returned when the addressed record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists is returned when a record with the same unique key exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrUnavailable marks a failure of the database rather than of the
	// request: it cannot be reached, refused or dropped the connection, is
	// shutting down, or stayed locked or failed its I/O. Backends wrap the
	// driver's error with it, so errors.Is finds both; a server answers
	// such a failure with 503 and the caller may try again later.
	ErrUnavailable = errors.New("storage unavailable")
)

// Token dialects (DESIGN §1).
const (
	DialectRFC9068 = "rfc9068"
	DialectAuth0   = "auth0"
)

// Application types (DESIGN §2).
const (
	AppTypeNonInteractive = "non_interactive"
)

// Grant types.
const (
	GrantClientCredentials = "client_credentials"
)

// Token endpoint authentication methods a client may be registered with
// (RFC 7591 §2 token_endpoint_auth_method).
const (
	AuthMethodClientSecretPost  = "client_secret_post"
	AuthMethodClientSecretBasic = "client_secret_basic"
)

// Secret hash algorithms.
const (
	// SecretHashSHA256 marks a server-generated secret stored as its SHA-256 digest.
	SecretHashSHA256 = "sha256"
)

// Signing key states, in lifecycle order (DESIGN §1).
const (
	KeyNext     = "next"
	KeyCurrent  = "current"
	KeyPrevious = "previous"
	KeyRetired  = "retired"
)

// Change entities recorded in the change feed.
const (
	EntityAPI    = "api"
	EntityClient = "client" // the client, its secrets or its grants changed
	EntityKey    = "key"
)

// Scope is one permission an API defines.
type Scope struct {
	Value       string `json:"value"`
	Description string `json:"description"`
}

// API is a resource server: the audience of access tokens.
type API struct {
	Identifier    string        // the audience; unique and immutable
	Name          string        //
	Scopes        []Scope       //
	TokenLifetime time.Duration // 1 s to 30 days
	SigningAlg    string        // RS256, ES256, PS256 or EdDSA
	TokenDialect  string        // DialectRFC9068 or DialectAuth0
	// AllowOfflineAccess lets a user's login for this API come with a
	// refresh token (offline_access, OIDC Core §11), as Auth0's setting.
	AllowOfflineAccess bool
	// TokenReuse gives a client that asks again for this API's token (same
	// scope and grant) the one it was already issued while more than half
	// of its lifetime remains. Off by default.
	TokenReuse bool
	CreatedAt  time.Time
}

// Client is an application that authenticates to the token endpoint.
type Client struct {
	ClientID    string
	Name        string
	Description string
	AppType     string
	GrantTypes  []string
	// Metadata holds the client's own string properties (Auth0's
	// client_metadata); nil and empty are the same.
	Metadata map[string]string
	// TokenEndpointAuthMethod is how the client registered to authenticate
	// (AuthMethodClientSecretPost or AuthMethodClientSecretBasic); empty is
	// stored as AuthMethodClientSecretPost.
	TokenEndpointAuthMethod string
	// RedirectURIs are the login client's registered redirection endpoints,
	// compared with the redirect_uri of a request by exact string match
	// (RFC 9700 §2.1, OAuth 2.1 §2.3.1).
	RedirectURIs []string
	// AllowedLogoutURLs are where RP-initiated logout may send the browser
	// back (OpenID Connect RP-Initiated Logout 1.0 §3, post_logout_redirect_uri).
	AllowedLogoutURLs []string
	// WebOrigins are the origins (scheme://host[:port]) whose pages may call
	// the token and userinfo endpoints from a browser (CORS, matched
	// exactly): Auth0's web_origins and allowed_origins, one list here.
	WebOrigins []string
	// FirstParty marks a login client run by the operator itself, for
	// which the consent page is skipped.
	FirstParty bool
	Disabled   bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Secret is one of a client's secrets. Only a digest of the secret is stored.
// A zero NotBefore means active from creation; a zero ExpiresAt means it does
// not expire; a zero LastUsedAt means never used.
type Secret struct {
	ID         string
	ClientID   string
	HashAlg    string // SecretHashSHA256
	Hash       []byte
	Hint       string // short, non-secret
	CreatedAt  time.Time
	NotBefore  time.Time
	ExpiresAt  time.Time
	LastUsedAt time.Time
}

// ActiveAt reports whether the secret may authenticate its client at t.
func (s Secret) ActiveAt(t time.Time) bool {
	if !s.NotBefore.IsZero() && t.Before(s.NotBefore) {
		return false
	}
	if !s.ExpiresAt.IsZero() && !t.Before(s.ExpiresAt) {
		return false
	}
	return true
}

// Grant authorizes a client to obtain tokens for an API with some scopes.
type Grant struct {
	ID        string
	ClientID  string
	Audience  string
	Scope     []string
	CreatedAt time.Time
}

// SigningKey is a token signing key. PrivateKey holds the encrypted private
// key; PublicJWK the public key as a JSON Web Key (RFC 7517).
type SigningKey struct {
	KID        string
	Alg        string
	State      string
	PrivateKey []byte
	PublicJWK  []byte
	CreatedAt  time.Time
	// ActivatedAt is when the key became current (zero while next).
	ActivatedAt time.Time
	// RetireAt is, for a previous key, when every token it signed has expired.
	RetireAt time.Time
}

// Change is one entry of the change feed: the entity of that kind and ID was
// created, updated or deleted. Seq increases with every committed change.
type Change struct {
	Seq    int64
	Entity string
	ID     string
}

// Instance is what one running gatehouse instance records of itself: the
// max-age (Cache-Control, RFC 9111 §5.2.2.1) of the JWKS it serves, in
// whole seconds, as of SeenAt.
type Instance struct {
	ID         string
	JWKSMaxAge time.Duration
	SeenAt     time.Time
}

// CheckInstance reports what makes in unfit to record: an empty ID, a
// negative max-age or a zero time.
func CheckInstance(in Instance) error {
	switch {
	case in.ID == "":
		return errors.New("instance: the id is empty")
	case in.JWKSMaxAge < 0:
		return fmt.Errorf("instance %q: jwks max-age %s is negative", in.ID, in.JWKSMaxAge)
	case in.SeenAt.IsZero():
		return fmt.Errorf("instance %q: the time is zero", in.ID)
	}
	return nil
}

// GrantFilter narrows ListGrants; empty fields match everything.
type GrantFilter struct {
	ClientID string
	Audience string
}

// CheckLease reports what is wrong with the arguments of AcquireLease, for
// backends to refuse them before touching the database.
func CheckLease(name, holder string, ttl time.Duration, now time.Time) error {
	switch {
	case name == "":
		return errors.New("lease name is empty")
	case holder == "":
		return fmt.Errorf("lease %q: holder is empty", name)
	case ttl <= 0:
		return fmt.Errorf("lease %q: ttl %s is not positive", name, ttl)
	case now.IsZero():
		return fmt.Errorf("lease %q: the time is zero", name)
	}
	return nil
}

// Storage is the persistence contract every backend implements. All methods
// are safe for concurrent use. Every write that changes what the token
// endpoint may answer appends to the change feed in the same transaction; a
// failed write appends nothing. Durations are stored in whole seconds, times
// to the microsecond and returned in UTC; the zero time means "unset".
type Storage interface {
	// Users keeps the login flow's users.
	Users
	// Logins keeps the login flow's sessions, codes, consents and refresh tokens.
	Logins

	// CreateAPI stores a new API; ErrAlreadyExists if the identifier is taken.
	CreateAPI(ctx context.Context, api API) error
	// GetAPI returns the API with that identifier or ErrNotFound.
	GetAPI(ctx context.Context, identifier string) (API, error)
	// ListAPIs returns every API ordered by identifier.
	ListAPIs(ctx context.Context) ([]API, error)
	// UpdateAPI replaces every field of the API api.Identifier but its
	// Identifier and CreatedAt with api's, or returns ErrNotFound.
	UpdateAPI(ctx context.Context, api API) error
	// DeleteAPI deletes the API and every grant for it, or returns ErrNotFound.
	DeleteAPI(ctx context.Context, identifier string) error

	// CreateClient stores a new client with its first secrets (may be none);
	// a secret with an empty ClientID gets c's, another client's is refused.
	CreateClient(ctx context.Context, c Client, secrets ...Secret) error
	// GetClient returns the client or ErrNotFound.
	GetClient(ctx context.Context, clientID string) (Client, error)
	// ListClients returns every client ordered by creation time, then ID.
	ListClients(ctx context.Context) ([]Client, error)
	// SetClientDisabled enables or disables a client, or returns ErrNotFound.
	SetClientDisabled(ctx context.Context, clientID string, disabled bool, at time.Time) error
	// UpdateClient replaces every field of the client c.ClientID but its
	// ClientID and CreatedAt with c's, or returns ErrNotFound.
	UpdateClient(ctx context.Context, c Client) error
	// DeleteClient deletes a client with its secrets and grants, or returns ErrNotFound.
	DeleteClient(ctx context.Context, clientID string) error

	// AddSecret stores a new secret; ErrNotFound if the client does not exist.
	AddSecret(ctx context.Context, s Secret) error
	// RotateSecret stores s and, in the same transaction, caps the expiry of
	// every other secret of s.ClientID at expireOthersAt (which must not be
	// zero); earlier expiries are left alone.
	RotateSecret(ctx context.Context, s Secret, expireOthersAt time.Time) error
	// ListSecrets returns a client's secrets ordered by creation time;
	// ErrNotFound if the client does not exist.
	ListSecrets(ctx context.Context, clientID string) ([]Secret, error)
	// ListAllSecrets returns the secrets of every client ordered by client
	// ID, then creation time, then ID: the catalog's load reads them in one
	// query instead of one per client.
	ListAllSecrets(ctx context.Context) ([]Secret, error)
	// DeleteSecret revokes a secret, or returns ErrNotFound.
	DeleteSecret(ctx context.Context, clientID, secretID string) error
	// TouchSecrets records last use times, keyed by secret ID (unique across
	// clients). It only moves LastUsedAt forward, since instances may flush
	// out of order; zero times and unknown IDs are ignored. It does not
	// append to the change feed.
	TouchSecrets(ctx context.Context, lastUsed map[string]time.Time) error

	// CreateGrant stores a grant; ErrNotFound if the client or API does not
	// exist, ErrAlreadyExists if the client already has a grant for the API.
	CreateGrant(ctx context.Context, g Grant) error
	// GetGrant returns the grant or ErrNotFound.
	GetGrant(ctx context.Context, id string) (Grant, error)
	// ListGrants returns the grants that match f, ordered by creation time.
	ListGrants(ctx context.Context, f GrantFilter) ([]Grant, error)
	// UpdateGrant replaces the scope of grant id, or returns ErrNotFound.
	UpdateGrant(ctx context.Context, id string, scope []string) error
	// DeleteGrant deletes a grant or returns ErrNotFound.
	DeleteGrant(ctx context.Context, id string) error

	// ListKeys returns every signing key ordered by creation time.
	ListKeys(ctx context.Context) ([]SigningKey, error)
	// SaveKeys inserts create and updates the state, ActivatedAt and RetireAt
	// of update, atomically, whatever the order of update. At most one key per algorithm may be next and one
	// current: a write that would break that returns ErrAlreadyExists and
	// changes nothing (another process rotated first).
	SaveKeys(ctx context.Context, create, update []SigningKey) error

	// LatestChange returns the sequence number of the newest change (0 if none).
	LatestChange(ctx context.Context) (int64, error)
	// ChangesSince returns up to limit (> 0) changes with Seq > seq, in
	// order. A change becomes visible only with the commit of its write, and
	// a follower must never see seq N after having seen a later one: backends
	// whose sequences are taken before commit must serialise change inserts.
	ChangesSince(ctx context.Context, seq int64, limit int) ([]Change, error)

	// AcquireLease takes the lease name for holder until now+ttl (ttl > 0,
	// name and holder not empty, now not zero: see CheckLease) and reports whether it did. It succeeds
	// when no one holds the lease, when holder holds it (a renewal, which
	// sets the expiry to now+ttl), or when another holder's lease expired
	// (its expiry is not after now: a takeover); it returns false while
	// another holder's lease runs. Of concurrent callers at most one wins.
	// Times come from the callers, so the instances' clocks must agree to
	// well within ttl. Leases are a database lock among instances (DESIGN
	// §3: one instance rotates keys at a time); they append nothing to the
	// change feed.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error)
	// ReleaseLease gives up holder's lease name. It does nothing, and
	// returns nil, when holder does not hold it (never took it, or another
	// holder took it over after it expired).
	ReleaseLease(ctx context.Context, name, holder string) error

	// AppendAudit stores events in one transaction, all or none (each must
	// pass CheckAuditEvent), assigning their IDs in order. The audit trail is
	// append-only: nothing updates an event, and only DeleteAuditBefore
	// removes any. It appends nothing to the change feed.
	AppendAudit(ctx context.Context, events ...AuditEvent) error
	// ListAudit returns the events that match f, newest first (by time,
	// then by ID).
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	// DeleteAuditBefore deletes every event older than t (the retention
	// cleanup) and returns how many it deleted.
	DeleteAuditBefore(ctx context.Context, t time.Time) (int64, error)

	// RecordInstance stores what the running instance in.ID serves (its
	// JWKS max-age) as of in.SeenAt, replacing its earlier record. ID must
	// not be empty, JWKSMaxAge not negative, SeenAt not zero. It appends
	// nothing to the change feed.
	RecordInstance(ctx context.Context, in Instance) error
	// MaxJWKSMaxAge returns the longest JWKS max-age recorded by an
	// instance seen at or after since (0 if none): how long a relying
	// party may keep serving a JWKS it fetched from any live instance,
	// which a key rotation must wait out before a new key signs.
	MaxJWKSMaxAge(ctx context.Context, since time.Time) (time.Duration, error)

	// Ping checks that the database is reachable.
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}
