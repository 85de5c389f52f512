package mgmt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Remote performs the admin service's operations through a server's
// management API, with a token of an admin client (client_credentials,
// RFC 6749 §4.4). The command line uses it for --server. Its errors match
// the storage and admin sentinels (ErrNotFound, ErrAlreadyExists,
// admin.ErrInvalid) as the local ones do, and say the server's message.
type Remote struct {
	base string // the server URL without a trailing slash
	hc   *http.Client
	now  func() time.Time
}

// RemoteConfig configures Dial.
type RemoteConfig struct {
	// Server is the server's base URL: https, or http to a loopback host.
	Server                 string
	ClientID, ClientSecret string
	// HTTPClient makes the requests (default: a 30 s timeout).
	HTTPClient *http.Client
	Now        func() time.Time
}

// Dial reads the server's metadata (RFC 8414) for its issuer, whose
// management API audience the token is asked for, and returns a Remote.
// Requests go to Server, which may differ from the issuer (an internal
// address of a server whose issuer is its public URL).
func Dial(ctx context.Context, cfg RemoteConfig) (*Remote, error) {
	u, err := url.Parse(cfg.Server)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("--server %q must be an absolute http(s) URL", cfg.Server)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, fmt.Errorf("--server %q: plain http would send the admin credentials in the clear; use https (http only to a loopback address)", cfg.Server)
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("--server needs admin client credentials: set GATEHOUSE_CLIENT_ID and GATEHOUSE_CLIENT_SECRET, or --credentials FILE (the JSON that gatehouse init --json prints)")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	base := strings.TrimRight(cfg.Server, "/")
	var meta struct {
		Issuer string `json:"issuer"`
	}
	if err := getJSON(ctx, hc, base+"/.well-known/oauth-authorization-server", &meta); err != nil {
		return nil, fmt.Errorf("read the metadata of %s: %w", base, err)
	}
	if meta.Issuer == "" {
		return nil, fmt.Errorf("the metadata of %s has no issuer", base)
	}
	cc := clientcredentials.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: base + "/oauth/token",
		EndpointParams: url.Values{"audience": {Audience(meta.Issuer)}}, AuthStyle: oauth2.AuthStyleInParams,
	}
	tctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, hc)
	return &Remote{base: base, hc: &http.Client{Timeout: hc.Timeout, Transport: &oauth2.Transport{Source: cc.TokenSource(tctx), Base: hc.Transport}}, now: cfg.Now}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func getJSON(ctx context.Context, hc *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

// RemoteError is an error answer of the management API.
type RemoteError struct {
	Status  int
	Code    string
	Message string
}

func (e *RemoteError) Error() string {
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Sprintf("the management API refused the request (%d %s): %s", e.Status, e.Code, e.Message)
	case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict:
		return e.Message
	}
	if e.unavailable() {
		return "the database is unreachable (the management API answered 503); try again later"
	}
	return fmt.Sprintf("the management API answered %d: %s", e.Status, e.Message)
}

// unavailable reports whether the server answered that its database is
// unreachable.
func (e *RemoteError) unavailable() bool {
	return e.Status == http.StatusServiceUnavailable && e.Code == CodeUnavailable
}

// remoteInvalid is input refused before it is sent, as the server would.
func remoteInvalid(msg string) error {
	return &RemoteError{Status: http.StatusBadRequest, Code: CodeInvalidBody, Message: msg}
}

// Unwrap maps the answer to the sentinel a local call would return.
func (e *RemoteError) Unwrap() error {
	switch e.Status {
	case http.StatusNotFound:
		return storage.ErrNotFound
	case http.StatusConflict:
		return storage.ErrAlreadyExists
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return admin.ErrInvalid
	}
	if e.unavailable() {
		return storage.ErrUnavailable
	}
	return nil
}

// do sends one request; body, if not nil, is sent as JSON; out, if not
// nil, receives the answer.
func (m *Remote) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	// The command line shows created_at and updated_at, which the
	// Auth0-shaped answers carry only when asked.
	q := url.Values{ParamTimes: {"true"}}
	for k, v := range query {
		q[k] = v
	}
	u := m.base + path + "?" + q.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := m.hc.Do(req)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return fmt.Errorf("get a management API token from %s: %s %s", m.base, re.ErrorCode, re.ErrorDescription)
		}
		return fmt.Errorf("%s %s: %w", method, m.base+path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, m.base+path, err)
	}
	if resp.StatusCode >= 300 {
		var eb errorBody
		if json.Unmarshal(data, &eb) != nil || eb.Message == "" {
			eb.Message = strings.TrimSpace(http.StatusText(resp.StatusCode))
		}
		return &RemoteError{Status: resp.StatusCode, Code: eb.ErrorCode, Message: eb.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not what the management API sends: %w", method, m.base+path, err)
	}
	return nil
}

// all reads every page of a listing.
func all[V any](ctx context.Context, m *Remote, path string, query url.Values) ([]V, error) {
	var out []V
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("per_page", strconv.Itoa(MaxPerPage))
	for page := 0; ; page++ {
		q.Set("page", strconv.Itoa(page))
		var items []V
		if err := m.do(ctx, http.MethodGet, path, q, nil, &items); err != nil {
			return nil, err
		}
		out = append(out, items...)
		if len(items) < MaxPerPage {
			return out, nil
		}
	}
}

func parseTS(s *string) time.Time {
	if s == nil {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339, *s)
	return t
}

func (v ResourceServer) api() storage.API {
	return storage.API{Identifier: v.Identifier, Name: v.Name, Scopes: v.Scopes, TokenLifetime: time.Duration(v.TokenLifetime) * time.Second,
		SigningAlg: v.SigningAlg, TokenDialect: dialectFromWire[v.TokenDialect], AllowOfflineAccess: v.AllowOfflineAccess,
		TokenReuse: v.TokenReuse, EnforcePolicies: v.EnforcePolicies, UserPolicy: v.SubjectTypeAuthorization.User.policy(),
		ClientPolicy: v.SubjectTypeAuthorization.Client.policy(), CreatedAt: parseTS(v.CreatedAt)}
}

// policy is the policy, or "" for none.
func (p *SubjectPolicy) policy() string {
	if p == nil {
		return ""
	}
	return p.Policy
}

// remoteDialect is Auth0's name of a dialect, or the local refusal.
func remoteDialect(d string) (string, error) {
	w, ok := dialectToAuth0[d]
	if !ok {
		return "", remoteInvalid(fmt.Sprintf("token dialect %q must be one of %s", d, strings.Join(storage.Dialects, ", ")))
	}
	return w, nil
}

// policies is the subject_type_authorization of a create or a patch, nil
// when it changes neither policy.
func policies(user, client string) map[string]any {
	sta := map[string]any{}
	if user != "" {
		sta["user"] = map[string]string{"policy": user}
	}
	if client != "" {
		sta["client"] = map[string]string{"policy": client}
	}
	if len(sta) == 0 {
		return nil
	}
	return sta
}

func (v Client) client() storage.Client {
	md := v.ClientMetadata
	if len(md) == 0 {
		md = nil
	}
	c := storage.Client{ClientID: v.ClientID, Name: v.Name, Description: v.Description, AppType: v.AppType, GrantTypes: v.GrantTypes,
		Metadata: md, Disabled: v.Disabled, JWKSURI: v.JWKSURI,
		CreatedAt: parseTS(v.CreatedAt), UpdatedAt: parseTS(v.UpdatedAt)}
	if v.TokenEndpointAuthMethod != nil {
		c.TokenEndpointAuthMethod = *v.TokenEndpointAuthMethod
	}
	c.AuthMethods = remoteAuthMethods(v.ClientAuthenticationMethods)
	if admin.IsLogin(v.AppType) {
		c.RedirectURIs, c.AllowedLogoutURLs, c.FirstParty = nilIfEmpty(v.Callbacks), nilIfEmpty(v.AllowedLogoutURLs), v.IsFirstParty
		c.WebOrigins = nilIfEmpty(v.WebOrigins)
	}
	return c
}

// remoteAuthMethods reads back viewAuthMethods' shape.
func remoteAuthMethods(v map[string]any) storage.ClientAuthMethods {
	var m storage.ClientAuthMethods
	b, _ := json.Marshal(v)
	var body authMethodsBody
	if json.Unmarshal(b, &body) != nil {
		return m
	}
	for _, x := range []struct {
		refs *credentialRefs
		typ  string
	}{{body.PrivateKeyJWT, storage.CredentialPublicKey}, {body.TLSClientAuth, storage.CredentialCertSubjectDN},
		{body.SelfSignedTLSClientAuth, storage.CredentialX509Cert}} {
		if x.refs == nil {
			continue
		}
		for _, c := range x.refs.Credentials {
			*m.For(x.typ) = append(*m.For(x.typ), c.ID)
		}
	}
	return m
}

func nilIfEmpty(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	return list
}

func (v Secret) secret() storage.Secret {
	return storage.Secret{ID: v.ID, ClientID: v.ClientID, Hint: v.Hint, CreatedAt: parseTS(v.CreatedAt), NotBefore: parseTS(v.NotBefore),
		ExpiresAt: parseTS(v.ExpiresAt), LastUsedAt: parseTS(v.LastUsedAt)}
}

func (v ClientGrant) grant() storage.Grant {
	return storage.Grant{ID: v.ID, ClientID: v.ClientID, Audience: v.Audience, Scope: v.Scope, SubjectType: v.SubjectType}
}

func (v SigningKey) key() storage.SigningKey {
	return storage.SigningKey{KID: v.KID, Alg: v.Alg, State: v.State, CreatedAt: parseTS(v.CreatedAt)}
}

func convert[V, T any](items []V, err error, f func(V) T) ([]T, error) {
	if err != nil {
		return nil, err
	}
	return mapAll(items, f), nil
}

// CreateAPI creates an API; zero fields take the server's defaults.
func (m *Remote) CreateAPI(ctx context.Context, in admin.APIInput) (storage.API, error) {
	body := map[string]any{"identifier": in.Identifier}
	if in.Name != "" {
		body["name"] = in.Name
	}
	if in.Scopes != nil {
		body["scopes"] = in.Scopes
	}
	if in.TokenLifetime != 0 {
		if in.TokenLifetime%time.Second != 0 || in.TokenLifetime < 0 {
			return storage.API{}, remoteInvalid(fmt.Sprintf("token lifetime %s must be whole seconds from 1s to 720h (30 days)", in.TokenLifetime))
		}
		body["token_lifetime"] = int64(in.TokenLifetime / time.Second)
	}
	if in.SigningAlg != "" {
		body["signing_alg"] = in.SigningAlg
	}
	// The command line's default dialect is RFC 9068's, the management
	// API's Auth0's: say it.
	d, err := remoteDialect(cmp.Or(in.TokenDialect, storage.DialectRFC9068))
	if err != nil {
		return storage.API{}, err
	}
	body["token_dialect"] = d
	if in.AllowOfflineAccess {
		body["allow_offline_access"] = true
	}
	if in.TokenReuse {
		body["token_reuse"] = true
	}
	if in.EnforcePolicies {
		body["enforce_policies"] = true
	}
	if sta := policies(in.UserPolicy, in.ClientPolicy); sta != nil {
		body["subject_type_authorization"] = sta
	}
	var v ResourceServer
	if err := m.do(ctx, http.MethodPost, "/api/v2/resource-servers", nil, body, &v); err != nil {
		return storage.API{}, err
	}
	return v.api(), nil
}

// GetAPI returns an API.
func (m *Remote) GetAPI(ctx context.Context, identifier string) (storage.API, error) {
	var v ResourceServer
	if err := m.do(ctx, http.MethodGet, "/api/v2/resource-servers/"+url.PathEscape(identifier), nil, nil, &v); err != nil {
		return storage.API{}, err
	}
	return v.api(), nil
}

// ListAPIs lists every API.
func (m *Remote) ListAPIs(ctx context.Context) ([]storage.API, error) {
	l, err := all[ResourceServer](ctx, m, "/api/v2/resource-servers", nil)
	return convert(l, err, ResourceServer.api)
}

// UpdateAPI changes an API.
func (m *Remote) UpdateAPI(ctx context.Context, identifier string, p admin.APIPatch) (storage.API, error) {
	body := map[string]any{}
	if p.Name != nil {
		body["name"] = *p.Name
	}
	if p.Scopes != nil {
		scopes := *p.Scopes
		if scopes == nil {
			scopes = []storage.Scope{}
		}
		body["scopes"] = scopes
	}
	if p.TokenLifetime != nil {
		if *p.TokenLifetime%time.Second != 0 || *p.TokenLifetime <= 0 {
			return storage.API{}, remoteInvalid(fmt.Sprintf("token lifetime %s must be whole seconds from 1s to 720h (30 days)", *p.TokenLifetime))
		}
		body["token_lifetime"] = int64(*p.TokenLifetime / time.Second)
	}
	if p.SigningAlg != nil {
		body["signing_alg"] = *p.SigningAlg
	}
	if p.TokenDialect != nil {
		d, err := remoteDialect(*p.TokenDialect)
		if err != nil {
			return storage.API{}, err
		}
		body["token_dialect"] = d
	}
	if p.AllowOfflineAccess != nil {
		body["allow_offline_access"] = *p.AllowOfflineAccess
	}
	if p.TokenReuse != nil {
		body["token_reuse"] = *p.TokenReuse
	}
	if p.EnforcePolicies != nil {
		body["enforce_policies"] = *p.EnforcePolicies
	}
	var user, client string
	if p.UserPolicy != nil {
		user = *p.UserPolicy
	}
	if p.ClientPolicy != nil {
		client = *p.ClientPolicy
	}
	if sta := policies(user, client); sta != nil {
		body["subject_type_authorization"] = sta
	}
	var v ResourceServer
	if err := m.do(ctx, http.MethodPatch, "/api/v2/resource-servers/"+url.PathEscape(identifier), nil, body, &v); err != nil {
		return storage.API{}, err
	}
	return v.api(), nil
}

// DeleteAPI deletes an API; like the local one it fails for a missing API.
func (m *Remote) DeleteAPI(ctx context.Context, identifier string) error {
	if _, err := m.GetAPI(ctx, identifier); err != nil {
		return err
	}
	return m.do(ctx, http.MethodDelete, "/api/v2/resource-servers/"+url.PathEscape(identifier), nil, nil, nil)
}

// CreateClient creates a client; the secret's record holds only the plain
// value.
func (m *Remote) CreateClient(ctx context.Context, in admin.ClientInput) (storage.Client, admin.NewSecret, error) {
	body := map[string]any{"name": in.Name, "description": in.Description}
	if in.Metadata != nil {
		body["client_metadata"] = in.Metadata
	}
	if in.TokenEndpointAuthMethod != "" {
		body["token_endpoint_auth_method"] = in.TokenEndpointAuthMethod
	}
	var v Client
	if err := m.do(ctx, http.MethodPost, "/api/v2/clients", nil, body, &v); err != nil {
		return storage.Client{}, admin.NewSecret{}, err
	}
	return v.client(), admin.NewSecret{Plain: v.ClientSecret}, nil
}

// CreateLoginClient creates a regular_web, spa or native client.
func (m *Remote) CreateLoginClient(ctx context.Context, in admin.LoginClientInput) (storage.Client, admin.NewSecret, error) {
	body := map[string]any{"name": in.Name, "description": in.Description, "app_type": in.AppType,
		"callbacks": orEmpty(in.RedirectURIs), "allowed_logout_urls": orEmpty(in.LogoutURLs), "is_first_party": in.FirstParty,
		"web_origins": orEmpty(in.WebOrigins)}
	if in.GrantTypes != nil {
		body["grant_types"] = in.GrantTypes
	}
	if in.Metadata != nil {
		body["client_metadata"] = in.Metadata
	}
	if in.TokenEndpointAuthMethod != "" {
		body["token_endpoint_auth_method"] = in.TokenEndpointAuthMethod
	}
	var v Client
	if err := m.do(ctx, http.MethodPost, "/api/v2/clients", nil, body, &v); err != nil {
		return storage.Client{}, admin.NewSecret{}, err
	}
	return v.client(), admin.NewSecret{Plain: v.ClientSecret}, nil
}

// GetClient returns a client.
func (m *Remote) GetClient(ctx context.Context, id string) (storage.Client, error) {
	var v Client
	if err := m.do(ctx, http.MethodGet, "/api/v2/clients/"+url.PathEscape(id), nil, nil, &v); err != nil {
		return storage.Client{}, err
	}
	return v.client(), nil
}

// ListClients lists every client.
func (m *Remote) ListClients(ctx context.Context) ([]storage.Client, error) {
	l, err := all[Client](ctx, m, "/api/v2/clients", nil)
	return convert(l, err, Client.client)
}

// DeleteClient deletes a client; like the local one it fails for a missing client.
func (m *Remote) DeleteClient(ctx context.Context, id string) error {
	if _, err := m.GetClient(ctx, id); err != nil {
		return err
	}
	return m.do(ctx, http.MethodDelete, "/api/v2/clients/"+url.PathEscape(id), nil, nil, nil)
}

// UpdateClient changes a client.
func (m *Remote) UpdateClient(ctx context.Context, id string, p admin.ClientPatch) (storage.Client, error) {
	body := map[string]any{}
	if p.Name != nil {
		body["name"] = *p.Name
	}
	if p.Description != nil {
		body["description"] = *p.Description
	}
	if p.Metadata != nil {
		md := *p.Metadata
		if md == nil {
			md = map[string]string{}
		}
		body["client_metadata"] = md
	}
	if p.TokenEndpointAuthMethod != nil {
		body["token_endpoint_auth_method"] = *p.TokenEndpointAuthMethod
	}
	if p.Disabled != nil {
		body["disabled"] = *p.Disabled
	}
	if p.WebOrigins != nil {
		body["web_origins"] = orEmpty(*p.WebOrigins)
	}
	var v Client
	if err := m.do(ctx, http.MethodPatch, "/api/v2/clients/"+url.PathEscape(id), nil, body, &v); err != nil {
		return storage.Client{}, err
	}
	return v.client(), nil
}

// SetClientDisabled disables or enables a client.
func (m *Remote) SetClientDisabled(ctx context.Context, id string, disabled bool) (storage.Client, error) {
	var v Client
	if err := m.do(ctx, http.MethodPatch, "/api/v2/clients/"+url.PathEscape(id), nil, map[string]any{"disabled": disabled}, &v); err != nil {
		return storage.Client{}, err
	}
	return v.client(), nil
}

func newSecret(v Secret, plain string) admin.NewSecret {
	return admin.NewSecret{Secret: v.secret(), Plain: plain}
}

// AddSecret adds a secret active from notBefore (zero: now) that expires
// expiresIn from now (zero: never).
func (m *Remote) AddSecret(ctx context.Context, id string, notBefore time.Time, expiresIn time.Duration) (admin.NewSecret, error) {
	body := map[string]any{}
	if !notBefore.IsZero() {
		body["not_before"] = notBefore.UTC().Format(time.RFC3339Nano)
	}
	if expiresIn < 0 {
		return admin.NewSecret{}, remoteInvalid("--expires-in must be positive")
	}
	if expiresIn > 0 {
		body["expires_at"] = m.now().Add(expiresIn).UTC().Format(time.RFC3339Nano)
	}
	var v Secret
	if err := m.do(ctx, http.MethodPost, "/api/v2/clients/"+url.PathEscape(id)+"/secrets", nil, body, &v); err != nil {
		return admin.NewSecret{}, err
	}
	return newSecret(v, v.ClientSecret), nil
}

// RotateSecret adds a secret active now; the older ones expire after grace.
func (m *Remote) RotateSecret(ctx context.Context, id string, grace time.Duration) (admin.NewSecret, error) {
	if grace < 0 {
		return admin.NewSecret{}, remoteInvalid("--grace must not be negative")
	}
	var v RotatedClient
	q := url.Values{"grace": {strconv.FormatInt(int64(grace/time.Second), 10)}}
	if grace%time.Second != 0 {
		q.Set("grace", grace.String())
	}
	if err := m.do(ctx, http.MethodPost, "/api/v2/clients/"+url.PathEscape(id)+"/rotate-secret", q, nil, &v); err != nil {
		return admin.NewSecret{}, err
	}
	return newSecret(v.Secret, v.ClientSecret), nil
}

// ListSecrets lists a client's secrets.
func (m *Remote) ListSecrets(ctx context.Context, id string) ([]storage.Secret, error) {
	l, err := all[Secret](ctx, m, "/api/v2/clients/"+url.PathEscape(id)+"/secrets", nil)
	return convert(l, err, Secret.secret)
}

// RevokeSecret revokes a secret; like the local one it fails for a missing secret.
func (m *Remote) RevokeSecret(ctx context.Context, id, secretID string) error {
	list, err := m.ListSecrets(ctx, id)
	found := false
	for _, s := range list {
		found = found || s.ID == secretID
	}
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !found) {
		return &RemoteError{Status: http.StatusNotFound, Code: codeInexistentSecret, Message: fmt.Sprintf("secret %q not found", secretID)}
	}
	if err != nil {
		return err
	}
	return m.do(ctx, http.MethodDelete, "/api/v2/clients/"+url.PathEscape(id)+"/secrets/"+url.PathEscape(secretID), nil, nil, nil)
}

// CreateGrant grants a client scopes of an API for its own tokens.
func (m *Remote) CreateGrant(ctx context.Context, clientID, audience string, scopes []string) (storage.Grant, error) {
	return m.CreateGrantFor(ctx, storage.SubjectClient, clientID, audience, scopes)
}

// CreateGrantFor grants a client scopes of an API for a subject type.
func (m *Remote) CreateGrantFor(ctx context.Context, subjectType, clientID, audience string, scopes []string) (storage.Grant, error) {
	if scopes == nil {
		scopes = []string{}
	}
	if subjectType == "" {
		subjectType = storage.SubjectClient
	}
	var v ClientGrant
	body := map[string]any{"client_id": clientID, "audience": audience, "scope": scopes, "subject_type": subjectType}
	if err := m.do(ctx, http.MethodPost, "/api/v2/client-grants", nil, body, &v); err != nil {
		return storage.Grant{}, err
	}
	return v.grant(), nil
}

// ListGrants lists the grants that match f.
func (m *Remote) ListGrants(ctx context.Context, f storage.GrantFilter) ([]storage.Grant, error) {
	q := url.Values{}
	if f.ClientID != "" {
		q.Set("client_id", f.ClientID)
	}
	if f.Audience != "" {
		q.Set("audience", f.Audience)
	}
	if f.SubjectType != "" {
		q.Set("subject_type", f.SubjectType)
	}
	l, err := all[ClientGrant](ctx, m, "/api/v2/client-grants", q)
	return convert(l, err, ClientGrant.grant)
}

// UpdateGrant replaces a grant's scopes.
func (m *Remote) UpdateGrant(ctx context.Context, id string, scopes []string) (storage.Grant, error) {
	if scopes == nil {
		scopes = []string{}
	}
	var v ClientGrant
	if err := m.do(ctx, http.MethodPatch, "/api/v2/client-grants/"+url.PathEscape(id), nil, map[string]any{"scope": scopes}, &v); err != nil {
		return storage.Grant{}, err
	}
	return v.grant(), nil
}

// DeleteGrant deletes a grant; like the local one it fails for a missing grant.
func (m *Remote) DeleteGrant(ctx context.Context, id string) error {
	if err := m.do(ctx, http.MethodGet, "/api/v2/client-grants/"+url.PathEscape(id), nil, nil, nil); err != nil {
		return err
	}
	return m.do(ctx, http.MethodDelete, "/api/v2/client-grants/"+url.PathEscape(id), nil, nil, nil)
}

// ListKeys lists the signing keys, their states as the server shows them.
func (m *Remote) ListKeys(ctx context.Context) ([]storage.SigningKey, error) {
	l, err := all[SigningKey](ctx, m, "/api/v2/keys", nil)
	return convert(l, err, SigningKey.key)
}

// RotateKeys rotates the signing keys of alg ("" for all) and returns every key.
func (m *Remote) RotateKeys(ctx context.Context, alg string, force bool) ([]storage.SigningKey, error) {
	q := url.Values{}
	if alg != "" {
		q.Set("alg", alg)
	}
	if force {
		q.Set("force", "true")
	}
	var l []SigningKey
	err := m.do(ctx, http.MethodPost, "/api/v2/keys/rotate", q, nil, &l)
	return convert(l, err, SigningKey.key)
}
