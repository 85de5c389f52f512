package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// pages are the console's routes, each with the management API scope it
// needs: the same scope as the management API's operation that does the
// same (mgmt.Handler's routes).
func (h *Handler) pages() []route {
	return []route{
		{"GET", Path + "/apis", mgmt.ScopeReadResourceServers, h.listAPIs},
		{"POST", Path + "/apis", mgmt.ScopeCreateResourceServer, h.createAPI},
		{"GET", Path + "/api", mgmt.ScopeReadResourceServers, h.showAPI},
		{"POST", Path + "/api", mgmt.ScopeUpdateResourceServer, h.updateAPI},
		{"POST", Path + "/api/scopes", mgmt.ScopeUpdateResourceServer, h.addScope},
		{"POST", Path + "/api/scopes/remove", mgmt.ScopeUpdateResourceServer, h.removeScope},
		{"POST", Path + "/api/delete", mgmt.ScopeDeleteResourceServer, h.deleteAPI},

		{"GET", Path + "/applications", mgmt.ScopeReadClients, h.listApps},
		{"POST", Path + "/applications", mgmt.ScopeCreateClients, h.createApp},
		{"GET", Path + "/applications/{id}", mgmt.ScopeReadClients, h.showApp},
		{"POST", Path + "/applications/{id}/disabled", mgmt.ScopeUpdateClients, h.disableApp},
		{"POST", Path + "/applications/{id}/delete", mgmt.ScopeDeleteClients, h.deleteApp},
		{"POST", Path + "/applications/{id}/secrets/rotate", mgmt.ScopeUpdateClientKeys, h.rotateSecret},
		{"POST", Path + "/applications/{id}/secrets", mgmt.ScopeUpdateClientKeys, h.addSecret},
		{"POST", Path + "/applications/{id}/secrets/{sid}/revoke", mgmt.ScopeUpdateClientKeys, h.revokeSecret},
		{"POST", Path + "/applications/{id}/grants", mgmt.ScopeCreateClientGrants, h.createGrant},
		{"POST", Path + "/applications/{id}/grants/{gid}", mgmt.ScopeUpdateClientGrants, h.updateGrant},
		{"POST", Path + "/applications/{id}/grants/{gid}/delete", mgmt.ScopeDeleteClientGrants, h.deleteGrant},

		{"GET", Path + "/people", mgmt.ScopeReadUsers, h.listPeople},
		{"POST", Path + "/people", mgmt.ScopeCreateUsers, h.createPerson},
		{"GET", Path + "/people/{id}", mgmt.ScopeReadUsers, h.showPerson},
		{"POST", Path + "/people/{id}/blocked", mgmt.ScopeUpdateUsers, h.blockPerson},
		{"POST", Path + "/people/{id}/password", mgmt.ScopeUpdateUsers, h.resetPassword},
		{"POST", Path + "/people/{id}/permissions", mgmt.ScopeUpdateUsers, h.addPersonPermission},
		{"POST", Path + "/people/{id}/permissions/remove", mgmt.ScopeUpdateUsers, h.removePersonPermission},
		{"POST", Path + "/people/{id}/roles", mgmt.ScopeCreateRoleMembers, h.assignRole},
		{"POST", Path + "/people/{id}/roles/remove", mgmt.ScopeDeleteRoleMembers, h.unassignRole},

		{"GET", Path + "/roles", mgmt.ScopeReadRoles, h.listRoles},
		{"POST", Path + "/roles", mgmt.ScopeCreateRoles, h.createRole},
		{"GET", Path + "/roles/{id}", mgmt.ScopeReadRoles, h.showRole},
		{"POST", Path + "/roles/{id}/permissions", mgmt.ScopeUpdateRoles, h.addRolePermission},
		{"POST", Path + "/roles/{id}/permissions/remove", mgmt.ScopeUpdateRoles, h.removeRolePermission},
		{"POST", Path + "/roles/{id}/delete", mgmt.ScopeDeleteRoles, h.deleteRole},

		{"GET", Path + "/keys", mgmt.ScopeReadSigningKeys, h.listKeys},
		{"POST", Path + "/keys/rotate", mgmt.ScopeUpdateSigningKeys, h.rotateKeys},

		{"GET", Path + "/audit", mgmt.ScopeReadLogs, h.listAudit},
		{"GET", Path + "/activity", mgmt.ScopeReadLogs, h.activity},

		{"POST", Path + "/logout", "", h.logout},
	}
}

// apiFields are the words by which admin's messages name an API form's
// fields.
var apiFields = map[string][]string{
	"identifier": {"identifier"}, "name": {"name"}, "scopes": {"scope"}, "lifetime": {"lifetime"},
	"signing_alg": {"signing algorithm", "signing keys"}, "token_dialect": {"dialect"},
	"user_policy": {"user access"}, "client_policy": {"client access"},
}

type apisData struct {
	APIs       []*storage.API
	Pager      pager
	Algs       []string
	Dialects   []string
	Management string
}

func (h *Handler) apisData(r *http.Request) apisData {
	all := h.cfg.Catalog.Snapshot().APIs()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	all = slices.DeleteFunc(all, func(a *storage.API) bool { return !matches(q, a.Identifier, a.Name) })
	slices.SortFunc(all, func(a, b *storage.API) int { return strings.Compare(a.Identifier, b.Identifier) })
	rows, p := paginate(r, all, Path+"/apis", nil)
	return apisData{APIs: rows, Pager: p, Algs: admin.SigningAlgs, Dialects: storage.Dialects, Management: mgmt.Audience(h.cfg.Issuer)}
}

func (h *Handler) listAPIs(c *call) {
	c.page(http.StatusOK, "apis", "apis", "APIs", h.apisData(c.r), nil)
}

// parseScopes reads a scopes field: one scope a line, its value and then,
// after white space, its description.
func parseScopes(text string) []storage.Scope {
	var out []storage.Scope
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		v, d, _ := strings.Cut(line, " ")
		out = append(out, storage.Scope{Value: v, Description: strings.TrimSpace(d)})
	}
	return out
}

// parseDuration reads a duration field ("24h", "90m", "3600s", or whole
// seconds); "" is zero.
func parseDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, true
	}
	if d, err := time.ParseDuration(s + "s"); err == nil {
		return d, true
	}
	return 0, false
}

func (h *Handler) createAPI(c *call) {
	f := c.form
	show := func(errs map[string]string) {
		c.page(http.StatusUnprocessableEntity, "apis", "apis", "APIs", h.apisData(c.r), errs)
	}
	lifetime, ok := parseDuration(f.Get("lifetime"))
	if !ok {
		show(map[string]string{"lifetime": "token lifetime " + f.Get("lifetime") + " must be a duration such as 3600s, 90m or 24h"})
		return
	}
	api, err := c.h.cfg.Admin.CreateAPI(c.ctx, admin.APIInput{
		Identifier: strings.TrimSpace(f.Get("identifier")), Name: strings.TrimSpace(f.Get("name")),
		Scopes: parseScopes(f.Get("scopes")), TokenLifetime: lifetime,
		SigningAlg: f.Get("signing_alg"), TokenDialect: f.Get("token_dialect"),
	})
	if err != nil {
		c.invalid(err, apiFields, show)
		return
	}
	c.done(apiPath(api.Identifier), flash{Message: "API " + api.Identifier + " created."})
}

func apiPath(id string) string { return Path + "/api?" + url.Values{"id": {id}}.Encode() }

type apiData struct {
	API            storage.API
	Algs, Dialects []string
	UserPolicies   []string
	ClientPolicies []string
	Management     bool
	Lifetime       string
}

func (h *Handler) showAPIPage(c *call, status int, id string, errs map[string]string) {
	api, err := h.cfg.Admin.GetAPI(c.ctx, id)
	if err != nil {
		if _, ok := problems(err, nil); ok {
			h.message(c.w, http.StatusNotFound, "Not found", "There is no API "+id+".", nil)
			return
		}
		h.fail(c.w, c.r, err)
		return
	}
	c.page(status, "api", "apis", "API "+api.Name, apiData{API: api, Algs: admin.SigningAlgs, Dialects: storage.Dialects,
		UserPolicies: admin.UserPolicies, ClientPolicies: admin.ClientPolicies, Management: api.Identifier == mgmt.Audience(h.cfg.Issuer),
		Lifetime: api.TokenLifetime.String()}, errs)
}

func (h *Handler) showAPI(c *call) { h.showAPIPage(c, http.StatusOK, c.r.URL.Query().Get("id"), nil) }

// updateAPI changes an API's settings: name, lifetime, algorithm, dialect
// and access policies.
func (h *Handler) updateAPI(c *call) {
	f, id := c.form, c.form.Get("id")
	lifetime, ok := parseDuration(f.Get("lifetime"))
	if !ok || lifetime == 0 {
		h.showAPIPage(c, http.StatusUnprocessableEntity, id, map[string]string{"lifetime": "token lifetime " + f.Get("lifetime") + " must be a duration such as 3600s, 90m or 24h"})
		return
	}
	name, alg, dialect := strings.TrimSpace(f.Get("name")), f.Get("signing_alg"), f.Get("token_dialect")
	up, cp, enforce := f.Get("user_policy"), f.Get("client_policy"), f.Get("enforce_policies") == "on"
	_, err := h.cfg.Admin.UpdateAPI(c.ctx, id, admin.APIPatch{Name: &name, TokenLifetime: &lifetime, SigningAlg: &alg, TokenDialect: &dialect,
		UserPolicy: &up, ClientPolicy: &cp, EnforcePolicies: &enforce})
	if err != nil {
		c.invalid(err, apiFields, func(errs map[string]string) { h.showAPIPage(c, http.StatusUnprocessableEntity, id, errs) })
		return
	}
	c.done(apiPath(id), flash{Message: "API " + id + " updated."})
}

func (h *Handler) changeScopes(c *call, change func([]storage.Scope) []storage.Scope, msg string) {
	id := c.form.Get("id")
	api, err := h.cfg.Admin.GetAPI(c.ctx, id)
	if err != nil {
		c.invalid(err, nil, func(errs map[string]string) { h.message(c.w, http.StatusNotFound, "Not found", errs[""], nil) })
		return
	}
	scopes := change(slices.Clone(api.Scopes))
	if _, err := h.cfg.Admin.UpdateAPI(c.ctx, id, admin.APIPatch{Scopes: &scopes}); err != nil {
		c.invalid(err, map[string][]string{"scope": {"scope"}}, func(errs map[string]string) { h.showAPIPage(c, http.StatusUnprocessableEntity, id, errs) })
		return
	}
	c.done(apiPath(id), flash{Message: msg})
}

func (h *Handler) addScope(c *call) {
	v, d := strings.TrimSpace(c.form.Get("scope")), strings.TrimSpace(c.form.Get("description"))
	h.changeScopes(c, func(s []storage.Scope) []storage.Scope { return append(s, storage.Scope{Value: v, Description: d}) }, "Scope "+v+" added.")
}

func (h *Handler) removeScope(c *call) {
	v := c.form.Get("scope")
	h.changeScopes(c, func(s []storage.Scope) []storage.Scope {
		return slices.DeleteFunc(s, func(x storage.Scope) bool { return x.Value == v })
	}, "Scope "+v+" removed; grants and permissions lose it.")
}

func (h *Handler) deleteAPI(c *call) {
	id := c.form.Get("id")
	if id == mgmt.Audience(h.cfg.Issuer) {
		h.showAPIPage(c, http.StatusUnprocessableEntity, id, map[string]string{"": "the management API is built in and cannot be deleted"})
		return
	}
	if err := h.cfg.Admin.DeleteAPI(c.ctx, id); err != nil {
		c.invalid(err, nil, func(errs map[string]string) { h.message(c.w, http.StatusNotFound, "Not found", errs[""], nil) })
		return
	}
	c.done(Path+"/apis", flash{Message: "API " + id + " deleted with its grants."})
}
