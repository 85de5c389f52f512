package mgmt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/docs"
	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Prefix is where the management API lives.
const Prefix = "/api/v2/"

// PathOpenAPI is where its OpenAPI document is served, without a token.
const PathOpenAPI = Prefix + "openapi.json"

// KeyManager is what the API needs of the signing keys (package keys).
type KeyManager interface {
	KeySource
	Rotate(ctx context.Context, opts keys.RotateOptions) ([]storage.SigningKey, error)
	HasCurrent(alg string) bool
}

var _ KeyManager = (*keys.Manager)(nil)

// Config configures a Handler.
type Config struct {
	// Issuer is the server's issuer; the API's audience is Audience(Issuer).
	Issuer string
	// Admin performs every change; its Store answers the reads.
	Admin *admin.Service
	// Keys verifies tokens (its JWKS) and rotates the signing keys.
	Keys    KeyManager
	Catalog Catalog
	// Denylist, if set, refuses revoked tokens (RFC 7009; package
	// revocation): a token revoked at /oauth/revoke, by a revocation of
	// every token of its client or user, or by a console sign-out.
	Denylist Denylist
	// RefreshTokenLifetime and RefreshTokenIdle are the server's refresh
	// token lifetimes, which clients show as Auth0's refresh_token.
	RefreshTokenLifetime, RefreshTokenIdle time.Duration
	Now                                    func() time.Time
	Logger                                 *slog.Logger
}

// Handler serves the management API.
type Handler struct {
	cfg      Config
	audience string
	// clientBase holds the fixed fields of every client view.
	clientBase Client
	auth       *authenticator
	mux        *http.ServeMux
	routes     []route
}

// route is one operation: method and pattern (net/http ServeMux syntax,
// which is also OpenAPI's path template syntax), the scope it needs ("" for
// none) and its function, which returns the status and the body to send.
type route struct {
	method, pattern, scope string
	serve                  func(r *http.Request, w http.ResponseWriter) (int, any, *Error)
}

// New returns the management API handler for cfg.
func New(cfg Config) (*Handler, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Admin == nil || cfg.Keys == nil || cfg.Catalog == nil || cfg.Issuer == "" {
		return nil, fmt.Errorf("management API: Issuer, Admin, Keys and Catalog are required")
	}
	auth, err := newAuthenticator(cfg.Issuer, cfg.Keys, cfg.Catalog, cfg.Admin.Store, cfg.Denylist, cfg.Now)
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, audience: Audience(cfg.Issuer), auth: auth, mux: http.NewServeMux()}
	h.clientBase = echoed[Client](h.clientFixed())
	h.routes = []route{
		{"GET", PathOpenAPI, "", h.openAPI},

		{"GET", "/api/v2/resource-servers", ScopeReadResourceServers, h.listAPIs},
		{"POST", "/api/v2/resource-servers", ScopeCreateResourceServer, h.createAPI},
		{"GET", "/api/v2/resource-servers/{id}", ScopeReadResourceServers, h.getAPI},
		{"PATCH", "/api/v2/resource-servers/{id}", ScopeUpdateResourceServer, h.updateAPI},
		{"DELETE", "/api/v2/resource-servers/{id}", ScopeDeleteResourceServer, h.deleteAPI},
		{"GET", "/api/v2/resource-servers/{id}/introspection-clients", ScopeReadResourceServers, h.listIntrospectors},
		{"POST", "/api/v2/resource-servers/{id}/introspection-clients", ScopeUpdateResourceServer, h.changeIntrospectors},
		{"DELETE", "/api/v2/resource-servers/{id}/introspection-clients", ScopeUpdateResourceServer, h.changeIntrospectors},

		{"GET", "/api/v2/clients", ScopeReadClients, h.listClients},
		{"POST", "/api/v2/clients", ScopeCreateClients, h.createClient},
		{"GET", "/api/v2/clients/{id}", ScopeReadClients, h.getClient},
		{"PATCH", "/api/v2/clients/{id}", ScopeUpdateClients, h.updateClient},
		{"DELETE", "/api/v2/clients/{id}", ScopeDeleteClients, h.deleteClient},
		{"POST", "/api/v2/clients/{id}/rotate-secret", ScopeUpdateClientKeys, h.rotateSecret},
		{"POST", "/api/v2/clients/{id}/revoke-tokens", ScopeUpdateClients, h.revokeClientTokens},
		{"GET", "/api/v2/clients/{id}/secrets", ScopeReadClientKeys, h.listSecrets},
		{"POST", "/api/v2/clients/{id}/secrets", ScopeUpdateClientKeys, h.addSecret},
		{"DELETE", "/api/v2/clients/{id}/secrets/{secret_id}", ScopeUpdateClientKeys, h.deleteSecret},
		{"GET", "/api/v2/clients/{id}/credentials", ScopeReadClientCredentials, h.listCredentials},
		{"POST", "/api/v2/clients/{id}/credentials", ScopeCreateClientCredentials, h.createCredential},
		{"GET", "/api/v2/clients/{id}/credentials/{credential_id}", ScopeReadClientCredentials, h.getCredential},
		{"PATCH", "/api/v2/clients/{id}/credentials/{credential_id}", ScopeUpdateClientCredentials, h.updateCredential},
		{"DELETE", "/api/v2/clients/{id}/credentials/{credential_id}", ScopeDeleteClientCredentials, h.deleteCredential},
		{"GET", "/api/v2/clients/{id}/federated-credentials", ScopeReadClientCredentials, h.listFederated},
		{"POST", "/api/v2/clients/{id}/federated-credentials", ScopeCreateClientCredentials, h.createFederated},
		{"GET", "/api/v2/clients/{id}/federated-credentials/{credential_id}", ScopeReadClientCredentials, h.getFederated},
		{"DELETE", "/api/v2/clients/{id}/federated-credentials/{credential_id}", ScopeDeleteClientCredentials, h.deleteFederated},

		{"GET", "/api/v2/client-grants", ScopeReadClientGrants, h.listGrants},
		{"POST", "/api/v2/client-grants", ScopeCreateClientGrants, h.createGrant},
		{"GET", "/api/v2/client-grants/{id}", ScopeReadClientGrants, h.getGrant},
		{"PATCH", "/api/v2/client-grants/{id}", ScopeUpdateClientGrants, h.updateGrant},
		{"DELETE", "/api/v2/client-grants/{id}", ScopeDeleteClientGrants, h.deleteGrant},

		{"GET", "/api/v2/keys", ScopeReadSigningKeys, h.listKeys},
		{"POST", "/api/v2/keys/rotate", ScopeUpdateSigningKeys, h.rotateKeys},

		{"GET", "/api/v2/users", ScopeReadUsers, h.listUsers},
		{"POST", "/api/v2/users", ScopeCreateUsers, h.createUser},
		{"GET", "/api/v2/users/{id}", ScopeReadUsers, h.getUser},
		{"PATCH", "/api/v2/users/{id}", ScopeUpdateUsers, h.updateUser},
		{"DELETE", "/api/v2/users/{id}", ScopeDeleteUsers, h.deleteUser},
		{"POST", "/api/v2/users/{id}/revoke-tokens", ScopeUpdateUsers, h.revokeUserTokens},
		{"GET", "/api/v2/users/{id}/roles", ScopeReadRoleMembers, h.listUserRoles},
		{"POST", "/api/v2/users/{id}/roles", ScopeCreateRoleMembers, h.changeUserRoles},
		{"DELETE", "/api/v2/users/{id}/roles", ScopeDeleteRoleMembers, h.changeUserRoles},
		{"GET", "/api/v2/users/{id}/permissions", ScopeReadUsers, h.listUserPermissions},
		{"POST", "/api/v2/users/{id}/permissions", ScopeUpdateUsers, h.changeUserPermissions},
		{"DELETE", "/api/v2/users/{id}/permissions", ScopeUpdateUsers, h.changeUserPermissions},

		{"GET", "/api/v2/roles", ScopeReadRoles, h.listRoles},
		{"POST", "/api/v2/roles", ScopeCreateRoles, h.createRole},
		{"GET", "/api/v2/roles/{id}", ScopeReadRoles, h.getRole},
		{"PATCH", "/api/v2/roles/{id}", ScopeUpdateRoles, h.updateRole},
		{"DELETE", "/api/v2/roles/{id}", ScopeDeleteRoles, h.deleteRole},
		{"GET", "/api/v2/roles/{id}/permissions", ScopeReadRoles, h.listRolePermissions},
		{"POST", "/api/v2/roles/{id}/permissions", ScopeUpdateRoles, h.changeRolePermissions},
		{"DELETE", "/api/v2/roles/{id}/permissions", ScopeUpdateRoles, h.changeRolePermissions},
		{"GET", "/api/v2/roles/{id}/users", ScopeReadRoleMembers, h.listRoleUsers},
		{"POST", "/api/v2/roles/{id}/users", ScopeCreateRoleMembers, h.assignRoleUsers},
	}
	for _, rt := range h.routes {
		h.mux.Handle(rt.method+" "+rt.pattern, h.wrap(rt))
	}
	return h, nil
}

// Routes returns every operation as "METHOD PATTERN", for the test that
// holds the OpenAPI document to the handlers.
func (h *Handler) Routes() []string {
	out := make([]string, len(h.routes))
	for i, rt := range h.routes {
		out[i] = rt.method + " " + rt.pattern
	}
	return out
}

func (h *Handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if rt.scope != "" {
			who, err := h.auth.authorize(ctx, r, rt.scope)
			if err != nil {
				writeError(w, h.cfg.Logger, err)
				return
			}
			// The seam for the audit trail: every admin call knows its actor.
			r = r.WithContext(who.context(ctx))
		}
		status, body, err := rt.serve(r, w)
		if err != nil {
			writeError(w, h.cfg.Logger, err)
			return
		}
		if r.Method != http.MethodGet {
			// Read your writes: the answer waits until this instance's
			// catalog holds the change, so a new client, grant or secret
			// works, and a rotated-out secret fails, from the next request
			// on. Other instances follow within their sync interval.
			if serr := h.cfg.Catalog.SyncNow(ctx); serr != nil {
				h.cfg.Logger.Warn("the catalog could not be brought up to a management write; it follows within the sync interval", "error", serr)
			}
		}
		if raw, ok := body.(rawJSON); ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(raw)
			return
		}
		writeJSON(w, status, body)
	})
}

// rawJSON is a body sent as it is.
type rawJSON []byte

// ServeHTTP routes a request; an unknown path is a 404 and a known path
// with another method a 405 with Allow, both in Auth0's error shape.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	// A path routed for other methods is a 405 with Allow (RFC 9110 §15.5.6).
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		if slices.Contains(allow, http.MethodGet) {
			allow = append(allow, http.MethodHead)
		}
		e := newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		e.Header = http.Header{"Allow": {strings.Join(allow, ", ")}}
		writeError(w, h.cfg.Logger, e)
		return
	}
	writeError(w, h.cfg.Logger, newError(http.StatusNotFound, CodeNotFound, "no management API operation at "+r.URL.Path))
}

func (h *Handler) openAPI(*http.Request, http.ResponseWriter) (int, any, *Error) {
	return http.StatusOK, rawJSON(docs.OpenAPI), nil
}

func (h *Handler) store() storage.Storage { return h.cfg.Admin.Store }

func (h *Handler) svc() *admin.Service { return h.cfg.Admin }

// deleted answers a DELETE: 204 whether or not the thing existed (DELETE
// is idempotent, RFC 9110 §9.2.2).
func deleted(err error) (int, any, *Error) {
	if err != nil && !isNotFound(err) {
		return 0, nil, translate(err, resource{})
	}
	return http.StatusNoContent, nil, nil
}

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }
