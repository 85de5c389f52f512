package mgmt

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

var clientRes = resource{conflict: CodeClientConflict}

// clientInput is the body of POST and PATCH /clients. app_type and
// grant_types are accepted with the only values a machine-to-machine
// client has here.
type clientInput struct {
	Name                    *string            `json:"name"`
	Description             *string            `json:"description"`
	AppType                 *string            `json:"app_type"`
	GrantTypes              *[]string          `json:"grant_types"`
	TokenEndpointAuthMethod *string            `json:"token_endpoint_auth_method"`
	ClientMetadata          *map[string]string `json:"client_metadata"`
	Disabled                *bool              `json:"disabled"`
	// The login settings of a regular_web, spa or native client (Auth0's
	// names): its redirect URIs, its logout URLs, and whether it is the
	// operator's own (no consent page).
	Callbacks         *[]string `json:"callbacks"`
	AllowedLogoutURLs *[]string `json:"allowed_logout_urls"`
	IsFirstParty      *bool     `json:"is_first_party"`
	// Auth0's settings kept and shown, not acted on (storage.ClientExtras).
	LogoURI        *string   `json:"logo_uri"`
	ClientAliases  *[]string `json:"client_aliases"`
	AllowedClients *[]string `json:"allowed_clients"`
	// The origins whose pages may call the token and userinfo endpoints
	// (CORS): Auth0 has two lists, web_origins and allowed_origins; here
	// they are one, set by either or both (their union).
	WebOrigins     *[]string `json:"web_origins"`
	AllowedOrigins *[]string `json:"allowed_origins"`
	// RFC 8705 §3.4: the client's access tokens are bound to its TLS
	// client certificate (cnf.x5t#S256).
	TLSClientCertificateBoundAccessTokens *bool `json:"tls_client_certificate_bound_access_tokens"`
	// RFC 8705 §2.1.2: tls_client_auth by a subject alternative name of the
	// client's certificate; at most one, "" clears it.
	TLSClientAuthSANDNS   *string `json:"tls_client_auth_san_dns"`
	TLSClientAuthSANURI   *string `json:"tls_client_auth_san_uri"`
	TLSClientAuthSANIP    *string `json:"tls_client_auth_san_ip"`
	TLSClientAuthSANEmail *string `json:"tls_client_auth_san_email"`
	// JWKSURI is where the client publishes its private_key_jwt keys (a
	// gatehouse extension; "" clears it).
	JWKSURI *string `json:"jwks_uri"`
	// RequireProofOfPossession (Auth0's) makes every token of the client
	// sender-constrained.
	RequireProofOfPossession *bool `json:"require_proof_of_possession"`
}

// extras applies the request's kept settings to cur, those of a client of
// appType: a machine client's is_first_party false is kept there too (its
// consent page, the only thing it would change, is for login clients). It
// reports whether anything was given.
func (in clientInput) extras(cur storage.ClientExtras, appType string) (storage.ClientExtras, bool) {
	x := cur
	x.ClientAliases, x.AllowedClients = slices.Clone(cur.ClientAliases), slices.Clone(cur.AllowedClients)
	given := false
	if in.LogoURI != nil {
		x.LogoURI, given = *in.LogoURI, true
	}
	if in.ClientAliases != nil {
		x.ClientAliases, given = nilIfEmpty(*in.ClientAliases), true
	}
	if in.AllowedClients != nil {
		x.AllowedClients, given = nilIfEmpty(*in.AllowedClients), true
	}
	if in.IsFirstParty != nil && !admin.IsLogin(appType) {
		x.ThirdParty, given = !*in.IsFirstParty, true
	}
	return x, given
}

// origins returns the union of web_origins and allowed_origins, in order,
// or nil when neither was given.
func (in clientInput) origins() *[]string {
	if in.WebOrigins == nil && in.AllowedOrigins == nil {
		return nil
	}
	out := []string{}
	for _, l := range []*[]string{in.WebOrigins, in.AllowedOrigins} {
		if l == nil {
			continue
		}
		for _, o := range *l {
			if !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return &out
}

// checkFixed reports, for a machine-to-machine client, app_type and
// grant_types values other than the ones it has, and login settings.
func (in clientInput) checkFixed() []string {
	var problems []string
	if in.AppType != nil && *in.AppType != storage.AppTypeNonInteractive && !admin.IsLogin(*in.AppType) {
		problems = append(problems, fmt.Sprintf("app_type %q is not supported: clients are %s (machine to machine), or %s for user login",
			*in.AppType, storage.AppTypeNonInteractive, strings.Join(admin.LoginAppTypes, ", ")))
	}
	if in.AppType != nil && admin.IsLogin(*in.AppType) {
		if san, _ := in.san(); san != nil && san.Kind != "" {
			problems = append(problems, "tls_client_auth is for machine-to-machine clients")
		}
		if in.TLSClientCertificateBoundAccessTokens != nil && *in.TLSClientCertificateBoundAccessTokens {
			problems = append(problems, "tls_client_certificate_bound_access_tokens is for machine-to-machine clients: login clients' tokens are not bound")
		}
		return problems // the admin service judges a login client's settings
	}
	if in.GrantTypes != nil && !slices.Equal(*in.GrantTypes, []string{storage.GrantClientCredentials}) {
		problems = append(problems, fmt.Sprintf("grant_types %q is not supported: clients use [%q]", *in.GrantTypes, storage.GrantClientCredentials))
	}
	if in.Callbacks != nil && len(*in.Callbacks) > 0 || in.AllowedLogoutURLs != nil && len(*in.AllowedLogoutURLs) > 0 ||
		in.origins() != nil && len(*in.origins()) > 0 {
		problems = append(problems, "callbacks, allowed_logout_urls, web_origins and allowed_origins are for login clients (app_type regular_web, spa or native)")
	}
	return problems
}

// createLoginClient creates a regular_web, spa or native client.
func (h *Handler) createLoginClient(r *http.Request, in clientInput) (storage.Client, admin.NewSecret, *Error) {
	li := admin.LoginClientInput{Name: *in.Name, AppType: *in.AppType}
	li.Extras, _ = in.extras(storage.ClientExtras{}, *in.AppType)
	if in.Description != nil {
		li.Description = *in.Description
	}
	if in.ClientMetadata != nil {
		li.Metadata = *in.ClientMetadata
	}
	if in.GrantTypes != nil {
		li.GrantTypes = *in.GrantTypes
	}
	if in.Callbacks != nil {
		li.RedirectURIs = *in.Callbacks
	}
	if in.AllowedLogoutURLs != nil {
		li.LogoutURLs = *in.AllowedLogoutURLs
	}
	if in.IsFirstParty != nil {
		li.FirstParty = *in.IsFirstParty
	}
	if in.RequireProofOfPossession != nil {
		li.RequireProofOfPossession = *in.RequireProofOfPossession
	}
	if o := in.origins(); o != nil {
		li.WebOrigins = *o
	}
	if in.TokenEndpointAuthMethod != nil {
		if *in.TokenEndpointAuthMethod == "" {
			return storage.Client{}, admin.NewSecret{}, badBody(`token endpoint auth method "" is not one`)
		}
		li.TokenEndpointAuthMethod = *in.TokenEndpointAuthMethod
	}
	c, sec, err := h.svc().CreateLoginClient(r.Context(), li)
	if err != nil {
		return storage.Client{}, admin.NewSecret{}, translate(err, clientRes)
	}
	return c, sec, nil
}

// listClients lists clients, filtered as Auth0's: app_type (a
// comma-separated list), is_first_party, and is_global (no client is
// global here: Auth0's global client is its dashboard's).
func (h *Handler) listClients(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	q := r.URL.Query()
	var appTypes []string
	if raw, err := query(q, "app_type"); err != nil {
		return 0, nil, err
	} else if raw != "" {
		appTypes = strings.Split(raw, ",")
	}
	firstParty, err := boolQuery(q, "is_first_party")
	if err != nil {
		return 0, nil, err
	}
	global, err := boolQuery(q, "is_global")
	if err != nil {
		return 0, nil, err
	}
	return listing[storage.Client, Client]{
		key: "clients", load: h.store().ListClients, view: h.viewClient, filters: []string{"app_type", "is_first_party", "is_global"},
		cursor: func(c storage.Client) string { return timeCursor(c.CreatedAt, c.ClientID) },
		keep: func(c storage.Client) bool {
			v := h.viewClient(c)
			return (appTypes == nil || slices.Contains(appTypes, v.AppType)) &&
				(firstParty == nil || *firstParty == v.IsFirstParty) && (global == nil || !*global)
		},
	}.serve(r)
}

// boolQuery reads an optional true/false query parameter.
func boolQuery(q url.Values, name string) (*bool, *Error) {
	raw, err := query(q, name)
	if err != nil || raw == "" {
		return nil, err
	}
	b, perr := strconv.ParseBool(raw)
	if perr != nil || raw != "true" && raw != "false" {
		return nil, badQuery(name + " must be true or false")
	}
	return &b, nil
}

// clientAccepted are the fields of Auth0's client judged apart from
// clientInput: the fixed ones and the read-only ones.
func (h *Handler) clientAccepted() []string {
	return slices.Concat(fixedNames(h.clientFixed()), clientReadOnly, []string{authMethodsField})
}

// authMethods reads client_authentication_methods from a body's extra
// fields: given reports whether it was there (null included).
func authMethods(extra map[string]json.RawMessage) (b *authMethodsBody, given bool, err *Error) {
	raw, ok := extra[authMethodsField]
	if !ok {
		return nil, false, nil
	}
	delete(extra, authMethodsField)
	b, err = parseAuthMethods(raw)
	return b, true, err
}

func (h *Handler) createClient(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in clientInput
	extra, derr := decodeWith(w, r, &in, h.clientAccepted())
	if derr != nil {
		return 0, nil, derr
	}
	methods, _, derr := authMethods(extra)
	if derr != nil {
		return 0, nil, derr
	}
	problems := in.checkFixed()
	problems = append(problems, checkFixedFields(h.clientFixed(), extra)...)
	problems = append(problems, refusedOnCreate(clientReadOnly, extra)...)
	if in.Name == nil {
		problems = append(problems, `field "name" is required`)
	}
	if in.Disabled != nil && *in.Disabled {
		problems = append(problems, "a client is created enabled; disable it with PATCH")
	}
	if err := joinProblems(problems); err != nil {
		return 0, nil, err
	}
	if methods != nil && in.TokenEndpointAuthMethod != nil {
		return 0, nil, badBody("client_authentication_methods and token_endpoint_auth_method exclude each other; send one")
	}
	var c storage.Client
	var sec admin.NewSecret
	var after admin.ClientPatch // what is set once the client exists
	if in.AppType != nil && admin.IsLogin(*in.AppType) {
		var lerr *Error
		if c, sec, lerr = h.createLoginClient(r, in); lerr != nil {
			return 0, nil, lerr
		}
		after.JWKSURI = in.JWKSURI
	} else {
		var cerr *Error
		if c, sec, cerr = h.createMachineClient(r, in, methods != nil); cerr != nil {
			return 0, nil, cerr
		}
	}
	if methods != nil { // Auth0 creates the credentials with the client
		am, aerr := h.applyAuthMethods(r.Context(), c.ClientID, methods)
		if aerr != nil {
			_ = h.svc().DeleteClient(context.WithoutCancel(r.Context()), c.ClientID)
			return 0, nil, aerr
		}
		after.AuthMethods = &am
	}
	if after != (admin.ClientPatch{}) {
		updated, err := h.svc().UpdateClient(r.Context(), c.ClientID, after)
		if err != nil {
			_ = h.svc().DeleteClient(context.WithoutCancel(r.Context()), c.ClientID)
			return 0, nil, translate(err, clientRes)
		}
		c = updated
	}
	v := h.viewClient(c)
	v.ClientSecret = sec.Plain
	return one(r, http.StatusCreated, v)
}

// createMachineClient creates a non_interactive client; keyed, it has no
// secret (its client_authentication_methods follow).
func (h *Handler) createMachineClient(r *http.Request, in clientInput, keyed bool) (storage.Client, admin.NewSecret, *Error) {
	ci := admin.ClientInput{Name: *in.Name}
	if in.TLSClientCertificateBoundAccessTokens != nil {
		ci.CertificateBoundTokens = *in.TLSClientCertificateBoundAccessTokens
	}
	if san, err := in.san(); err != nil {
		return storage.Client{}, admin.NewSecret{}, err
	} else if san != nil {
		ci.TLSClientAuthSAN = *san
	}
	ci.Extras, _ = in.extras(storage.ClientExtras{}, storage.AppTypeNonInteractive)
	if in.Description != nil {
		ci.Description = *in.Description
	}
	if in.ClientMetadata != nil {
		ci.Metadata = *in.ClientMetadata
	}
	if in.RequireProofOfPossession != nil {
		ci.RequireProofOfPossession = *in.RequireProofOfPossession
	}
	if in.TokenEndpointAuthMethod != nil {
		if *in.TokenEndpointAuthMethod == "" { // the admin service would take it for the default
			return storage.Client{}, admin.NewSecret{}, badBody(fmt.Sprintf(`token endpoint auth method "" must be one of %s`, strings.Join(admin.AuthMethods, ", ")))
		}
		ci.TokenEndpointAuthMethod = *in.TokenEndpointAuthMethod
	}
	if in.JWKSURI != nil {
		ci.JWKSURI = *in.JWKSURI
	}
	if keyed {
		ci.TokenEndpointAuthMethod = storage.AuthMethodPrivateKeyJWT // no secret: credentials authenticate it
	}
	c, sec, err := h.svc().CreateClient(r.Context(), ci)
	if err != nil {
		return storage.Client{}, admin.NewSecret{}, translate(err, clientRes)
	}
	return c, sec, nil
}

func (h *Handler) getClient(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	c, err := h.svc().GetClient(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, translate(err, clientRes)
	}
	return one(r, http.StatusOK, h.viewClient(c))
}

func (h *Handler) updateClient(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in clientInput
	extra, derr := decodeWith(w, r, &in, h.clientAccepted())
	if derr != nil {
		return 0, nil, derr
	}
	methods, methodsGiven, derr := authMethods(extra)
	if derr != nil {
		return 0, nil, derr
	}
	cur, err := h.svc().GetClient(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, translate(err, clientRes)
	}
	// app_type, grant_types and the login settings are fixed once created
	// (a PATCH may repeat them).
	var problems []string
	if in.AppType != nil && *in.AppType != cur.AppType {
		problems = append(problems, fmt.Sprintf("app_type %q cannot be changed (the client is %s)", *in.AppType, cur.AppType))
	}
	if in.GrantTypes != nil && !slices.Equal(*in.GrantTypes, cur.GrantTypes) {
		problems = append(problems, fmt.Sprintf("grant_types %q is not supported: the client uses %q, which cannot be changed here", *in.GrantTypes, cur.GrantTypes))
	}
	if in.Callbacks != nil && !slices.Equal(*in.Callbacks, cur.RedirectURIs) || in.AllowedLogoutURLs != nil && !slices.Equal(*in.AllowedLogoutURLs, cur.AllowedLogoutURLs) ||
		in.IsFirstParty != nil && admin.IsLogin(cur.AppType) && *in.IsFirstParty != cur.FirstParty {
		problems = append(problems, "callbacks, allowed_logout_urls and is_first_party cannot be changed through the management API yet")
	}
	if b := in.TLSClientCertificateBoundAccessTokens; b != nil && *b && admin.IsLogin(cur.AppType) {
		problems = append(problems, "tls_client_certificate_bound_access_tokens is for machine-to-machine clients: login clients' tokens are not bound")
	}
	problems = append(problems, checkFixedFields(h.clientFixed(), extra)...)
	problems = append(problems, checkReadOnly(clientReadOnly, extra, h.viewClient(cur), "the server sets it")...)
	if err := joinProblems(problems); err != nil {
		return 0, nil, err
	}
	p := admin.ClientPatch{
		Name: in.Name, Description: in.Description, Metadata: in.ClientMetadata,
		TokenEndpointAuthMethod: in.TokenEndpointAuthMethod, Disabled: in.Disabled, WebOrigins: in.origins(),
		JWKSURI:                  in.JWKSURI,
		RequireProofOfPossession: in.RequireProofOfPossession,
		CertificateBoundTokens:   in.TLSClientCertificateBoundAccessTokens,
	}
	if methodsGiven {
		if methods != nil && in.TokenEndpointAuthMethod != nil {
			return 0, nil, badBody("client_authentication_methods and token_endpoint_auth_method exclude each other; send one")
		}
		if methods.definesCredentials() {
			if err := h.alsoNeeds(r, ScopeCreateClientCredentials, "client_authentication_methods defines new credentials"); err != nil {
				return 0, nil, err
			}
		}
		am, aerr := h.applyAuthMethods(r.Context(), cur.ClientID, methods)
		if aerr != nil {
			return 0, nil, aerr
		}
		p.AuthMethods = &am
	}
	if x, given := in.extras(cur.Extras, cur.AppType); given {
		p.Extras = &x
	}
	san, serr := in.san()
	if serr != nil {
		return 0, nil, serr
	}
	p.TLSClientAuthSAN = san
	// A jwks_uri or tls_client_auth name is a key the client is known by:
	// giving it one takes the credentials scope, as adding a key or a
	// secret does, not update:clients alone.
	if in.JWKSURI != nil && *in.JWKSURI != "" && *in.JWKSURI != cur.JWKSURI || san != nil && san.Kind != "" && *san != cur.TLSClientAuthSAN {
		if err := h.alsoNeeds(r, ScopeUpdateClientCredentials, "jwks_uri and tls_client_auth_san_* say which keys authenticate the client"); err != nil {
			return 0, nil, err
		}
	}
	c, err := h.svc().UpdateClient(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return 0, nil, translate(err, clientRes)
	}
	return one(r, http.StatusOK, h.viewClient(c))
}

func (h *Handler) deleteClient(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	return deleted(h.svc().DeleteClient(r.Context(), r.PathValue("id")))
}

// parseGrace reads rotate-secret's grace: a Go duration ("24h", "90m") or
// whole seconds; absent is 0, the old secrets stop at once, as in Auth0.
func parseGrace(s string) (time.Duration, *Error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 && n <= int64(admin.MaxTokenLifetime/time.Second)*12 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, badQuery(fmt.Sprintf("grace %q must be a duration such as 24h or a number of seconds, not negative", s))
	}
	return d, nil
}

// rotateSecret is Auth0's rotate-secret: a new secret, active now; the
// client's other secrets expire after grace (0 by default: at once).
func (h *Handler) rotateSecret(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	if r.ContentLength > 0 {
		return 0, nil, badBody("rotate-secret takes no body; give grace in the query string")
	}
	raw, qerr := query(r.URL.Query(), "grace")
	if qerr != nil {
		return 0, nil, qerr
	}
	grace, qerr := parseGrace(raw)
	if qerr != nil {
		return 0, nil, qerr
	}
	ctx := r.Context()
	id := r.PathValue("id")
	sec, err := h.svc().RotateSecret(ctx, id, grace)
	if err != nil {
		return 0, nil, translate(err, clientRes)
	}
	c, err := h.svc().GetClient(ctx, id)
	if err != nil {
		return 0, nil, translate(err, clientRes)
	}
	v := h.viewClient(c)
	v.ClientSecret = sec.Plain
	return one(r, http.StatusOK, RotatedClient{Client: v, Secret: viewSecret(sec.Secret)})
}

// RotatedClient is rotate-secret's answer: the client with its new
// client_secret, as Auth0 answers, plus gatehouse's record of the new
// secret (its id, hint and times) under "secret".
type RotatedClient struct {
	Client
	Secret Secret `json:"secret"`
}

func (h *Handler) listSecrets(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	id := r.PathValue("id")
	return listing[storage.Secret, Secret]{
		key: "secrets", view: viewSecret, cursor: func(s storage.Secret) string { return timeCursor(s.CreatedAt, s.ID) },
		load: func(ctx context.Context) ([]storage.Secret, error) { return h.svc().ListSecrets(ctx, id) },
	}.serve(r)
}

type secretInput struct {
	NotBefore *string `json:"not_before"` // RFC 3339
	ExpiresAt *string `json:"expires_at"` // RFC 3339
}

// parseTime reads an RFC 3339 time field.
func parseTime(name string, v *string) (time.Time, *Error) {
	if v == nil {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, *v)
	if err != nil {
		return time.Time{}, badBody(fmt.Sprintf("%s %q must be an RFC 3339 time such as 2026-01-02T15:04:05Z", name, *v))
	}
	return t, nil
}

// addSecret adds a secret, active from not_before (default now) until
// expires_at (default never): the multi-secret rotation of ARCHITECTURE.md.
func (h *Handler) addSecret(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in secretInput
	if r.ContentLength != 0 || r.Header.Get("Content-Type") != "" {
		if err := decode(w, r, &in); err != nil {
			return 0, nil, err
		}
	}
	notBefore, perr := parseTime("not_before", in.NotBefore)
	if perr != nil {
		return 0, nil, perr
	}
	expiresAt, perr := parseTime("expires_at", in.ExpiresAt)
	if perr != nil {
		return 0, nil, perr
	}
	var expiresIn time.Duration
	if !expiresAt.IsZero() {
		if expiresIn = expiresAt.Sub(h.cfg.Now()); expiresIn <= 0 {
			return 0, nil, badBody(fmt.Sprintf("expires_at %s is not in the future", expiresAt.UTC().Format(time.RFC3339)))
		}
	}
	sec, err := h.svc().AddSecret(r.Context(), r.PathValue("id"), notBefore, expiresIn)
	if err != nil {
		return 0, nil, translate(err, clientRes)
	}
	return http.StatusCreated, viewNewSecret(sec), nil
}

func (h *Handler) deleteSecret(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	return deleted(h.svc().RevokeSecret(r.Context(), r.PathValue("id"), r.PathValue("secret_id")))
}
