package console

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

var appFields = map[string][]string{"name": {"name"}, "description": {"description"}}

type appsData struct {
	Apps  []*catalog.Client
	Pager pager
	Kind  string
}

// appsData lists the applications from the in-memory catalog: searched,
// filtered by kind and sorted by name at every request, which costs a few
// milliseconds at 10,000 clients (BenchmarkApplicationsPage).
func (h *Handler) appsData(r *http.Request) appsData {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	kind := r.URL.Query().Get("kind")
	var all []*catalog.Client
	h.cfg.Catalog.Snapshot().EachClient(func(c *catalog.Client) bool {
		machine := !admin.IsLogin(c.AppType)
		if (kind == "machine" && !machine) || (kind == "login" && machine) {
			return true
		}
		if matches(q, c.Name, c.ClientID, c.Description) {
			all = append(all, c)
		}
		return true
	})
	slices.SortFunc(all, func(a, b *catalog.Client) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.ClientID, b.ClientID))
	})
	var extra url.Values
	if kind != "" {
		extra = url.Values{"kind": {kind}}
	}
	rows, p := paginate(r, all, Path+"/applications", extra)
	return appsData{Apps: rows, Pager: p, Kind: kind}
}

func (h *Handler) listApps(c *call) {
	c.page(http.StatusOK, "applications", "applications", "Applications", h.appsData(c.r), nil)
}

// createApp creates a machine-to-machine client; its secret is shown once,
// on the next page.
func (h *Handler) createApp(c *call) {
	cl, sec, err := h.cfg.Admin.CreateClient(c.ctx, admin.ClientInput{Name: c.form.Get("name"), Description: strings.TrimSpace(c.form.Get("description"))})
	if err != nil {
		c.invalid(err, appFields, func(errs map[string]string) {
			c.page(http.StatusUnprocessableEntity, "applications", "applications", "Applications", h.appsData(c.r), errs)
		})
		return
	}
	c.done(appPath(cl.ClientID), flash{Message: "Application " + cl.Name + " created.", Client: cl.ClientID, Secret: sec.Plain})
}

func appPath(id string) string { return Path + "/applications/" + url.PathEscape(id) }

type secretRow struct {
	storage.Secret
	Active bool
	State  string
}

type grantRow struct {
	storage.Grant
	API *storage.API
}

// credentialRow is one of a client's key credentials and the
// authentication method that uses it, if any.
type credentialRow struct {
	storage.Credential
	UsedBy string
	Active bool
}

type appData struct {
	Client      storage.Client
	Credentials []credentialRow
	// Federated are the workload identities that may act as the client.
	Federated []storage.FederatedCredential
	// CredentialsShown is set when the person may read them, key and
	// federated credentials (read:client_credentials, as in the
	// management API).
	CredentialsShown bool
	Machine          bool
	Secrets          []secretRow
	Grants           []grantRow
	APIs             []*storage.API
	NewSecret        string
	Now              time.Time
	Issuer           string
	TokenURL         string
	Audience         string
	Scopes           []string
	Management       string
}

func (h *Handler) showAppPage(c *call, status int, errs map[string]string) {
	id := c.r.PathValue("id")
	cl, err := h.cfg.Admin.GetClient(c.ctx, id)
	if err != nil {
		if _, ok := problems(err, nil); ok {
			h.message(c.w, http.StatusNotFound, "Not found", "There is no application "+id+".", nil)
			return
		}
		h.fail(c.w, c.r, err)
		return
	}
	now := h.cfg.Now()
	d := appData{Client: cl, Machine: !admin.IsLogin(cl.AppType), Now: now, Issuer: h.base, TokenURL: h.base + "/oauth/token",
		Management: mgmt.Audience(h.cfg.Issuer)}
	if c.flash.Client == cl.ClientID {
		d.NewSecret = c.flash.Secret
	}
	if c.can(mgmt.ScopeReadClientKeys) {
		secrets, err := h.cfg.Admin.ListSecrets(c.ctx, id)
		if err != nil {
			h.fail(c.w, c.r, err)
			return
		}
		slices.Reverse(secrets) // newest first
		for _, s := range secrets {
			row := secretRow{Secret: s, Active: s.ActiveAt(now), State: "active"}
			switch {
			case !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt):
				row.State = "expired"
			case !s.NotBefore.IsZero() && now.Before(s.NotBefore):
				row.State = "not yet active"
			case !s.ExpiresAt.IsZero():
				row.State = "active, expiring"
			}
			d.Secrets = append(d.Secrets, row)
		}
	}
	if c.can(mgmt.ScopeReadClientCredentials) {
		creds, err := h.cfg.Admin.ListCredentials(c.ctx, id)
		if err != nil {
			h.fail(c.w, c.r, err)
			return
		}
		if d.Federated, err = h.cfg.Admin.ListFederatedCredentials(c.ctx, id); err != nil {
			h.fail(c.w, c.r, err)
			return
		}
		d.CredentialsShown = true
		for _, cr := range creds {
			row := credentialRow{Credential: cr, Active: cr.ActiveAt(now)}
			for method, ids := range map[string][]string{storage.AuthMethodPrivateKeyJWT: cl.AuthMethods.PrivateKeyJWT,
				storage.AuthMethodTLSClientAuth: cl.AuthMethods.TLSClientAuth, storage.AuthMethodSelfSignedTLSClientAuth: cl.AuthMethods.SelfSignedTLSClientAuth} {
				if slices.Contains(ids, cr.ID) {
					row.UsedBy = method
				}
			}
			d.Credentials = append(d.Credentials, row)
		}
	}
	snap := h.cfg.Catalog.Snapshot()
	if c.can(mgmt.ScopeReadClientGrants) {
		grants, err := h.cfg.Admin.Store.ListGrants(c.ctx, storage.GrantFilter{ClientID: id})
		if err != nil {
			h.fail(c.w, c.r, err)
			return
		}
		for _, g := range grants {
			api, _ := snap.API(g.Audience)
			d.Grants = append(d.Grants, grantRow{Grant: g, API: api})
			if d.Audience == "" && g.SubjectType != storage.SubjectUser {
				d.Audience, d.Scopes = g.Audience, g.Scope
			}
		}
	}
	d.APIs = snap.APIs()
	slices.SortFunc(d.APIs, func(a, b *storage.API) int { return strings.Compare(a.Identifier, b.Identifier) })
	c.page(status, "application", "applications", cl.Name, d, errs)
}

func (h *Handler) showApp(c *call) { h.showAppPage(c, http.StatusOK, nil) }

func (h *Handler) disableApp(c *call) {
	id := c.r.PathValue("id")
	disabled := c.form.Get("disabled") == "true"
	if disabled && id == h.clientID() {
		h.showAppPage(c, http.StatusUnprocessableEntity, map[string]string{"": "the console's own login client cannot be disabled from the console: no one could sign in to enable it again"})
		return
	}
	if _, err := h.cfg.Admin.SetClientDisabled(c.ctx, id, disabled); err != nil {
		c.invalid(err, nil, func(errs map[string]string) { h.showAppPage(c, http.StatusUnprocessableEntity, errs) })
		return
	}
	msg := "Application enabled."
	if disabled {
		msg = "Application disabled: its tokens are refused."
	}
	c.done(appPath(id), flash{Message: msg})
}

func (h *Handler) deleteApp(c *call) {
	id := c.r.PathValue("id")
	if id == h.clientID() {
		h.showAppPage(c, http.StatusUnprocessableEntity, map[string]string{"": "the console's own login client cannot be deleted from the console"})
		return
	}
	if err := h.cfg.Admin.DeleteClient(c.ctx, id); err != nil {
		c.invalid(err, nil, func(errs map[string]string) { h.showAppPage(c, http.StatusUnprocessableEntity, errs) })
		return
	}
	c.done(Path+"/applications", flash{Message: "Application " + id + " deleted with its secrets and grants."})
}

var secretFields = map[string][]string{"grace": {"grace"}, "not_before": {"active", "not before"}, "expires_in": {"expire"}}

// rotateSecret adds a secret active now and caps the others at now+grace.
func (h *Handler) rotateSecret(c *call) {
	id := c.r.PathValue("id")
	grace, ok := parseDuration(c.form.Get("grace"))
	if !ok {
		h.showAppPage(c, http.StatusUnprocessableEntity, map[string]string{"grace": "grace " + c.form.Get("grace") + " must be a duration such as 24h or 30m"})
		return
	}
	sec, err := h.cfg.Admin.RotateSecret(c.ctx, id, grace)
	if err != nil {
		c.invalid(err, secretFields, func(errs map[string]string) { h.showAppPage(c, http.StatusUnprocessableEntity, errs) })
		return
	}
	c.done(appPath(id), flash{Message: "Secret rotated: the other secrets stop working in " + grace.String() + ".", Client: id, Secret: sec.Plain})
}

// addSecret adds a secret that becomes active at not_before (UTC; empty:
// now) and expires after expires_in (empty: never).
func (h *Handler) addSecret(c *call) {
	id := c.r.PathValue("id")
	var nb time.Time
	if v := strings.TrimSpace(c.form.Get("not_before")); v != "" {
		t, err := parseWhen(v)
		if err != nil {
			h.showAppPage(c, http.StatusUnprocessableEntity, map[string]string{"not_before": err.Error()})
			return
		}
		nb = t
	}
	exp, ok := parseDuration(c.form.Get("expires_in"))
	if !ok {
		h.showAppPage(c, http.StatusUnprocessableEntity, map[string]string{"expires_in": "expires in " + c.form.Get("expires_in") + " must be a duration such as 720h"})
		return
	}
	sec, err := h.cfg.Admin.AddSecret(c.ctx, id, nb, exp)
	if err != nil {
		c.invalid(err, secretFields, func(errs map[string]string) { h.showAppPage(c, http.StatusUnprocessableEntity, errs) })
		return
	}
	c.done(appPath(id), flash{Message: "Secret added.", Client: id, Secret: sec.Plain})
}

// parseWhen reads a time field: RFC 3339, or a datetime-local value
// (2006-01-02T15:04) taken as UTC.
func parseWhen(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("active from " + v + " must be a time such as 2026-12-31T09:00 (UTC)")
}

func (h *Handler) revokeSecret(c *call) {
	id, sid := c.r.PathValue("id"), c.r.PathValue("sid")
	if err := h.cfg.Admin.RevokeSecret(c.ctx, id, sid); err != nil {
		c.invalid(err, nil, func(errs map[string]string) { h.showAppPage(c, http.StatusUnprocessableEntity, errs) })
		return
	}
	c.done(appPath(id), flash{Message: "Secret " + sid + " revoked."})
}

var grantFields = map[string][]string{"audience": {"api", "audience"}, "scope": {"scope"}}

func (h *Handler) createGrant(c *call) {
	id := c.r.PathValue("id")
	scopes := grantScopes(c.form)
	_, err := h.cfg.Admin.CreateGrant(c.ctx, id, c.form.Get("audience"), scopes)
	if err != nil {
		c.invalid(err, grantFields, func(errs map[string]string) { h.showAppPage(c, http.StatusUnprocessableEntity, errs) })
		return
	}
	c.done(appPath(id), flash{Message: "Grant for " + c.form.Get("audience") + " created."})
}

// grantScopes reads the scopes of a grant form: checkboxes named scope,
// and a free field scopes (space-separated).
func grantScopes(f url.Values) []string {
	out := slices.Clone(f["scope"])
	out = append(out, strings.Fields(f.Get("scopes"))...)
	if out == nil {
		out = []string{}
	}
	return out
}

func (h *Handler) updateGrant(c *call) {
	id, gid := c.r.PathValue("id"), c.r.PathValue("gid")
	if err := h.ownGrant(c, id, gid); err != nil {
		c.invalid(err, nil, func(errs map[string]string) { h.showAppPage(c, http.StatusUnprocessableEntity, errs) })
		return
	}
	if _, err := h.cfg.Admin.UpdateGrant(c.ctx, gid, grantScopes(c.form)); err != nil {
		c.invalid(err, grantFields, func(errs map[string]string) { h.showAppPage(c, http.StatusUnprocessableEntity, errs) })
		return
	}
	c.done(appPath(id), flash{Message: "Grant updated."})
}

func (h *Handler) deleteGrant(c *call) {
	id, gid := c.r.PathValue("id"), c.r.PathValue("gid")
	if err := h.ownGrant(c, id, gid); err != nil {
		c.invalid(err, nil, func(errs map[string]string) { h.showAppPage(c, http.StatusUnprocessableEntity, errs) })
		return
	}
	if err := h.cfg.Admin.DeleteGrant(c.ctx, gid); err != nil {
		c.invalid(err, nil, func(errs map[string]string) { h.showAppPage(c, http.StatusUnprocessableEntity, errs) })
		return
	}
	c.done(appPath(id), flash{Message: "Grant deleted."})
}

// ownGrant checks that grant gid is the application's, so that a page of
// one application never changes another's grant.
func (h *Handler) ownGrant(c *call, id, gid string) error {
	g, err := h.cfg.Admin.Store.GetGrant(c.ctx, gid)
	if err == nil && g.ClientID != id {
		err = storage.ErrNotFound
	}
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("the application has no grant %s: %w", gid, storage.ErrNotFound)
	}
	return err
}
