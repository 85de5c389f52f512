package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/access"
	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// The --json shapes of docs/reference/cli.md: each object under its own field names,
// times in RFC 3339 UTC, durations in seconds.

type apiView struct {
	Identifier    string          `json:"identifier"`
	Name          string          `json:"name"`
	Scopes        []storage.Scope `json:"scopes"`
	TokenLifetime int64           `json:"token_lifetime"`
	SigningAlg    string          `json:"signing_alg"`
	TokenDialect  string          `json:"token_dialect"`
	CreatedAt     *string         `json:"created_at"`
	// AllowOfflineAccess is shown when on (login flow refresh tokens).
	AllowOfflineAccess bool `json:"allow_offline_access,omitempty"`
	// TokenReuse is shown when on.
	TokenReuse bool `json:"token_reuse,omitempty"`
	// UserAccess and ClientAccess are the access policies (Auth0's
	// subject_type_authorization); EnforcePolicies is shown when on.
	UserAccess      string `json:"user_access"`
	ClientAccess    string `json:"client_access"`
	EnforcePolicies bool   `json:"enforce_policies,omitempty"`
	// ProofOfPossession is shown when set.
	ProofOfPossession *popView `json:"proof_of_possession,omitempty"`
}

func viewAPI(a storage.API) apiView {
	scopes := a.Scopes
	if scopes == nil {
		scopes = []storage.Scope{}
	}
	return apiView{a.Identifier, a.Name, scopes, int64(a.TokenLifetime / time.Second), a.SigningAlg, a.TokenDialect, ts(a.CreatedAt), a.AllowOfflineAccess, a.TokenReuse,
		access.UserPolicy(&a), access.ClientPolicy(&a), a.EnforcePolicies, viewPoP(a.ProofOfPossession)}
}

type clientView struct {
	ClientID     string   `json:"client_id"`
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	GrantTypes   []string `json:"grant_types"`
	Disabled     bool     `json:"disabled"`
	CreatedAt    *string  `json:"created_at"`
	ClientSecret string   `json:"client_secret,omitempty"`
	// The login settings, shown for login clients only.
	AppType           string   `json:"app_type,omitempty"`
	RedirectURIs      []string `json:"redirect_uris,omitempty"`
	AllowedLogoutURLs []string `json:"allowed_logout_urls,omitempty"`
	WebOrigins        []string `json:"web_origins,omitempty"`
	FirstParty        bool     `json:"first_party,omitempty"`
	// How it authenticates: its method, and for private_key_jwt the IDs of
	// the credentials in use or its jwks_uri.
	AuthMethod  string   `json:"auth_method"`
	Credentials []string `json:"credentials,omitempty"`
	JWKSURI     string   `json:"jwks_uri,omitempty"`
	// RequireProofOfPossession is shown when on.
	RequireProofOfPossession bool `json:"require_proof_of_possession,omitempty"`
	// Federated are the federated credentials, shown by client show.
	Federated []federatedView `json:"federated_credentials,omitempty"`
}

func viewClient(c storage.Client) clientView {
	gt := c.GrantTypes
	if gt == nil {
		gt = []string{}
	}
	v := clientView{ClientID: c.ClientID, Name: c.Name, Description: c.Description, GrantTypes: gt, Disabled: c.Disabled, CreatedAt: ts(c.CreatedAt),
		AuthMethod: c.TokenEndpointAuthMethod, JWKSURI: c.JWKSURI, RequireProofOfPossession: c.RequireProofOfPossession}
	if v.AuthMethod == "" {
		v.AuthMethod = storage.AuthMethodClientSecretPost
	}
	if !c.AuthMethods.IsZero() {
		v.AuthMethod = storage.AuthMethodPrivateKeyJWT
		if len(c.AuthMethods.PrivateKeyJWT) == 0 {
			v.AuthMethod = "mutual TLS"
		}
		v.Credentials = slices.Concat(c.AuthMethods.PrivateKeyJWT, c.AuthMethods.TLSClientAuth, c.AuthMethods.SelfSignedTLSClientAuth)
	}
	if admin.IsLogin(c.AppType) {
		v.AppType, v.RedirectURIs, v.AllowedLogoutURLs, v.FirstParty = c.AppType, c.RedirectURIs, c.AllowedLogoutURLs, c.FirstParty
		v.WebOrigins = c.WebOrigins
	}
	return v
}

type secretView struct {
	ID           string  `json:"id"`
	Hint         string  `json:"hint"`
	CreatedAt    *string `json:"created_at"`
	NotBefore    *string `json:"not_before"`
	ExpiresAt    *string `json:"expires_at"`
	LastUsedAt   *string `json:"last_used_at"`
	ClientSecret string  `json:"client_secret,omitempty"`
}

func viewSecret(s storage.Secret) secretView {
	return secretView{ID: s.ID, Hint: s.Hint, CreatedAt: ts(s.CreatedAt), NotBefore: ts(s.NotBefore), ExpiresAt: ts(s.ExpiresAt), LastUsedAt: ts(s.LastUsedAt)}
}

func viewNewSecret(s admin.NewSecret) secretView {
	v := viewSecret(s.Secret)
	v.ClientSecret = s.Plain
	return v
}

type grantView struct {
	ID          string   `json:"id"`
	ClientID    string   `json:"client_id"`
	Audience    string   `json:"audience"`
	Scope       []string `json:"scope"`
	SubjectType string   `json:"subject_type"`
}

func viewGrant(g storage.Grant) grantView {
	sc := g.Scope
	if sc == nil {
		sc = []string{}
	}
	st := g.SubjectType
	if st == "" {
		st = storage.SubjectClient
	}
	return grantView{g.ID, g.ClientID, g.Audience, sc, st}
}

type keyView struct {
	KID       string  `json:"kid"`
	Alg       string  `json:"alg"`
	State     string  `json:"state"`
	CreatedAt *string `json:"created_at"`
}

func viewKey(k storage.SigningKey, now time.Time) keyView {
	return keyView{k.KID, k.Alg, admin.KeyState(k, now), ts(k.CreatedAt)}
}

// ts is a time as the views show it: admin.Timestamp.
func ts(t time.Time) *string { return admin.Timestamp(t) }

func orDash(p *string) string {
	if p == nil {
		return "-"
	}
	return *p
}

// printer writes either JSON or a table.
type printer struct {
	out  io.Writer
	json bool
}

func (p printer) print(v any, header []string, rows [][]string) error {
	if p.json {
		enc := json.NewEncoder(p.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(p.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// printList prints items as a table of rows, or as a JSON array of views.
func printList[T, V any](p printer, items []T, view func(T) V, row func(V) []string, header []string) error {
	views := make([]V, len(items))
	rows := make([][]string, len(items))
	for i, it := range items {
		views[i] = view(it)
		rows[i] = row(views[i])
	}
	return p.print(views, header, rows)
}

// fields prints one object as "name: value" lines (or JSON).
func (p printer) fields(v any, pairs ...[2]string) error {
	if p.json {
		return p.print(v, nil, nil)
	}
	tw := tabwriter.NewWriter(p.out, 0, 4, 2, ' ', 0)
	for _, kv := range pairs {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	return tw.Flush()
}

func apiRow(a apiView) []string {
	scopes := make([]string, len(a.Scopes))
	for i, s := range a.Scopes {
		scopes[i] = s.Value
	}
	return []string{a.Identifier, a.Name, strings.Join(scopes, " "), fmt.Sprint(a.TokenLifetime), a.SigningAlg, a.TokenDialect, orDash(a.CreatedAt)}
}

var apiHeader = []string{"IDENTIFIER", "NAME", "SCOPES", "TOKEN_LIFETIME", "SIGNING_ALG", "TOKEN_DIALECT", "CREATED_AT"}

func clientRow(c clientView) []string {
	return []string{c.ClientID, c.Name, strings.Join(c.GrantTypes, " "), fmt.Sprint(c.Disabled), orDash(c.CreatedAt)}
}

var clientHeader = []string{"CLIENT_ID", "NAME", "GRANT_TYPES", "DISABLED", "CREATED_AT"}

func secretRow(s secretView) []string {
	return []string{s.ID, s.Hint, orDash(s.CreatedAt), orDash(s.NotBefore), orDash(s.ExpiresAt), orDash(s.LastUsedAt)}
}

var secretHeader = []string{"ID", "HINT", "CREATED_AT", "NOT_BEFORE", "EXPIRES_AT", "LAST_USED_AT"}

func grantRow(g grantView) []string {
	return []string{g.ID, g.ClientID, g.Audience, strings.Join(g.Scope, " "), g.SubjectType}
}

var grantHeader = []string{"ID", "CLIENT_ID", "AUDIENCE", "SCOPE", "SUBJECT_TYPE"}

func keyRow(k keyView) []string { return []string{k.KID, k.Alg, k.State, orDash(k.CreatedAt)} }

var keyHeader = []string{"KID", "ALG", "STATE", "CREATED_AT"}
