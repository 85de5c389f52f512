package mgmt

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/access"
	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// The wire shapes: Auth0's field names and values, times in RFC 3339 UTC
// (null when unset), durations in seconds.

// Auth0's token_dialect values and the dialects they are here.
var (
	dialectToAuth0 = map[string]string{
		storage.DialectAuth0: "access_token", storage.DialectRFC9068: "rfc9068_profile",
		storage.DialectAuth0Authz: "access_token_authz", storage.DialectRFC9068Authz: "rfc9068_profile_authz",
	}
	dialectFromWire = map[string]string{
		"access_token": storage.DialectAuth0, "rfc9068_profile": storage.DialectRFC9068,
		"access_token_authz": storage.DialectAuth0Authz, "rfc9068_profile_authz": storage.DialectRFC9068Authz,
	}
)

// SubjectTypeAuthorization is Auth0's subject_type_authorization of a
// resource server: its access policy for people's tokens and for
// clients' own.
type SubjectTypeAuthorization struct {
	User   *SubjectPolicy `json:"user,omitempty"`
	Client *SubjectPolicy `json:"client,omitempty"`
}

// SubjectPolicy is one policy of SubjectTypeAuthorization.
type SubjectPolicy struct {
	Policy string `json:"policy"`
}

// ResourceServer is an API in Auth0's shape.
type ResourceServer struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Identifier    string          `json:"identifier"`
	Scopes        []storage.Scope `json:"scopes"`
	SigningAlg    string          `json:"signing_alg"`
	TokenLifetime int64           `json:"token_lifetime"`
	TokenDialect  string          `json:"token_dialect"`
	// AllowOfflineAccess: users' logins for the API may get refresh tokens.
	AllowOfflineAccess bool `json:"allow_offline_access"`
	// TokenReuse (gatehouse's): a client asking again gets the token it
	// was already issued while over half its lifetime remains.
	TokenReuse bool `json:"token_reuse"`
	// EnforcePolicies (Auth0's RBAC): people's tokens carry only the
	// permissions they hold.
	EnforcePolicies          bool                     `json:"enforce_policies"`
	SubjectTypeAuthorization SubjectTypeAuthorization `json:"subject_type_authorization"`
	IsSystem                 bool                     `json:"is_system"`
	// TokenLifetimeForWeb is Auth0's lifetime of tokens issued to browsers
	// by the implicit flow, which gatehouse does not have: kept and shown,
	// token_lifetime when unset.
	TokenLifetimeForWeb int64 `json:"token_lifetime_for_web"`
	// The Auth0 settings gatehouse behaves as (schema.go's apiFixed).
	SkipConsentForVerifiableFirstPartyClients bool `json:"skip_consent_for_verifiable_first_party_clients"`
	// CreatedAt is gatehouse's, shown with gatehouse_times=true only.
	CreatedAt *string `json:"created_at,omitempty"`
}

func (ResourceServer) gatehouseFields() []string { return []string{"created_at"} }

// ResourceServerID is the id of the API with that identifier: stable, as
// the identifier is immutable, and made of 24 hex digits like Auth0's.
func ResourceServerID(identifier string) string {
	sum := sha256.Sum256([]byte(identifier))
	return hex.EncodeToString(sum[:12])
}

func (h *Handler) viewAPI(a storage.API) ResourceServer {
	scopes := a.Scopes
	if scopes == nil {
		scopes = []storage.Scope{}
	}
	v := apiBase // the fixed fields
	v.ID, v.Name, v.Identifier, v.Scopes = ResourceServerID(a.Identifier), a.Name, a.Identifier, scopes
	v.SigningAlg, v.TokenLifetime, v.TokenDialect = a.SigningAlg, int64(a.TokenLifetime/time.Second), dialectToAuth0[a.TokenDialect]
	v.AllowOfflineAccess, v.TokenReuse, v.IsSystem, v.CreatedAt = a.AllowOfflineAccess, a.TokenReuse, a.Identifier == h.audience, ts(a.CreatedAt)
	v.EnforcePolicies = a.EnforcePolicies
	v.SubjectTypeAuthorization = SubjectTypeAuthorization{
		User: &SubjectPolicy{access.UserPolicy(&a)}, Client: &SubjectPolicy{access.ClientPolicy(&a)},
	}
	v.TokenLifetimeForWeb = v.TokenLifetime // unset: every token lasts token_lifetime
	if web := a.Extras.TokenLifetimeForWeb; web > 0 {
		v.TokenLifetimeForWeb = int64(web / time.Second)
	}
	return v
}

// Client is a client in Auth0's shape, plus gatehouse's disabled and, with
// gatehouse_times=true only, its times. ClientSecret is set only in the
// answers that create a secret.
type Client struct {
	ClientID    string   `json:"client_id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	AppType     string   `json:"app_type"`
	GrantTypes  []string `json:"grant_types"`
	// TokenEndpointAuthMethod is null when client_authentication_methods
	// is set, as in Auth0 (the two exclude each other).
	TokenEndpointAuthMethod *string           `json:"token_endpoint_auth_method"`
	ClientMetadata          map[string]string `json:"client_metadata"`
	IsFirstParty            bool              `json:"is_first_party"`
	Callbacks               []string          `json:"callbacks"`
	AllowedLogoutURLs       []string          `json:"allowed_logout_urls"`
	WebOrigins              []string          `json:"web_origins"`
	AllowedOrigins          []string          `json:"allowed_origins"` // the same list as web_origins
	Disabled                bool              `json:"disabled"`
	// Auth0's settings kept and shown, not acted on (storage.ClientExtras).
	LogoURI        string   `json:"logo_uri,omitempty"`
	ClientAliases  []string `json:"client_aliases"`
	AllowedClients []string `json:"allowed_clients"`
	// The Auth0 settings gatehouse behaves as (Handler.clientFixed).
	OIDCConformant                 bool           `json:"oidc_conformant"`
	JWTConfiguration               map[string]any `json:"jwt_configuration"`
	CrossOriginAuthentication      bool           `json:"cross_origin_authentication"`
	SSODisabled                    bool           `json:"sso_disabled"`
	CustomLoginPageOn              bool           `json:"custom_login_page_on"`
	RefreshToken                   map[string]any `json:"refresh_token"`
	IsTokenEndpointIPHeaderTrusted bool           `json:"is_token_endpoint_ip_header_trusted"`
	OrganizationUsage              string         `json:"organization_usage"`
	// ClientAuthenticationMethods names the credentials the client
	// authenticates with (Auth0's), null for a client of secrets.
	ClientAuthenticationMethods map[string]any `json:"client_authentication_methods"`
	// JWKSURI is where the client publishes its private_key_jwt keys: a
	// gatehouse extension of Auth0's client (RFC 7591 §2 jwks_uri).
	JWKSURI      string  `json:"jwks_uri,omitempty"`
	CreatedAt    *string `json:"created_at,omitempty"`
	UpdatedAt    *string `json:"updated_at,omitempty"`
	ClientSecret string  `json:"client_secret,omitempty"`
}

func (Client) gatehouseFields() []string { return []string{"created_at", "updated_at"} }

func (h *Handler) viewClient(c storage.Client) Client {
	gt := c.GrantTypes
	if gt == nil {
		gt = []string{}
	}
	md := c.Metadata
	if md == nil {
		md = map[string]string{}
	}
	method := c.TokenEndpointAuthMethod
	if method == "" {
		method = storage.AuthMethodClientSecretPost
	}
	v := h.clientBase // the fixed fields
	v.ClientID, v.Name, v.Description, v.AppType, v.GrantTypes = c.ClientID, c.Name, c.Description, c.AppType, gt
	v.TokenEndpointAuthMethod, v.ClientMetadata, v.Disabled = &method, md, c.Disabled
	v.ClientAuthenticationMethods, v.JWKSURI = viewAuthMethods(c.AuthMethods), c.JWKSURI
	if v.ClientAuthenticationMethods != nil {
		v.TokenEndpointAuthMethod = nil
	}
	v.IsFirstParty = c.FirstParty // a login client's, which acts on its consent page
	if !admin.IsLogin(c.AppType) {
		v.IsFirstParty = !c.Extras.ThirdParty
	}
	v.LogoURI, v.ClientAliases, v.AllowedClients = c.Extras.LogoURI, orEmpty(c.Extras.ClientAliases), orEmpty(c.Extras.AllowedClients)
	v.Callbacks, v.AllowedLogoutURLs = orEmpty(c.RedirectURIs), orEmpty(c.AllowedLogoutURLs)
	v.WebOrigins, v.AllowedOrigins = orEmpty(c.WebOrigins), orEmpty(c.WebOrigins)
	v.CreatedAt, v.UpdatedAt = ts(c.CreatedAt), ts(c.UpdatedAt)
	return v
}

// ClientGrant is a grant in Auth0's shape.
type ClientGrant struct {
	ID       string   `json:"id"`
	ClientID string   `json:"client_id"`
	Audience string   `json:"audience"`
	Scope    []string `json:"scope"`
	// SubjectType is Auth0's: "client" for the client's own tokens, "user"
	// for those of the people who log in through it.
	SubjectType string `json:"subject_type"`
	// The Auth0 settings gatehouse behaves as (schema.go's grantFixed).
	AllowAnyOrganization bool   `json:"allow_any_organization"`
	OrganizationUsage    string `json:"organization_usage"`
}

func viewGrant(g storage.Grant) ClientGrant {
	sc := g.Scope
	if sc == nil {
		sc = []string{}
	}
	st := g.SubjectType
	if st == "" {
		st = storage.SubjectClient
	}
	v := grantBase // the fixed fields
	v.ID, v.ClientID, v.Audience, v.Scope, v.SubjectType = g.ID, g.ClientID, g.Audience, sc, st
	return v
}

// Secret is one of a client's secrets (docs/reference/cli.md's shape); ClientSecret is
// set only when it is created.
type Secret struct {
	ID           string  `json:"id"`
	ClientID     string  `json:"client_id"`
	Hint         string  `json:"hint"`
	CreatedAt    *string `json:"created_at"`
	NotBefore    *string `json:"not_before"`
	ExpiresAt    *string `json:"expires_at"`
	LastUsedAt   *string `json:"last_used_at"`
	ClientSecret string  `json:"client_secret,omitempty"`
}

func viewSecret(s storage.Secret) Secret {
	return Secret{ID: s.ID, ClientID: s.ClientID, Hint: s.Hint, CreatedAt: ts(s.CreatedAt), NotBefore: ts(s.NotBefore),
		ExpiresAt: ts(s.ExpiresAt), LastUsedAt: ts(s.LastUsedAt)}
}

func viewNewSecret(s admin.NewSecret) Secret {
	v := viewSecret(s.Secret)
	v.ClientSecret = s.Plain
	return v
}

// SigningKey is a signing key (docs/reference/cli.md's shape): never private material.
type SigningKey struct {
	KID       string  `json:"kid"`
	Alg       string  `json:"alg"`
	State     string  `json:"state"`
	CreatedAt *string `json:"created_at"`
}

func viewKey(k storage.SigningKey, now time.Time) SigningKey {
	return SigningKey{KID: k.KID, Alg: k.Alg, State: admin.KeyState(k, now), CreatedAt: ts(k.CreatedAt)}
}

// The fixed fields of each shape, as responses carry them.
var (
	apiBase   = echoed[ResourceServer](apiFixed)
	grantBase = echoed[ClientGrant](grantFixed)
)

// echoed is a V whose fields are the values of the fixed fields that
// responses carry.
func echoed[V any](fields []fixedField) V {
	m := map[string]any{}
	for _, f := range fields {
		if f.echo {
			m[f.name] = f.value
		}
	}
	var v V
	b, _ := json.Marshal(m)
	if err := json.Unmarshal(b, &v); err != nil {
		panic("mgmt: a fixed field does not fit its view: " + err.Error())
	}
	return v
}

// ts is a time as the wire shapes show it: admin.Timestamp.
func ts(t time.Time) *string { return admin.Timestamp(t) }

func mapAll[T, V any](items []T, f func(T) V) []V {
	out := make([]V, len(items))
	for i, it := range items {
		out[i] = f(it)
	}
	return out
}

// orEmpty is list, or an empty list for nil (Auth0 sends [] rather than null).
func orEmpty(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
