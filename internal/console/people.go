package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

var personFields = map[string][]string{"email": {"email"}, "password": {"password"}, "name": {"name"}}

type peopleData struct {
	People []storage.User
	Pager  pager
}

func (h *Handler) peopleData(c *call) (peopleData, error) {
	all, err := h.cfg.Admin.ListUsers(c.ctx)
	if err != nil {
		return peopleData{}, err
	}
	q := strings.TrimSpace(c.r.URL.Query().Get("q"))
	all = slices.DeleteFunc(all, func(u storage.User) bool { return !matches(q, u.Email, u.Name, u.UserID) })
	rows, p := paginate(c.r, all, Path+"/people", nil)
	return peopleData{People: rows, Pager: p}, nil
}

func (h *Handler) showPeople(c *call, status int, errs map[string]string) {
	d, err := h.peopleData(c)
	if err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	c.page(status, "people", "people", "People", d, errs)
}

func (h *Handler) listPeople(c *call) { h.showPeople(c, http.StatusOK, nil) }

func (h *Handler) createPerson(c *call) {
	u, err := h.cfg.Admin.CreateUser(c.ctx, admin.UserInput{Email: strings.TrimSpace(c.form.Get("email")), Name: strings.TrimSpace(c.form.Get("name")),
		Password: c.form.Get("password")})
	if err != nil {
		c.form.Del("password") // never shown again
		c.invalid(err, personFields, func(errs map[string]string) { h.showPeople(c, http.StatusUnprocessableEntity, errs) })
		return
	}
	c.done(personPath(u.UserID), flash{Message: "Person " + u.Email + " created."})
}

func personPath(id string) string { return Path + "/people/" + url.PathEscape(id) }

type personData struct {
	User        storage.User
	Roles       []storage.Role
	AllRoles    []storage.Role
	Permissions []admin.HeldPermission
	APIs        []*storage.API
}

func (h *Handler) showPersonPage(c *call, status int, errs map[string]string) {
	id := c.r.PathValue("id")
	u, err := h.cfg.Admin.GetUser(c.ctx, id)
	if err != nil {
		if _, ok := problems(err, nil); ok {
			h.message(c.w, http.StatusNotFound, "Not found", "There is no person "+id+".", nil)
			return
		}
		h.fail(c.w, c.r, err)
		return
	}
	d := personData{User: u, APIs: sortedAPIs(h)}
	if c.can(mgmt.ScopeReadRoleMembers) {
		if d.Roles, err = h.cfg.Admin.UserRoles(c.ctx, u.UserID); err != nil {
			h.fail(c.w, c.r, err)
			return
		}
	}
	if c.can(mgmt.ScopeReadRoles) {
		if d.AllRoles, err = h.cfg.Admin.ListRoles(c.ctx); err != nil {
			h.fail(c.w, c.r, err)
			return
		}
	}
	if d.Permissions, err = h.cfg.Admin.UserPermissions(c.ctx, u.UserID); err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	c.page(status, "person", "people", u.Email, d, errs)
}

func sortedAPIs(h *Handler) []*storage.API {
	apis := h.cfg.Catalog.Snapshot().APIs()
	slices.SortFunc(apis, func(a, b *storage.API) int { return strings.Compare(a.Identifier, b.Identifier) })
	return apis
}

func (h *Handler) showPerson(c *call) { h.showPersonPage(c, http.StatusOK, nil) }

// personAction runs one change to the person of the page and goes back to
// it, or shows the page again with the change's problems.
func (h *Handler) personAction(c *call, msg string, change func(id string) error) {
	id := c.r.PathValue("id")
	if err := change(id); err != nil {
		c.form.Del("password")
		c.invalid(err, map[string][]string{"password": {"password"}, "permission": {"scope", "api", "permission"}, "role": {"role"}},
			func(errs map[string]string) { h.showPersonPage(c, http.StatusUnprocessableEntity, errs) })
		return
	}
	c.done(personPath(id), flash{Message: msg})
}

func (h *Handler) blockPerson(c *call) {
	block := c.form.Get("blocked") == "true"
	msg := "Person unblocked."
	if block {
		msg = "Person blocked: their logins and console sessions stop working."
	}
	h.personAction(c, msg, func(id string) error {
		_, err := h.cfg.Admin.SetUserDisabled(c.ctx, id, block)
		return err
	})
}

func (h *Handler) resetPassword(c *call) {
	h.personAction(c, "Password replaced.", func(id string) error {
		_, err := h.cfg.Admin.SetUserPassword(c.ctx, id, c.form.Get("password"))
		return err
	})
}

func permissionOf(f url.Values) []storage.Permission {
	return []storage.Permission{{Audience: f.Get("audience"), Scope: strings.TrimSpace(f.Get("scope"))}}
}

func (h *Handler) addPersonPermission(c *call) {
	h.personAction(c, "Permission given.", func(id string) error {
		return h.cfg.Admin.AddUserPermissions(c.ctx, id, permissionOf(c.form))
	})
}

func (h *Handler) removePersonPermission(c *call) {
	h.personAction(c, "Permission taken away: it counts from the person's next action.", func(id string) error {
		return h.cfg.Admin.RemoveUserPermissions(c.ctx, id, permissionOf(c.form))
	})
}

func (h *Handler) assignRole(c *call) {
	h.personAction(c, "Role given.", func(id string) error {
		return h.cfg.Admin.AssignRoles(c.ctx, id, []string{c.form.Get("role")})
	})
}

func (h *Handler) unassignRole(c *call) {
	h.personAction(c, "Role taken away.", func(id string) error {
		return h.cfg.Admin.UnassignRoles(c.ctx, id, []string{c.form.Get("role")})
	})
}

// Roles.

var roleFields = map[string][]string{"name": {"name"}, "description": {"description"}}

type rolesData struct {
	Roles []storage.Role
	Pager pager
}

func (h *Handler) showRoles(c *call, status int, errs map[string]string) {
	all, err := h.cfg.Admin.ListRoles(c.ctx)
	if err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	q := strings.TrimSpace(c.r.URL.Query().Get("q"))
	all = slices.DeleteFunc(all, func(r storage.Role) bool { return !matches(q, r.Name, r.Description, r.ID) })
	rows, p := paginate(c.r, all, Path+"/roles", nil)
	c.page(status, "roles", "roles", "Roles", rolesData{Roles: rows, Pager: p}, errs)
}

func (h *Handler) listRoles(c *call) { h.showRoles(c, http.StatusOK, nil) }

func (h *Handler) createRole(c *call) {
	r, err := h.cfg.Admin.CreateRole(c.ctx, strings.TrimSpace(c.form.Get("name")), strings.TrimSpace(c.form.Get("description")))
	if err != nil {
		c.invalid(err, roleFields, func(errs map[string]string) { h.showRoles(c, http.StatusUnprocessableEntity, errs) })
		return
	}
	c.done(rolePath(r.ID), flash{Message: "Role " + r.Name + " created."})
}

func rolePath(id string) string { return Path + "/roles/" + url.PathEscape(id) }

type roleData struct {
	Role        storage.Role
	Permissions []storage.Permission
	Users       []storage.User
	APIs        []*storage.API
}

func (h *Handler) showRolePage(c *call, status int, errs map[string]string) {
	id := c.r.PathValue("id")
	r, err := h.cfg.Admin.GetRole(c.ctx, id)
	if err != nil {
		if _, ok := problems(err, nil); ok {
			h.message(c.w, http.StatusNotFound, "Not found", "There is no role "+id+".", nil)
			return
		}
		h.fail(c.w, c.r, err)
		return
	}
	d := roleData{Role: r, APIs: sortedAPIs(h)}
	if d.Permissions, err = h.cfg.Admin.RolePermissions(c.ctx, id); err != nil {
		h.fail(c.w, c.r, err)
		return
	}
	if c.can(mgmt.ScopeReadRoleMembers) {
		if d.Users, err = h.cfg.Admin.RoleUsers(c.ctx, id); err != nil {
			h.fail(c.w, c.r, err)
			return
		}
	}
	c.page(status, "role", "roles", "Role "+r.Name, d, errs)
}

func (h *Handler) showRole(c *call) { h.showRolePage(c, http.StatusOK, nil) }

func (h *Handler) roleAction(c *call, msg string, change func(id string) error) {
	id := c.r.PathValue("id")
	if err := change(id); err != nil {
		c.invalid(err, map[string][]string{"permission": {"scope", "api", "permission"}},
			func(errs map[string]string) { h.showRolePage(c, http.StatusUnprocessableEntity, errs) })
		return
	}
	c.done(rolePath(id), flash{Message: msg})
}

func (h *Handler) addRolePermission(c *call) {
	h.roleAction(c, "Permission added to the role.", func(id string) error {
		return h.cfg.Admin.AddRolePermissions(c.ctx, id, permissionOf(c.form))
	})
}

func (h *Handler) removeRolePermission(c *call) {
	h.roleAction(c, "Permission removed from the role: its people lose it from their next action.", func(id string) error {
		return h.cfg.Admin.RemoveRolePermissions(c.ctx, id, permissionOf(c.form))
	})
}

func (h *Handler) deleteRole(c *call) {
	id := c.r.PathValue("id")
	if err := h.cfg.Admin.DeleteRole(c.ctx, id); err != nil {
		c.invalid(err, nil, func(errs map[string]string) { h.showRolePage(c, http.StatusUnprocessableEntity, errs) })
		return
	}
	c.done(Path+"/roles", flash{Message: "Role deleted; its people lose its permissions."})
}
