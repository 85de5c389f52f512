package authorize

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// PathLogout is the end_session_endpoint (OpenID Connect RP-Initiated
// Logout 1.0 §2).
const PathLogout = "/oidc/logout"

// IDTokenHint checks an id_token_hint: an ID token this server issued,
// expired or not, and returns its subject and audience.
type IDTokenHint func(idToken string) (sub string, aud []string, err error)

var logoutParams = []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state", "logout_hint", "ui_locales"}

// logout is GET and POST /oidc/logout. post_logout_redirect_uri is only
// followed when it is one of the client's allowed logout URLs (exact
// match), the client being named by client_id or the id_token_hint's
// audience; otherwise an error page, never a redirect. The user is asked
// to confirm unless the id_token_hint names the session's user (§2: the OP
// MUST ask when there is no hint).
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	var v url.Values
	confirmed := false
	switch r.Method {
	case http.MethodGet:
		var err error
		if v, err = url.ParseQuery(r.URL.RawQuery); err != nil {
			errorPage(w, http.StatusBadRequest, "The logout request could not be read.")
			return
		}
	case http.MethodPost:
		form, ok := readForm(w, r)
		if !ok {
			return
		}
		v = form
		if inner, ok := form["logout_request"]; ok { // our own confirmation form
			if !h.checkCSRF(r, form) {
				errorPage(w, http.StatusForbidden, "This form expired or was not sent from this site.")
				return
			}
			var err error
			if v, err = url.ParseQuery(inner[0]); err != nil {
				errorPage(w, http.StatusBadRequest, "The logout request could not be read.")
				return
			}
			confirmed = form.Get("confirm") == "yes"
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		errorPage(w, http.StatusMethodNotAllowed, "This page answers GET and POST only.")
		return
	}
	for _, p := range logoutParams {
		if len(v[p]) > 1 {
			errorPage(w, http.StatusBadRequest, "The parameter "+p+" was given more than once.")
			return
		}
	}
	var hintSub, hintClient string
	if hint := v.Get("id_token_hint"); hint != "" {
		if h.cfg.IDTokenHint == nil {
			errorPage(w, http.StatusBadRequest, "The id_token_hint cannot be checked.")
			return
		}
		sub, aud, err := h.cfg.IDTokenHint(hint)
		if err != nil || len(aud) == 0 {
			errorPage(w, http.StatusBadRequest, "The id_token_hint is not an ID token of this server.")
			return
		}
		hintSub, hintClient = sub, aud[0]
	}
	clientID := v.Get("client_id")
	if clientID != "" && hintClient != "" && clientID != hintClient {
		errorPage(w, http.StatusBadRequest, "The client_id is not the id_token_hint's audience.")
		return
	}
	if clientID == "" {
		clientID = hintClient
	}
	var client *catalog.Client
	if clientID != "" {
		c, ok := h.cfg.Catalog.Snapshot().Client(clientID)
		if !ok {
			errorPage(w, http.StatusBadRequest, "The application that sent you here is unknown.")
			return
		}
		client = c
	}
	target := v.Get("post_logout_redirect_uri")
	if target != "" {
		if client == nil {
			errorPage(w, http.StatusBadRequest, "A post_logout_redirect_uri needs a client_id or an id_token_hint.")
			return
		}
		if !slices.Contains(client.AllowedLogoutURLs, target) {
			errorPage(w, http.StatusBadRequest, "The post_logout_redirect_uri is not an allowed logout URL of this application, so you are not sent there.")
			return
		}
	}
	_, user, err := h.session(r, h.cfg.Now())
	if err != nil {
		h.cfg.Logger.Error("logout: read session", "err", err)
		errorPage(w, http.StatusInternalServerError, "The server could not complete the logout.")
		return
	}
	if user != nil && !confirmed && hintSub != user.UserID {
		csrf, err := h.csrfToken(w, r)
		if err != nil {
			errorPage(w, http.StatusInternalServerError, "The server could not complete the logout.")
			return
		}
		p := page{Title: "Log out", Action: h.base + PathLogout, CSRF: csrf, Request: v.Encode(), User: user.Email}
		if client != nil {
			p.ClientName = client.Name
		}
		render(w, http.StatusOK, "logout", p, 0)
		return
	}
	if ended := h.EndSession(w, r); ended != "" {
		clientID := ""
		if client != nil {
			clientID = client.ClientID
		}
		h.audit(r.Context(), ended, storage.AuditUserLogout, clientID, storage.OutcomeSuccess, nil)
	}
	if target == "" {
		render(w, http.StatusOK, "loggedout", page{Title: "Logged out"}, 0)
		return
	}
	u, err := url.Parse(target)
	if err != nil {
		errorPage(w, http.StatusInternalServerError, "The logout URL is broken.")
		return
	}
	if st := v.Get("state"); st != "" {
		q := u.Query()
		q.Set("state", st)
		u.RawQuery = q.Encode()
	}
	http.Redirect(w, r, u.String(), http.StatusFound)
}
