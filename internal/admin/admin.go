package admin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-dev/gatehouse/internal/secret"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// ErrInvalid marks input that breaks a rule; nothing was changed.
var ErrInvalid = errors.New("invalid input")

// Token lifetime bounds (docs/reference/protocol.md).
const (
	MinTokenLifetime     = time.Second
	MaxTokenLifetime     = 30 * 24 * time.Hour
	DefaultTokenLifetime = 24 * time.Hour
	DefaultGrace         = 24 * time.Hour
)

// UserPolicies and ClientPolicies are the access policies an API may have
// for people's tokens and for clients' own (Auth0's
// subject_type_authorization).
var (
	UserPolicies   = []string{storage.PolicyRequireClientGrant, storage.PolicyAllowAll, storage.PolicyDenyAll}
	ClientPolicies = []string{storage.PolicyRequireClientGrant, storage.PolicyDenyAll}
)

// SigningAlgs are the algorithms an API may choose (docs/reference/protocol.md).
var SigningAlgs = []string{"RS256", "ES256", "PS256", "EdDSA"}

// KeyEnsurer makes sure a signing key exists for an algorithm (package keys).
type KeyEnsurer interface {
	Ensure(ctx context.Context, algs ...string) error
}

// Service performs administrative operations on a store.
type Service struct {
	Store storage.Storage
	// Keys, if set, creates the signing keys of a new API's algorithm before
	// the API is visible, so its first token request finds a key.
	Keys KeyEnsurer
	// Passwords hashes user passwords; nil: argon2id with RFC 9106's
	// parameters (users.Hasher).
	Passwords PasswordHasher
	Now       func() time.Time
	Rand      io.Reader
	// Audit, if set, records every successful change (see record).
	Audit Auditor
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

func invalid(format string, args ...any) error {
	return describe(ErrInvalid, format, args...)
}

// APIInput describes a new API; zero fields take their defaults.
type APIInput struct {
	Identifier    string
	Name          string
	Scopes        []storage.Scope
	TokenLifetime time.Duration
	SigningAlg    string
	TokenDialect  string
	// AllowOfflineAccess lets users' logins for the API come with refresh
	// tokens (offline_access).
	AllowOfflineAccess bool
	// TokenReuse hands a client asking again the token it was already
	// issued for the API while over half its lifetime remains.
	TokenReuse bool
	// Extras are Auth0's settings kept and shown but not acted on.
	Extras storage.APIExtras
	// UserPolicy and ClientPolicy are the API's access policies (Auth0's
	// subject_type_authorization); empty: require_client_grant.
	UserPolicy, ClientPolicy string
	// EnforcePolicies limits people's tokens to their permissions (RBAC).
	EnforcePolicies bool
}

// CreateAPI validates in and stores the API, reporting every problem at once.
func (s *Service) CreateAPI(ctx context.Context, in APIInput) (storage.API, error) {
	api := storage.API{
		Identifier: in.Identifier, Name: in.Name, Scopes: in.Scopes,
		TokenLifetime: in.TokenLifetime, SigningAlg: in.SigningAlg, TokenDialect: in.TokenDialect,
		AllowOfflineAccess: in.AllowOfflineAccess, TokenReuse: in.TokenReuse, Extras: in.Extras, CreatedAt: s.now(),
		UserPolicy: in.UserPolicy, ClientPolicy: in.ClientPolicy, EnforcePolicies: in.EnforcePolicies,
	}
	if api.UserPolicy == "" {
		api.UserPolicy = storage.PolicyRequireClientGrant
	}
	if api.ClientPolicy == "" {
		api.ClientPolicy = storage.PolicyRequireClientGrant
	}
	if api.Name == "" {
		api.Name = api.Identifier
	}
	if api.TokenLifetime == 0 {
		api.TokenLifetime = DefaultTokenLifetime
	}
	if api.SigningAlg == "" {
		api.SigningAlg = "RS256"
	}
	if api.TokenDialect == "" {
		api.TokenDialect = storage.DialectRFC9068
	}
	if api.Scopes == nil {
		api.Scopes = []storage.Scope{}
	}
	var problems []string
	if err := ValidateIdentifier(api.Identifier); err != nil {
		problems = append(problems, err.Error())
	}
	problems = append(problems, checkAPI(api)...)
	if len(problems) > 0 {
		return storage.API{}, invalid("%s", strings.Join(problems, "; "))
	}
	switch _, err := s.Store.GetAPI(ctx, api.Identifier); {
	case err == nil:
		return storage.API{}, describe(storage.ErrAlreadyExists, "an API with identifier %q already exists", api.Identifier)
	case !errors.Is(err, storage.ErrNotFound):
		return storage.API{}, fmt.Errorf("look up api: %w", err)
	}
	if s.Keys != nil {
		if err := s.Keys.Ensure(ctx, api.SigningAlg); err != nil {
			return storage.API{}, fmt.Errorf("create signing keys for %s: %w", api.SigningAlg, err)
		}
	}
	if err := s.Store.CreateAPI(ctx, api); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return storage.API{}, describe(err, "an API with identifier %q already exists", api.Identifier)
		}
		return storage.API{}, fmt.Errorf("create api: %w", err)
	}
	s.record(ctx, storage.AuditAPICreated, api.Identifier, map[string]string{"signing_alg": api.SigningAlg, "token_dialect": api.TokenDialect,
		"user_policy": api.UserPolicy, "client_policy": api.ClientPolicy})
	return api, nil
}

// APIPatch changes some fields of an API; nil fields stay as they are. The
// identifier is immutable (ARCHITECTURE.md).
type APIPatch struct {
	Name          *string
	Scopes        *[]storage.Scope
	TokenLifetime *time.Duration
	SigningAlg    *string
	TokenDialect  *string
	// AllowOfflineAccess turns refresh tokens for users' logins on or off.
	AllowOfflineAccess *bool
	// TokenReuse turns token reuse for the API on or off.
	TokenReuse *bool
	// Extras replaces Auth0's settings kept and shown but not acted on.
	Extras *storage.APIExtras
	// UserPolicy, ClientPolicy and EnforcePolicies change the API's access
	// policies.
	UserPolicy, ClientPolicy *string
	EnforcePolicies          *bool
}

// Apply returns in with every field that p sets replaced by p's value.
func (p APIPatch) Apply(in APIInput) APIInput {
	set(&in.Name, p.Name)
	set(&in.Scopes, p.Scopes)
	set(&in.TokenLifetime, p.TokenLifetime)
	set(&in.SigningAlg, p.SigningAlg)
	set(&in.TokenDialect, p.TokenDialect)
	set(&in.AllowOfflineAccess, p.AllowOfflineAccess)
	set(&in.TokenReuse, p.TokenReuse)
	set(&in.UserPolicy, p.UserPolicy)
	set(&in.ClientPolicy, p.ClientPolicy)
	set(&in.EnforcePolicies, p.EnforcePolicies)
	set(&in.Extras, p.Extras)
	return in
}

// set stores *v in dst when v is not nil.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// inputOf is api's settings as an APIInput.
func inputOf(api storage.API) APIInput {
	return APIInput{
		Identifier: api.Identifier, Name: api.Name, Scopes: api.Scopes, TokenLifetime: api.TokenLifetime,
		SigningAlg: api.SigningAlg, TokenDialect: api.TokenDialect, AllowOfflineAccess: api.AllowOfflineAccess,
		TokenReuse: api.TokenReuse, Extras: api.Extras, UserPolicy: api.UserPolicy, ClientPolicy: api.ClientPolicy,
		EnforcePolicies: api.EnforcePolicies,
	}
}

// UpdateAPI applies p to the API under the rules of CreateAPI and returns
// the API as stored. A scope the API stops defining is removed from every
// grant that holds it, in the same write (storage.UpdateAPI), and each such
// grant's change is audited.
func (s *Service) UpdateAPI(ctx context.Context, identifier string, p APIPatch) (storage.API, error) {
	api, err := s.GetAPI(ctx, identifier)
	if err != nil {
		return storage.API{}, err
	}
	if api.UserPolicy == "" { // as stored for ""
		api.UserPolicy = storage.PolicyRequireClientGrant
	}
	if api.ClientPolicy == "" {
		api.ClientPolicy = storage.PolicyRequireClientGrant
	}
	in := p.Apply(inputOf(api))
	api.Name, api.Scopes, api.TokenLifetime = in.Name, in.Scopes, in.TokenLifetime
	api.SigningAlg, api.TokenDialect, api.Extras = in.SigningAlg, in.TokenDialect, in.Extras
	api.AllowOfflineAccess, api.TokenReuse = in.AllowOfflineAccess, in.TokenReuse
	api.UserPolicy, api.ClientPolicy, api.EnforcePolicies = in.UserPolicy, in.ClientPolicy, in.EnforcePolicies
	if p.Name != nil && api.Name == "" {
		api.Name = api.Identifier
	}
	if p.Scopes != nil {
		api.Scopes = slices.Clone(api.Scopes)
		if api.Scopes == nil {
			api.Scopes = []storage.Scope{}
		}
	}
	if problems := checkAPI(api); len(problems) > 0 {
		return storage.API{}, invalid("%s", strings.Join(problems, "; "))
	}
	// The grants that will lose scopes, for the audit trail: the store
	// removes the scopes in the API's own write.
	var pruned []prunedGrant
	if p.Scopes != nil {
		if pruned, err = s.grantsLosing(ctx, api); err != nil {
			return storage.API{}, err
		}
	}
	if s.Keys != nil && p.SigningAlg != nil {
		if err := s.Keys.Ensure(ctx, api.SigningAlg); err != nil {
			return storage.API{}, fmt.Errorf("create signing keys for %s: %w", api.SigningAlg, err)
		}
	}
	if err := s.Store.UpdateAPI(ctx, api); err != nil {
		return storage.API{}, notFound(err, "API", identifier)
	}
	for _, g := range pruned {
		// As every grant event: the target is the grant's client (details
		// client_id names the client a person acted through, audit.go).
		s.record(ctx, storage.AuditGrantUpdated, g.ClientID, map[string]string{"grant_id": g.ID, "audience": g.Audience,
			"scope": joinScopes(g.Scope), "removed": joinScopes(g.removed), "cause": "the API no longer defines the removed scopes"})
	}
	s.record(ctx, storage.AuditAPIUpdated, identifier, map[string]string{"fields": apiFields(p)})
	return api, nil
}

// prunedGrant is a grant as an API's update leaves it, and the scopes it
// loses.
type prunedGrant struct {
	storage.Grant
	removed []string
}

// grantsLosing returns the grants for api that hold scopes it does not
// define, as they will be without them.
func (s *Service) grantsLosing(ctx context.Context, api storage.API) ([]prunedGrant, error) {
	grants, err := s.Store.ListGrants(ctx, storage.GrantFilter{Audience: api.Identifier})
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	defined := map[string]bool{}
	for _, sc := range api.Scopes {
		defined[sc.Value] = true
	}
	var out []prunedGrant
	for _, g := range grants {
		var kept, removed []string
		for _, sc := range g.Scope {
			if defined[sc] {
				kept = append(kept, sc)
			} else {
				removed = append(removed, sc)
			}
		}
		if len(removed) > 0 {
			g.Scope = kept
			out = append(out, prunedGrant{Grant: g, removed: removed})
		}
	}
	return out, nil
}

// checkAPI reports every problem with the settable fields of api.
func checkAPI(api storage.API) []string {
	var problems []string
	if api.TokenLifetime < MinTokenLifetime || api.TokenLifetime > MaxTokenLifetime || api.TokenLifetime%time.Second != 0 {
		problems = append(problems, fmt.Sprintf("token lifetime %s must be whole seconds from 1s to 720h (30 days)", api.TokenLifetime))
	}
	if web := api.Extras.TokenLifetimeForWeb; web < 0 || web%time.Second != 0 || web > api.TokenLifetime {
		problems = append(problems, fmt.Sprintf("token lifetime for web %s must be whole seconds, not longer than the token lifetime %s", web, api.TokenLifetime))
	}
	if !slices.Contains(SigningAlgs, api.SigningAlg) {
		problems = append(problems, fmt.Sprintf("signing algorithm %q must be one of %s", api.SigningAlg, strings.Join(SigningAlgs, ", ")))
	}
	if !slices.Contains(storage.Dialects, api.TokenDialect) {
		problems = append(problems, fmt.Sprintf("token dialect %q must be one of %s", api.TokenDialect, strings.Join(storage.Dialects, ", ")))
	} else if storage.AuthzDialect(api.TokenDialect) && !api.EnforcePolicies {
		problems = append(problems, fmt.Sprintf("token dialect %s adds people's permissions: it needs enforce policies (RBAC) on", api.TokenDialect))
	}
	if !slices.Contains(UserPolicies, api.UserPolicy) {
		problems = append(problems, fmt.Sprintf("user access policy %q must be one of %s", api.UserPolicy, strings.Join(UserPolicies, ", ")))
	}
	if !slices.Contains(ClientPolicies, api.ClientPolicy) {
		problems = append(problems, fmt.Sprintf("client access policy %q must be one of %s", api.ClientPolicy, strings.Join(ClientPolicies, ", ")))
	}
	seen := map[string]bool{}
	for _, sc := range api.Scopes {
		if !ValidScope(sc.Value) {
			problems = append(problems, fmt.Sprintf("scope %q must be a non-empty RFC 6749 scope token (no spaces, quotes or backslashes)", sc.Value))
		} else if seen[sc.Value] {
			problems = append(problems, fmt.Sprintf("scope %q is given twice", sc.Value))
		}
		seen[sc.Value] = true
	}
	return problems
}

// ValidateIdentifier checks an API identifier: up to 600 characters, none
// of them white space or a control character, and no fragment ("#"). As in
// Auth0, it need not be a URI (orders-api): such an API is asked for with
// the audience parameter only, since a resource indicator must be an
// absolute URI (RFC 8707 §2, oauth.ValidResource).
func ValidateIdentifier(id string) error {
	if id == "" {
		return errors.New("identifier is required")
	}
	if len(id) > 600 {
		return fmt.Errorf("identifier is longer than 600 characters")
	}
	if strings.IndexFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("identifier %q must not contain white space", id)
	}
	if strings.Contains(id, "#") {
		return fmt.Errorf("identifier %q must not contain a fragment", id)
	}
	return nil
}

// ValidScope checks RFC 6749 §3.3 scope-token syntax.
func ValidScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// GetAPI returns an API.
func (s *Service) GetAPI(ctx context.Context, identifier string) (storage.API, error) {
	api, err := s.Store.GetAPI(ctx, identifier)
	return api, notFound(err, "API", identifier)
}

// DeleteAPI deletes an API and its grants.
func (s *Service) DeleteAPI(ctx context.Context, identifier string) error {
	if err := s.Store.DeleteAPI(ctx, identifier); err != nil {
		return notFound(err, "API", identifier)
	}
	s.record(ctx, storage.AuditAPIDeleted, identifier, nil)
	return nil
}

func notFound(err error, what, id string) error {
	if errors.Is(err, storage.ErrNotFound) {
		d := describe(err, "%s %q not found", what, id)
		d.kind = what
		return d
	}
	return err
}

// NotFoundKind returns what an ErrNotFound from the Service names ("API",
// "client", "grant" or "secret"), or "" when err is no such error.
func NotFoundKind(err error) string {
	var d *described
	if errors.As(err, &d) {
		return d.kind
	}
	return ""
}

// described is an error shown by its message alone that still matches its
// cause with errors.Is (the storage sentinels).
type described struct {
	msg   string
	cause error
	kind  string // for not-found errors: what was not found
}

func (d *described) Error() string { return d.msg }
func (d *described) Unwrap() error { return d.cause }

func describe(cause error, format string, args ...any) *described {
	return &described{msg: fmt.Sprintf(format, args...), cause: cause}
}

// ClientInput describes a new client; zero fields take their defaults.
type ClientInput struct {
	Name        string
	Description string
	// Metadata is the client's own string properties (Auth0 client_metadata).
	Metadata map[string]string
	// TokenEndpointAuthMethod defaults to client_secret_post.
	TokenEndpointAuthMethod string
	// Extras are Auth0's settings kept and shown but not acted on.
	Extras storage.ClientExtras
	// JWKSURI is where the client publishes its private_key_jwt keys.
	JWKSURI string
}

// Client metadata limits, as Auth0 sets them for client_metadata.
const (
	MaxMetadataKeys     = 10
	MaxMetadataKeyLen   = 255
	MaxMetadataValueLen = 255
	MaxClientNameLen    = 255
	MaxDescriptionLen   = 140
)

// AuthMethods are the token endpoint authentication methods a client may
// register (RFC 7591 §2); the token endpoint accepts both secret methods
// (docs/reference/protocol.md). A private_key_jwt client has no secret: it
// authenticates with its credentials or the keys at its jwks_uri.
var AuthMethods = []string{storage.AuthMethodClientSecretPost, storage.AuthMethodClientSecretBasic, storage.AuthMethodPrivateKeyJWT}

// checkClient reports every problem with the editable fields of c.
func checkClient(c storage.Client) []string {
	problems := checkClientExtras(c.Extras)
	if c.Name == "" {
		problems = append(problems, "client name is required")
	} else if len(c.Name) > MaxClientNameLen {
		problems = append(problems, fmt.Sprintf("client name is longer than %d characters", MaxClientNameLen))
	}
	if len(c.Description) > MaxDescriptionLen {
		problems = append(problems, fmt.Sprintf("description is longer than %d characters", MaxDescriptionLen))
	}
	if IsPublic(c.AppType) {
		if c.TokenEndpointAuthMethod != storage.AuthMethodNone {
			problems = append(problems, fmt.Sprintf("token endpoint auth method %q must be none: a %s client is public and has no secret",
				c.TokenEndpointAuthMethod, c.AppType))
		}
	} else if !slices.Contains(AuthMethods, c.TokenEndpointAuthMethod) {
		problems = append(problems, fmt.Sprintf("token endpoint auth method %q must be one of %s (a machine-to-machine client is confidential)",
			c.TokenEndpointAuthMethod, strings.Join(AuthMethods, ", ")))
	}
	problems = append(problems, checkLogin(c)...)
	problems = append(problems, checkAuthMethods(c)...)
	if len(c.Metadata) > MaxMetadataKeys {
		problems = append(problems, fmt.Sprintf("metadata has %d keys, at most %d are allowed", len(c.Metadata), MaxMetadataKeys))
	}
	keys := slices.Sorted(maps.Keys(c.Metadata))
	for _, k := range keys {
		switch {
		case k == "" || len(k) > MaxMetadataKeyLen || strings.IndexFunc(k, func(r rune) bool {
			return !(r == '_' || r == '-' || r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)))
		}) >= 0:
			problems = append(problems, fmt.Sprintf("metadata key %q must be 1 to %d letters, digits, '_' or '-'", k, MaxMetadataKeyLen))
		case len(c.Metadata[k]) > MaxMetadataValueLen:
			problems = append(problems, fmt.Sprintf("metadata value of %q is longer than %d characters", k, MaxMetadataValueLen))
		}
	}
	return problems
}

// MaxClientAliases bounds client_aliases and allowed_clients.
const MaxClientAliases = 100

// checkClientExtras reports what is wrong with a client's Auth0 settings:
// the logo must be an absolute http(s) URL, and aliases and allowed clients
// non-empty strings without white space, at most MaxClientAliases each.
func checkClientExtras(x storage.ClientExtras) []string {
	var problems []string
	if x.LogoURI != "" {
		if u, err := url.Parse(x.LogoURI); err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http" || len(x.LogoURI) > 2000 {
			problems = append(problems, fmt.Sprintf("logo URI %q must be an absolute http(s) URL of at most 2000 characters", x.LogoURI))
		}
	}
	for name, list := range map[string][]string{"client alias": x.ClientAliases, "allowed client": x.AllowedClients} {
		if len(list) > MaxClientAliases {
			problems = append(problems, fmt.Sprintf("more than %d %ses", MaxClientAliases, name))
		}
		for _, v := range list {
			if v == "" || len(v) > 600 || strings.IndexFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
				problems = append(problems, fmt.Sprintf("%s %q must be 1 to 600 characters without white space", name, v))
			}
		}
	}
	slices.Sort(problems) // the map's order is not
	return problems
}

// NewSecret is a secret as created: the stored record and, once, the plain value.
type NewSecret struct {
	storage.Secret
	Plain string
}

// CreateClient creates a machine-to-machine client with one secret.
func (s *Service) CreateClient(ctx context.Context, in ClientInput) (storage.Client, NewSecret, error) {
	now := s.now()
	c := storage.Client{
		Name: strings.TrimSpace(in.Name), Description: in.Description,
		AppType:                 storage.AppTypeNonInteractive,
		GrantTypes:              []string{storage.GrantClientCredentials},
		Metadata:                maps.Clone(in.Metadata),
		TokenEndpointAuthMethod: in.TokenEndpointAuthMethod,
		Extras:                  in.Extras,
		JWKSURI:                 in.JWKSURI,
		CreatedAt:               now, UpdatedAt: now,
	}
	if c.TokenEndpointAuthMethod == "" && c.JWKSURI != "" {
		c.TokenEndpointAuthMethod = storage.AuthMethodPrivateKeyJWT
	}
	if c.TokenEndpointAuthMethod == "" {
		c.TokenEndpointAuthMethod = storage.AuthMethodClientSecretPost
	}
	if problems := checkClient(c); len(problems) > 0 {
		return storage.Client{}, NewSecret{}, invalid("%s", strings.Join(problems, "; "))
	}
	id, err := secret.ClientID(s.rand())
	if err != nil {
		return storage.Client{}, NewSecret{}, err
	}
	c.ClientID = id
	if c.TokenEndpointAuthMethod == storage.AuthMethodPrivateKeyJWT { // no secret at all
		if err := s.Store.CreateClient(ctx, c); err != nil {
			return storage.Client{}, NewSecret{}, fmt.Errorf("create client: %w", err)
		}
		s.record(ctx, storage.AuditClientCreated, c.ClientID, map[string]string{"name": c.Name})
		return c, NewSecret{}, nil
	}
	ns, err := s.newSecret(id, time.Time{}, time.Time{})
	if err != nil {
		return storage.Client{}, NewSecret{}, err
	}
	if err := s.Store.CreateClient(ctx, c, ns.Secret); err != nil {
		return storage.Client{}, NewSecret{}, fmt.Errorf("create client: %w", err)
	}
	s.record(ctx, storage.AuditClientCreated, c.ClientID, map[string]string{"name": c.Name, "secret_id": ns.ID})
	return c, ns, nil
}

func (s *Service) newSecret(clientID string, notBefore, expiresAt time.Time) (NewSecret, error) {
	plain, digest, hint, err := secret.Generate(s.rand())
	if err != nil {
		return NewSecret{}, err
	}
	id, err := secret.ID(s.rand(), "sec_", 20)
	if err != nil {
		return NewSecret{}, err
	}
	return NewSecret{Plain: plain, Secret: storage.Secret{
		ID: id, ClientID: clientID, HashAlg: storage.SecretHashSHA256, Hash: digest, Hint: hint,
		CreatedAt: s.now(), NotBefore: notBefore, ExpiresAt: expiresAt,
	}}, nil
}

// GetClient returns a client.
func (s *Service) GetClient(ctx context.Context, id string) (storage.Client, error) {
	c, err := s.Store.GetClient(ctx, id)
	return c, notFound(err, "client", id)
}

// ClientPatch changes some fields of a client; nil fields stay as they are.
// Metadata, when set, replaces the whole map (an empty map clears it), and
// Extras the whole set of Auth0 settings kept but not acted on.
type ClientPatch struct {
	Name                    *string
	Description             *string
	Metadata                *map[string]string
	TokenEndpointAuthMethod *string
	Disabled                *bool
	Extras                  *storage.ClientExtras
	WebOrigins              *[]string // replaces the list; a login client's only
	// AuthMethods replaces the credentials the client authenticates with
	// (Auth0's client_authentication_methods; the zero value clears them);
	// JWKSURI its jwks_uri ("" clears it).
	AuthMethods *storage.ClientAuthMethods
	JWKSURI     *string
}

// UpdateClient applies p to the client, under the rules of CreateClient,
// and returns the client as stored.
func (s *Service) UpdateClient(ctx context.Context, id string, p ClientPatch) (storage.Client, error) {
	c, err := s.GetClient(ctx, id)
	if err != nil {
		return storage.Client{}, err
	}
	if p.Name != nil {
		c.Name = strings.TrimSpace(*p.Name)
	}
	if p.Description != nil {
		c.Description = *p.Description
	}
	if p.Metadata != nil {
		c.Metadata = maps.Clone(*p.Metadata)
	}
	if p.TokenEndpointAuthMethod != nil {
		c.TokenEndpointAuthMethod = *p.TokenEndpointAuthMethod
	}
	if p.Disabled != nil {
		c.Disabled = *p.Disabled
	}
	if p.Extras != nil {
		c.Extras = *p.Extras
	}
	if p.WebOrigins != nil {
		c.WebOrigins = slices.Clone(*p.WebOrigins)
	}
	if p.AuthMethods != nil {
		c.AuthMethods = *p.AuthMethods
	}
	if p.JWKSURI != nil {
		c.JWKSURI = *p.JWKSURI
	}
	if problems := checkClient(c); len(problems) > 0 {
		return storage.Client{}, invalid("%s", strings.Join(problems, "; "))
	}
	c.UpdatedAt = s.now()
	if err := s.Store.UpdateClient(ctx, c); err != nil {
		if p.AuthMethods != nil && errors.Is(err, storage.ErrNotFound) {
			if _, gerr := s.Store.GetClient(ctx, id); gerr == nil { // the client exists: a credential does not
				return storage.Client{}, describe(ErrInvalid, "client_authentication_methods names a credential the client does not have for that method: %v", err)
			}
		}
		return storage.Client{}, notFound(err, "client", id)
	}
	s.record(ctx, storage.AuditClientUpdated, id, map[string]string{"fields": clientFields(p)})
	return c, nil
}

// DeleteClient deletes a client with its secrets and grants.
func (s *Service) DeleteClient(ctx context.Context, id string) error {
	if err := s.Store.DeleteClient(ctx, id); err != nil {
		return notFound(err, "client", id)
	}
	s.record(ctx, storage.AuditClientDeleted, id, nil)
	return nil
}

// SetClientDisabled disables or enables a client and returns it.
func (s *Service) SetClientDisabled(ctx context.Context, id string, disabled bool) (storage.Client, error) {
	if err := s.Store.SetClientDisabled(ctx, id, disabled, s.now()); err != nil {
		return storage.Client{}, notFound(err, "client", id)
	}
	action := storage.AuditClientEnabled
	if disabled {
		action = storage.AuditClientDisabled
	}
	s.record(ctx, action, id, nil)
	return s.GetClient(ctx, id)
}

// AddSecret adds a secret to a client, active from notBefore (zero: now) and
// expiring expiresIn from now (zero: never).
func (s *Service) AddSecret(ctx context.Context, clientID string, notBefore time.Time, expiresIn time.Duration) (NewSecret, error) {
	now := s.now()
	var expiresAt time.Time
	if expiresIn < 0 {
		return NewSecret{}, invalid("--expires-in must be positive")
	}
	if expiresIn > 0 {
		expiresAt = now.Add(expiresIn)
	}
	if !notBefore.IsZero() && !expiresAt.IsZero() && !notBefore.Before(expiresAt) {
		return NewSecret{}, invalid("the secret would expire (%s) before it becomes active (%s)", expiresAt.Format(time.RFC3339), notBefore.UTC().Format(time.RFC3339))
	}
	if !notBefore.IsZero() {
		notBefore = notBefore.UTC()
	}
	ns, err := s.newSecret(clientID, notBefore, expiresAt)
	if err != nil {
		return NewSecret{}, err
	}
	if err := s.Store.AddSecret(ctx, ns.Secret); err != nil {
		return NewSecret{}, notFound(err, "client", clientID)
	}
	s.record(ctx, storage.AuditSecretAdded, clientID, map[string]string{"secret_id": ns.ID})
	return ns, nil
}

// RotateSecret adds a new secret, active now, and caps the expiry of every
// older secret of the client (not-yet-active ones included) at now+grace
// (docs/reference/cli.md).
func (s *Service) RotateSecret(ctx context.Context, clientID string, grace time.Duration) (NewSecret, error) {
	if grace < 0 {
		return NewSecret{}, invalid("--grace must not be negative")
	}
	ns, err := s.newSecret(clientID, time.Time{}, time.Time{})
	if err != nil {
		return NewSecret{}, err
	}
	if err := s.Store.RotateSecret(ctx, ns.Secret, s.now().Add(grace)); err != nil {
		return NewSecret{}, notFound(err, "client", clientID)
	}
	s.record(ctx, storage.AuditSecretRotated, clientID, map[string]string{"secret_id": ns.ID, "grace": grace.String()})
	return ns, nil
}

// ListSecrets lists a client's secrets (never their values).
func (s *Service) ListSecrets(ctx context.Context, clientID string) ([]storage.Secret, error) {
	list, err := s.Store.ListSecrets(ctx, clientID)
	return list, notFound(err, "client", clientID)
}

// RevokeSecret deletes one of a client's secrets.
func (s *Service) RevokeSecret(ctx context.Context, clientID, secretID string) error {
	if err := s.Store.DeleteSecret(ctx, clientID, secretID); err != nil {
		return notFound(err, "secret", secretID)
	}
	s.record(ctx, storage.AuditSecretRevoked, clientID, map[string]string{"secret_id": secretID})
	return nil
}

// CreateGrant lets a client obtain its own tokens for an API (subject type
// client) with the given scopes, each of which the API must define.
func (s *Service) CreateGrant(ctx context.Context, clientID, audience string, scopes []string) (storage.Grant, error) {
	return s.CreateGrantFor(ctx, storage.SubjectClient, clientID, audience, scopes)
}

// CreateGrantFor is CreateGrant for a subject type: storage.SubjectUser
// lets the people who log in through the client obtain tokens for the API
// with at most these scopes, when its user policy is require_client_grant.
func (s *Service) CreateGrantFor(ctx context.Context, subjectType, clientID, audience string, scopes []string) (storage.Grant, error) {
	if subjectType == "" {
		subjectType = storage.SubjectClient
	}
	if subjectType != storage.SubjectClient && subjectType != storage.SubjectUser {
		return storage.Grant{}, invalid("subject type %q must be %s or %s", subjectType, storage.SubjectClient, storage.SubjectUser)
	}
	if _, err := s.GetClient(ctx, clientID); err != nil {
		return storage.Grant{}, err
	}
	api, err := s.GetAPI(ctx, audience)
	if err != nil {
		return storage.Grant{}, err
	}
	out, err := grantable(api, scopes)
	if err != nil {
		return storage.Grant{}, err
	}
	id, err := secret.ID(s.rand(), "cgr_", 16)
	if err != nil {
		return storage.Grant{}, err
	}
	g := storage.Grant{ID: id, ClientID: clientID, Audience: audience, Scope: out, SubjectType: subjectType, CreatedAt: s.now()}
	if err := s.Store.CreateGrant(ctx, g); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return storage.Grant{}, describe(err, "client %q already has a grant for %q (subject type %s)", clientID, audience, subjectType)
		}
		return storage.Grant{}, fmt.Errorf("create grant: %w", err)
	}
	s.record(ctx, storage.AuditGrantCreated, clientID, map[string]string{"grant_id": g.ID, "audience": audience, "scope": joinScopes(g.Scope), "subject_type": subjectType})
	return g, nil
}

// grantable returns scopes without repeats, each of which api must define.
func grantable(api storage.API, scopes []string) ([]string, error) {
	defined := map[string]bool{}
	for _, sc := range api.Scopes {
		defined[sc.Value] = true
	}
	out := []string{}
	var unknown []string
	for _, sc := range scopes {
		switch {
		case !defined[sc]:
			unknown = append(unknown, sc)
		case !slices.Contains(out, sc):
			out = append(out, sc)
		}
	}
	if len(unknown) > 0 {
		return nil, invalid("API %q does not define scope %s", api.Identifier, strings.Join(quoteAll(unknown), ", "))
	}
	return out, nil
}

// UpdateGrant replaces a grant's scopes, each of which its API must define,
// and returns the grant as stored.
func (s *Service) UpdateGrant(ctx context.Context, id string, scopes []string) (storage.Grant, error) {
	g, err := s.Store.GetGrant(ctx, id)
	if err != nil {
		return storage.Grant{}, notFound(err, "grant", id)
	}
	api, err := s.GetAPI(ctx, g.Audience)
	if err != nil {
		return storage.Grant{}, err
	}
	if g.Scope, err = grantable(api, scopes); err != nil {
		return storage.Grant{}, err
	}
	if err := s.Store.UpdateGrant(ctx, id, g.Scope); err != nil {
		return storage.Grant{}, notFound(err, "grant", id)
	}
	s.record(ctx, storage.AuditGrantUpdated, g.ClientID, map[string]string{"grant_id": id, "audience": g.Audience, "scope": joinScopes(g.Scope)})
	return g, nil
}

// DeleteGrant deletes a grant.
func (s *Service) DeleteGrant(ctx context.Context, id string) error {
	target, details := id, map[string]string{"grant_id": id}
	if s.Audit != nil { // name the client in the event, not only the grant
		if g, err := s.Store.GetGrant(ctx, id); err == nil {
			target, details["audience"] = g.ClientID, g.Audience
		}
	}
	if err := s.Store.DeleteGrant(ctx, id); err != nil {
		return notFound(err, "grant", id)
	}
	s.record(ctx, storage.AuditGrantDeleted, target, details)
	return nil
}

func quoteAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
