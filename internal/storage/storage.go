package storage

import (
	"context"
	"database/sql"
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
	// ErrFeedPruned is returned by ChangesSince when changes after the
	// position asked for have been pruned (PruneChanges): a follower that
	// was cut off that long must load everything again.
	ErrFeedPruned = errors.New("change feed pruned past this position")
)

// Token dialects (docs/reference/protocol.md). The _authz dialects are the same tokens
// with a permissions claim in a person's token (Auth0's access_token_authz
// and rfc9068_profile_authz; see Authz).
const (
	DialectRFC9068      = "rfc9068"
	DialectAuth0        = "auth0"
	DialectRFC9068Authz = "rfc9068_authz"
	DialectAuth0Authz   = "auth0_authz"
)

// Dialects are every token dialect, in the order the docs list them.
var Dialects = []string{DialectRFC9068, DialectAuth0, DialectRFC9068Authz, DialectAuth0Authz}

// AuthzDialect reports whether tokens of dialect d about a person carry a
// permissions claim.
func AuthzDialect(d string) bool { return d == DialectRFC9068Authz || d == DialectAuth0Authz }

// Auth0Dialect reports whether d is one of Auth0's own token shapes (header
// typ JWT, a client's subject "<client_id>@clients") rather than RFC 9068's.
func Auth0Dialect(d string) bool { return d == DialectAuth0 || d == DialectAuth0Authz }

// Access policies of an API for each kind of subject (Auth0's
// subject_type_authorization): who may obtain a token for it.
const (
	// PolicyAllowAll lets every login client obtain a person's token for
	// the API, with any scope the API defines (users only).
	PolicyAllowAll = "allow_all"
	// PolicyRequireClientGrant asks for a grant of the client for the API
	// with the token's subject type; the token carries at most its scopes.
	PolicyRequireClientGrant = "require_client_grant"
	// PolicyDenyAll issues no token of that subject type for the API.
	PolicyDenyAll = "deny_all"
)

// Subject types of a grant (Auth0's client grant subject_type): a grant
// for the client's own tokens (client credentials) or for the tokens of
// the people who log in through it.
const (
	SubjectClient = "client"
	SubjectUser   = "user"
)

// Application types (ARCHITECTURE.md).
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

// Signing key states, in lifecycle order (docs/reference/protocol.md).
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
	// UserPolicy says which login clients may obtain a person's token for
	// the API: PolicyRequireClientGrant (stored for ""), PolicyAllowAll or
	// PolicyDenyAll (Auth0's subject_type_authorization.user.policy).
	UserPolicy string
	// ClientPolicy says whether clients may obtain their own tokens:
	// PolicyRequireClientGrant (stored for "") or PolicyDenyAll.
	ClientPolicy string
	// EnforcePolicies limits a person's token to the permissions the
	// person holds for the API, directly or through roles (Auth0's RBAC
	// enforce_policies).
	EnforcePolicies bool
	// Extras are the API's settings of Auth0's schema that gatehouse keeps
	// and shows but does not act on.
	Extras    APIExtras
	CreatedAt time.Time
}

// APIExtras are the settings of Auth0's resource server that gatehouse
// stores and returns, so that a configuration written for Auth0 reads back
// as it was written, but does not act on. Backends store them as one JSON
// document (their json names are its keys); the zero value is Auth0's
// default.
type APIExtras struct {
	// TokenLifetimeForWeb is Auth0's lifetime of tokens its implicit flow
	// gives browsers, which gatehouse does not have; zero: unset.
	TokenLifetimeForWeb time.Duration `json:"token_lifetime_for_web,omitempty"`
}

// ClientExtras are the settings of Auth0's client that gatehouse stores and
// returns but does not act on, stored as APIExtras are.
type ClientExtras struct {
	LogoURI        string   `json:"logo_uri,omitempty"`
	ClientAliases  []string `json:"client_aliases,omitempty"`
	AllowedClients []string `json:"allowed_clients,omitempty"`
	// ThirdParty is Auth0's is_first_party false on a machine-to-machine
	// client, whose consent page it would change in Auth0 and which has
	// none here. (A login client's is Client.FirstParty, which acts.)
	ThirdParty bool `json:"third_party,omitempty"`
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
	// Extras are the client's settings of Auth0's schema that gatehouse
	// keeps and shows but does not act on.
	Extras    ClientExtras
	CreatedAt time.Time
	UpdatedAt time.Time
	// AuthMethods names the credentials the client authenticates with
	// (Auth0's client_authentication_methods); each must be one of the
	// client's, of the type its method takes, or writes return ErrNotFound.
	AuthMethods ClientAuthMethods
	// JWKSURI is where the client publishes the keys of its
	// private_key_jwt assertions (RFC 7591 §2 jwks_uri, a gatehouse
	// extension of Auth0's client); empty for none.
	JWKSURI string
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

// Grant authorizes a client to obtain tokens for an API with some scopes:
// its own tokens (SubjectType SubjectClient, stored for "") or, under the
// API's PolicyRequireClientGrant for users, those of the people who log in
// through it (SubjectUser). A client holds at most one grant of each
// subject type per API.
type Grant struct {
	ID          string
	ClientID    string
	Audience    string
	Scope       []string
	SubjectType string
	CreatedAt   time.Time
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

// CheckFeedReader reports what makes a MarkFeedRead call unfit to store:
// an empty reader, a negative position or a zero time.
func CheckFeedReader(reader string, seq int64, now time.Time) error {
	switch {
	case reader == "":
		return errors.New("feed reader: the name is empty")
	case seq < 0:
		return fmt.Errorf("feed reader %s: position %d is negative", reader, seq)
	case now.IsZero():
		return fmt.Errorf("feed reader %s: the time is zero", reader)
	}
	return nil
}

// PruneThrough is the change up to which PruneChanges deletes: the least
// position of the live readers (least, NULL when none remains), or else
// every change, but never the newest (latest), and never below the current
// prune mark.
func PruneThrough(least sql.NullInt64, latest, mark int64) int64 {
	through := latest - 1
	if least.Valid {
		through = min(through, least.Int64)
	}
	return max(through, mark)
}

// PrunedRow is the sequence number of the row a backend's ChangesSince
// query puts first when the feed was pruned past the position asked for.
const PrunedRow = -1

// CheckPruned returns changes, or ErrFeedPruned when they start with the
// PrunedRow marker.
func CheckPruned(seq int64, changes []Change) ([]Change, error) {
	if len(changes) > 0 && changes[0].Seq == PrunedRow {
		return nil, fmt.Errorf("changes since %d: %w", seq, ErrFeedPruned)
	}
	return changes, nil
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
	ClientID    string
	Audience    string
	SubjectType string
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
	// Authz keeps roles, their permissions and what users hold.
	Authz
	// Credentials keeps the clients' keys and certificates.
	Credentials
	// Revocations keeps the access token denylist and introspection rights.
	Revocations

	// CreateAPI stores a new API; ErrAlreadyExists if the identifier is taken.
	CreateAPI(ctx context.Context, api API) error
	// GetAPI returns the API with that identifier or ErrNotFound.
	GetAPI(ctx context.Context, identifier string) (API, error)
	// ListAPIs returns every API ordered by identifier.
	ListAPIs(ctx context.Context) ([]API, error)
	// UpdateAPI replaces every field of the API api.Identifier but its
	// Identifier and CreatedAt with api's, or returns ErrNotFound. In the
	// same transaction it removes the scopes api no longer defines from
	// every grant for the API (a grant never holds a scope its API does
	// not define), recording a change of each client whose grant lost one.
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
	// DeleteClient deletes a client with its secrets, grants and
	// credentials, or returns ErrNotFound.
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
	// exist, ErrAlreadyExists if the client already has a grant of that
	// subject type for the API.
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
	// It returns ErrFeedPruned when seq is below the prune mark.
	ChangesSince(ctx context.Context, seq int64, limit int) ([]Change, error)

	// MarkFeedRead records that reader (an instance following the feed)
	// has applied every change up to seq, as of now, and returns the feed's
	// prune mark: the changes with Seq at or below it may have been deleted
	// (PruneChanges), so a reader whose position is below it has missed
	// some and must load everything again. It appends nothing to the feed.
	MarkFeedRead(ctx context.Context, reader string, seq int64, now time.Time) (prunedThrough int64, err error)
	// PruneChanges forgets the readers last marked before liveSince, then
	// deletes the changes that every remaining reader has read (all of them
	// when none remains), always keeping the newest change so that
	// LatestChange stays right, and raises the prune mark to the last
	// change deleted. It returns the mark and how many changes it deleted,
	// and appends nothing to the feed.
	PruneChanges(ctx context.Context, liveSince time.Time) (prunedThrough, deleted int64, err error)

	// AcquireLease takes the lease name for holder until now+ttl (ttl > 0,
	// name and holder not empty, now not zero: see CheckLease) and reports whether it did. It succeeds
	// when no one holds the lease, when holder holds it (a renewal, which
	// sets the expiry to now+ttl), or when another holder's lease expired
	// (its expiry is not after now: a takeover); it returns false while
	// another holder's lease runs. Of concurrent callers at most one wins.
	// Times come from the callers, so the instances' clocks must agree to
	// well within ttl. Leases are a database lock among instances (ARCHITECTURE.md
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

	// DeleteTokenEventsBefore deletes the events of TokenActions older than
	// t (their short retention) and returns how many it deleted.
	DeleteTokenEventsBefore(ctx context.Context, t time.Time) (int64, error)
	// AddTokenCounts adds each count to the stored count of its hour,
	// client and audience (creating it at zero), all in one transaction
	// (each must pass CheckTokenCount). It appends nothing to the feed.
	AddTokenCounts(ctx context.Context, counts ...TokenCount) error
	// ListTokenCounts returns the counts that match f, newest hour first,
	// then by client and audience.
	ListTokenCounts(ctx context.Context, f TokenCountFilter) ([]TokenCount, error)
	// DeleteTokenCountsBefore deletes the counts of hours that start
	// before t and returns how many it deleted.
	DeleteTokenCountsBefore(ctx context.Context, t time.Time) (int64, error)

	// Ping checks that the database is reachable.
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}
