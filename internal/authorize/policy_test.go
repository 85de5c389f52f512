package authorize_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/authorize"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const sensorsAPI = "https://sensors.example.com/"

// TestConsentShowsWhatTheTokenCarries: the consent page lists, and the
// code holds, the API scopes the client's user grant and the person's
// permissions allow, never one more (RFC 9700 §2.3); without them the
// request is access_denied before any page.
func TestConsentShowsWhatTheTokenCarries(t *testing.T) {
	tests := []struct {
		name     string
		api      admin.APIInput
		grant    []string // the web client's user grant; nil for none
		held     []string // Alice's permissions for the API
		ask      string
		wantErr  string
		shown    []string // on the consent page
		notShown []string
		code     string // the code's scope
	}{
		{name: "no user grant", api: admin.APIInput{}, ask: "openid read:sensors", wantErr: "access_denied"},
		{name: "deny_all", api: admin.APIInput{UserPolicy: storage.PolicyDenyAll}, grant: []string{"read:sensors"}, ask: "openid read:sensors", wantErr: "access_denied"},
		{name: "the grant's scopes", api: admin.APIInput{}, grant: []string{"read:sensors"}, ask: "openid read:sensors write:sensors",
			shown: []string{"Read sensors (read:sensors)"}, notShown: []string{"write:sensors"}, code: "openid read:sensors"},
		{name: "enforce policies: the permissions held", api: admin.APIInput{EnforcePolicies: true}, grant: []string{"read:sensors", "write:sensors"},
			held: []string{"read:sensors"}, ask: "openid read:sensors write:sensors",
			shown: []string{"Read sensors (read:sensors)"}, notShown: []string{"write:sensors"}, code: "openid read:sensors"},
		{name: "enforce policies: nothing held", api: admin.APIInput{EnforcePolicies: true, UserPolicy: storage.PolicyAllowAll},
			ask: "openid read:sensors write:sensors", shown: []string{"Sign you in"}, notShown: []string{"sensors ("}, code: "openid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := t.Context()
			in := tc.api
			in.Identifier = sensorsAPI
			in.Scopes = []storage.Scope{{Value: "read:sensors", Description: "Read sensors"}, {Value: "write:sensors", Description: "Change sensors"}}
			if _, err := e.svc.CreateAPI(ctx, in); err != nil {
				t.Fatal(err)
			}
			if tc.grant != nil {
				if _, err := e.svc.CreateGrantFor(ctx, storage.SubjectUser, e.web.ClientID, sensorsAPI, tc.grant); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range tc.held {
				if err := e.store.AddUserPermissions(ctx, e.user.UserID, storage.Permission{Audience: sensorsAPI, Scope: p}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.cat.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			b := e.browser()
			r := b.get(authorize.Path, e.authz(func(v url.Values) { v.Set("audience", sensorsAPI); v.Set("scope", tc.ask) }))
			if tc.wantErr != "" {
				e.wantRedirect(t, r, webCB, tc.wantErr, "st-123")
				return
			}
			r = b.logIn(r, "alice@example.com", password)
			if r.status != http.StatusOK {
				t.Fatalf("consent page: %d %s", r.status, r.body)
			}
			for _, s := range tc.shown {
				if !strings.Contains(r.body, s) {
					t.Errorf("the consent page lacks %q", s)
				}
			}
			for _, s := range tc.notShown {
				if strings.Contains(r.body, s) {
					t.Errorf("the consent page shows %q", s)
				}
			}
			q := e.wantRedirect(t, b.decide(r, "allow"), webCB, "", "st-123")
			code, err := e.store.RedeemAuthCode(ctx, authorize.CodeID(q.Get("code")), "", "", e.clock())
			if err != nil || strings.Join(code.Scope, " ") != tc.code {
				t.Errorf("code scope %v (%v), want %q", code.Scope, err, tc.code)
			}
			c, err := e.store.GetConsent(ctx, e.user.UserID, e.web.ClientID, sensorsAPI)
			if err != nil || strings.Join(c.Scope, " ") != tc.code {
				t.Errorf("consent %v (%v), want %q", c.Scope, err, tc.code)
			}
		})
	}
}
