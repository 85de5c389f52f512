package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Attacks on people's tokens (RFC 9700 §2.3, RFC 6819 §5.1.5.1): a person
// logging in through some client asks for more than the client was
// granted for people, or for an API that accepts no people at all.

// authURLFor is an authorization request of client to cb for audience.
func (f *loginFixture) authURLFor(clientID, cb, audience, scope string) string {
	return strings.TrimRight(f.issuer, "/") + "/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {cb}, "scope": {scope}, "state": {"st"},
		"code_challenge": {oauth.S256Challenge(pkceVerifier)}, "code_challenge_method": {"S256"}, "audience": {audience},
	}.Encode()
}

// loginFor logs Alice in through the web client for audience and returns
// the token response, or the error the authorization endpoint sent back.
func (f *loginFixture) loginFor(audience, scope string) (tokenReply, string) {
	f.t.Helper()
	to := f.browser().login(f.authURLFor(f.web.ClientID, webCB, audience, scope))
	if e := to.Query().Get("error"); e != "" {
		return tokenReply{}, e
	}
	return f.token(f.webCode(to.Query().Get("code"), nil)), ""
}

// eventually waits, for up to five seconds, for the catalog to show what
// ok tests.
func (f *loginFixture) eventually(what string, ok func() bool) {
	f.t.Helper()
	eventually(f.t, 5*time.Second, what, ok)
}

// TestPeopleTokensFollowPolicies: a person's token for an API needs what
// the API's user policy asks, and carries only what the client's user
// grant gives; a scope granted to no one is never issued.
func TestPeopleTokensFollowPolicies(t *testing.T) {
	const ledger = "https://ledger.test"
	tests := []struct {
		name       string
		userPolicy string
		grant      string   // the web client's grant for ledger: "", storage.SubjectClient or storage.SubjectUser
		granted    []string // its scopes
		ask        string
		wantError  string // at the authorization endpoint
		wantScope  string
	}{
		{name: "no grant", userPolicy: storage.PolicyRequireClientGrant, ask: "openid read", wantError: "access_denied"},
		{name: "a client grant is not a grant for people", userPolicy: storage.PolicyRequireClientGrant, grant: storage.SubjectClient,
			granted: []string{"read", "write", "admin"}, ask: "openid read", wantError: "access_denied"},
		{name: "a user grant: its scopes only", userPolicy: storage.PolicyRequireClientGrant, grant: storage.SubjectUser,
			granted: []string{"read"}, ask: "openid read write admin", wantScope: "openid read"},
		{name: "a user grant, no API scope asked", userPolicy: storage.PolicyRequireClientGrant, grant: storage.SubjectUser,
			granted: []string{"read"}, ask: "openid", wantScope: "openid"},
		{name: "allow_all: the API's scopes without a grant", userPolicy: storage.PolicyAllowAll, ask: "openid admin nope", wantScope: "openid admin"},
		{name: "deny_all despite a user grant", userPolicy: storage.PolicyDenyAll, grant: storage.SubjectUser,
			granted: []string{"read"}, ask: "openid read", wantError: "access_denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newLoginFixture(t)
			if _, err := f.admin.CreateAPI(f.ctx, admin.APIInput{Identifier: ledger, UserPolicy: tc.userPolicy,
				Scopes: []storage.Scope{{Value: "read"}, {Value: "write"}, {Value: "admin"}}}); err != nil {
				t.Fatal(err)
			}
			if tc.grant != "" {
				if _, err := f.admin.CreateGrantFor(f.ctx, tc.grant, f.web.ClientID, ledger, tc.granted); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(600 * time.Millisecond) // two sync intervals
			tok, authzErr := f.loginFor(ledger, tc.ask)
			if authzErr != tc.wantError {
				t.Fatalf("authorization error %q, want %q (token %v)", authzErr, tc.wantError, tok.body)
			}
			if tc.wantError != "" {
				return
			}
			if tok.status != 200 || tok.body["scope"] != tc.wantScope {
				t.Fatalf("token %d %v, want scope %q", tok.status, tok.body, tc.wantScope)
			}
			if at := claims(t, tok.body["access_token"]); at["scope"] != tc.wantScope || at["sub"] != f.user.UserID {
				t.Errorf("access token claims %v, want scope %q", at, tc.wantScope)
			}
		})
	}
}

// TestPeopleTokensRecheckedAtTheTokenEndpoint: a grant deleted after the
// code was issued makes the code worthless, and a grant narrowed after a
// login narrows the next refreshed token.
func TestPeopleTokensRecheckedAtTheTokenEndpoint(t *testing.T) {
	f := newLoginFixture(t)
	grant := func() storage.Grant {
		gs, err := f.store.ListGrants(f.ctx, storage.GrantFilter{ClientID: f.web.ClientID, Audience: loginAPI, SubjectType: storage.SubjectUser})
		if err != nil || len(gs) != 1 {
			t.Fatalf("grants %v %v", gs, err)
		}
		return gs[0]
	}
	tok, _ := f.loginFor(loginAPI, "openid offline_access read write")
	if tok.body["scope"] != "openid offline_access read write" || tok.body["refresh_token"] == "" {
		t.Fatalf("first token %v", tok.body)
	}
	if _, err := f.admin.UpdateGrant(f.ctx, grant().ID, []string{"read"}); err != nil {
		t.Fatal(err)
	}
	f.eventually("the narrowed grant refreshes to read alone", func() bool {
		r := f.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.body["refresh_token"]},
			"client_id": {f.web.ClientID}, "client_secret": {f.webSecret}})
		if r.status != 200 {
			t.Fatalf("refresh %d %v", r.status, r.body)
		}
		tok.body["refresh_token"] = r.body["refresh_token"]
		return r.body["scope"] == "openid offline_access read" && claims(t, r.body["access_token"])["scope"] == "openid offline_access read"
	})

	code := f.code(f.web.ClientID, webCB, "openid read")
	if err := f.admin.DeleteGrant(f.ctx, grant().ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	wantError(t, f.token(f.webCode(code, nil)), 400, "invalid_grant")
	r := f.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.body["refresh_token"]},
		"client_id": {f.web.ClientID}, "client_secret": {f.webSecret}})
	wantError(t, r, 400, "invalid_grant")
}

// mgmtCall sends a management API request with token.
func (f *loginFixture) mgmtCall(method, path, token string, body any) (int, map[string]any) {
	f.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, strings.TrimRight(f.issuer, "/")+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestManagementAPIAttackByLogin is the reported attack: a login client
// holds a management grant, and a person logging in through it sets
// another person's password. The management API's user policy
// (deny_all by default) refuses the person's token; once an operator opens
// it to the client, the person still needs the operation's permission,
// and the audit names the person acting through the client.
func TestManagementAPIAttackByLogin(t *testing.T) {
	f := newLoginFixture(t)
	mgmtAPI := mgmt.Audience(f.issuer)
	bob, err := f.admin.CreateUser(f.ctx, admin.UserInput{Email: "bob@example.com", Password: "bob's old password", EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.CreateGrant(f.ctx, f.web.ClientID, mgmtAPI, mgmt.ScopeValues()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	steal := map[string]any{"password": "mallory was here"}

	// 1. The management API accepts no people: no token at all.
	tok, authzErr := f.loginFor(mgmtAPI, "openid update:users read:users")
	if authzErr != "access_denied" {
		code, _ := f.mgmtCall("PATCH", "/api/v2/users/"+bob.UserID, tok.body["access_token"], steal)
		t.Fatalf("a person logging in through a client with a management grant: error %q, token scope %q, PATCH bob %d",
			authzErr, tok.body["scope"], code)
	}

	// 2. The operator lets the web client's users call it with update:users
	// (a user grant beside the client's own): Alice, who holds no
	// permission, gets a token but is refused.
	api, err := f.admin.UpdateAPI(f.ctx, mgmtAPI, admin.APIPatch{UserPolicy: ptr(storage.PolicyRequireClientGrant)})
	if err != nil || api.UserPolicy != storage.PolicyRequireClientGrant {
		t.Fatal(api, err)
	}
	if _, err := f.admin.CreateGrantFor(f.ctx, storage.SubjectUser, f.web.ClientID, mgmtAPI, []string{mgmt.ScopeUpdateUsers}); err != nil {
		t.Fatal(err)
	}
	f.eventually("the user grant for the management API", func() bool {
		tok, authzErr = f.loginFor(mgmtAPI, "openid update:users read:users create:users")
		return authzErr == ""
	})
	if tok.body["scope"] != "openid update:users" {
		t.Fatalf("token %v: want update:users alone (the user grant)", tok.body)
	}
	if code, body := f.mgmtCall("PATCH", "/api/v2/users/"+bob.UserID, tok.body["access_token"], steal); code != http.StatusForbidden {
		t.Fatalf("PATCH bob without the permission: %d %v", code, body)
	}
	if code, _ := f.mgmtCall("GET", "/api/v2/users", tok.body["access_token"], nil); code != http.StatusForbidden {
		t.Fatalf("GET users with a token without read:users: %d", code)
	}

	// 3. With the permission (directly), the same token works, and the
	// audit's actor is Alice through the web client.
	if err := f.store.AddUserPermissions(f.ctx, f.user.UserID, storage.Permission{Audience: mgmtAPI, Scope: mgmt.ScopeUpdateUsers}); err != nil {
		t.Fatal(err)
	}
	if code, body := f.mgmtCall("PATCH", "/api/v2/users/"+bob.UserID, tok.body["access_token"], map[string]any{"name": "Bob"}); code != http.StatusOK {
		t.Fatalf("PATCH bob with the permission: %d %v", code, body)
	}
	f.eventually("the audit names Alice", func() bool {
		events, err := f.store.ListAudit(f.ctx, storage.AuditFilter{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(events, func(e storage.AuditEvent) bool {
			return e.Action == storage.AuditUserUpdated && e.Actor == f.user.UserID && e.Target == bob.UserID && e.Details["client_id"] == f.web.ClientID
		})
	})

	// 4. A disabled Alice's token is refused at once.
	if _, err := f.admin.SetUserDisabled(f.ctx, f.user.UserID, true); err != nil {
		t.Fatal(err)
	}
	if code, body := f.mgmtCall("PATCH", "/api/v2/users/"+bob.UserID, tok.body["access_token"], map[string]any{"name": "Bobby"}); code != http.StatusUnauthorized {
		t.Fatalf("PATCH by a disabled user: %d %v", code, body)
	}
}

func ptr[T any](v T) *T { return &v }

// TestRBACEndToEnd: an API that enforces policies, in the rfc9068_authz
// dialect, gives Alice exactly the scopes her role holds, with the
// permissions claim; removing the role counts from the next token (a
// refresh), without a new login.
func TestRBACEndToEnd(t *testing.T) {
	const sensors = "https://sensors.test"
	for _, dialect := range []string{storage.DialectRFC9068Authz, storage.DialectAuth0Authz} {
		t.Run(dialect, func(t *testing.T) {
			f := newLoginFixture(t)
			if _, err := f.admin.CreateAPI(f.ctx, admin.APIInput{Identifier: sensors, EnforcePolicies: true, TokenDialect: dialect, AllowOfflineAccess: true,
				Scopes: []storage.Scope{{Value: "read:sensors"}, {Value: "write:sensors"}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.admin.CreateGrantFor(f.ctx, storage.SubjectUser, f.web.ClientID, sensors, []string{"read:sensors", "write:sensors"}); err != nil {
				t.Fatal(err)
			}
			role, err := f.admin.CreateRole(f.ctx, "viewer", "reads the sensors")
			if err != nil {
				t.Fatal(err)
			}
			if err := f.admin.AddRolePermissions(f.ctx, role.ID, []storage.Permission{{Audience: sensors, Scope: "read:sensors"}}); err != nil {
				t.Fatal(err)
			}
			if err := f.admin.AssignRoles(f.ctx, aliceEmail, []string{role.ID}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(600 * time.Millisecond)
			tok, authzErr := f.loginFor(sensors, "openid offline_access read:sensors write:sensors")
			if authzErr != "" || tok.body["scope"] != "openid offline_access read:sensors" {
				t.Fatalf("token %v (%s): want read:sensors alone", tok.body, authzErr)
			}
			at := claims(t, tok.body["access_token"])
			if perms, _ := at["permissions"].([]any); len(perms) != 1 || perms[0] != "read:sensors" || at["scope"] != "openid offline_access read:sensors" {
				t.Errorf("access token %v: want permissions [read:sensors]", at)
			}

			if err := f.admin.UnassignRoles(f.ctx, f.user.UserID, []string{role.ID}); err != nil {
				t.Fatal(err)
			}
			r := f.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.body["refresh_token"]},
				"client_id": {f.web.ClientID}, "client_secret": {f.webSecret}})
			at = claims(t, r.body["access_token"])
			if perms, ok := at["permissions"].([]any); r.status != 200 || r.body["scope"] != "openid offline_access" || !ok || len(perms) != 0 {
				t.Errorf("after the role is removed: %d %v, claims %v", r.status, r.body, at)
			}
		})
	}
}

// TestClientAccessDenyAll: an API whose client access is deny_all issues no
// client credentials token, grant or not; require_client_grant issues
// the granted one, and a grant for people (subject type user) gives the
// client no token of its own.
func TestClientAccessDenyAll(t *testing.T) {
	f := newLoginFixture(t)
	for _, policy := range []string{storage.PolicyDenyAll, storage.PolicyRequireClientGrant, storage.SubjectUser} {
		aud := "https://" + strings.ReplaceAll(policy, "_", "-") + ".test"
		clientPolicy, subject := policy, storage.SubjectClient
		if policy == storage.SubjectUser {
			clientPolicy, subject = storage.PolicyRequireClientGrant, storage.SubjectUser
		}
		if _, err := f.admin.CreateAPI(f.ctx, admin.APIInput{Identifier: aud, ClientPolicy: clientPolicy, Scopes: []storage.Scope{{Value: "read"}}}); err != nil {
			t.Fatal(err)
		}
		c, sec, err := f.admin.CreateClient(f.ctx, admin.ClientInput{Name: policy})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.admin.CreateGrantFor(f.ctx, subject, c.ClientID, aud, []string{"read"}); err != nil {
			t.Fatal(err)
		}
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {sec.Plain}, "audience": {aud}}
		time.Sleep(600 * time.Millisecond) // two sync intervals
		r := f.token(form)
		if policy != storage.PolicyRequireClientGrant {
			wantError(t, r, http.StatusForbidden, "access_denied")
		} else if r.status != 200 || r.body["scope"] != "read" {
			t.Errorf("%s: %d %v", policy, r.status, r.body)
		}
	}
}
