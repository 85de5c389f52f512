package admin_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
	"github.com/gatehouse-dev/gatehouse/internal/users"
)

func TestCreateLoginClient(t *testing.T) {
	web := func(mod func(*admin.LoginClientInput)) admin.LoginClientInput {
		in := admin.LoginClientInput{Name: "app", AppType: storage.AppTypeRegularWeb, RedirectURIs: []string{"https://app.example.com/cb"}}
		if mod != nil {
			mod(&in)
		}
		return in
	}
	tests := []struct {
		name string
		in   admin.LoginClientInput
		want []string // substrings of the one error; nil: success
	}{
		{"regular web", web(nil), nil},
		{"spa", web(func(in *admin.LoginClientInput) { in.AppType = storage.AppTypeSPA }), nil},
		{"native with a private-use scheme and loopback", web(func(in *admin.LoginClientInput) {
			in.AppType = storage.AppTypeNative
			in.RedirectURIs = []string{"com.example.app:/oauth2redirect", "http://127.0.0.1:7777/cb", "http://[::1]/cb"}
		}), nil},
		{"web with client_credentials too", web(func(in *admin.LoginClientInput) {
			in.GrantTypes = []string{"authorization_code", "client_credentials"}
		}), nil},
		{"logout URLs", web(func(in *admin.LoginClientInput) {
			in.LogoutURLs = []string{"https://app.example.com/", "http://127.0.0.1/bye"}
		}), nil},
		{"m2m app type", web(func(in *admin.LoginClientInput) { in.AppType = storage.AppTypeNonInteractive }),
			[]string{`app type "non_interactive" must be one of regular_web, spa, native`}},
		{"no redirect URI", web(func(in *admin.LoginClientInput) { in.RedirectURIs = nil }), []string{"at least one redirect URI"}},
		{"public client_credentials", web(func(in *admin.LoginClientInput) {
			in.AppType = storage.AppTypeSPA
			in.GrantTypes = []string{"authorization_code", "client_credentials"}
		}), []string{"public and cannot use client_credentials"}},
		{"refresh without code", web(func(in *admin.LoginClientInput) { in.GrantTypes = []string{"refresh_token"} }),
			[]string{"refresh_token needs authorization_code"}},
		{"unknown grant", web(func(in *admin.LoginClientInput) { in.GrantTypes = []string{"authorization_code", "password"} }),
			[]string{`grant type "password" must be one of`}},
		{"every bad redirect at once", web(func(in *admin.LoginClientInput) {
			in.RedirectURIs = []string{
				"https://app.example.com/cb#frag", "https://*.example.com/cb", "http://app.example.com/cb",
				"http://localhost:8080/cb", "/relative", "javascript:alert(1)", "com.example.app:/cb",
				"https://app.example.com/cb", "https://app.example.com/cb", "https://user:pw@app.example.com/",
				"https://app.example.com/a b",
			}
		}), []string{"must not contain a fragment", "must not contain a wildcard", "plain http is allowed only on a loopback",
			"instead of localhost", `"/relative" must be an absolute URI`, `"javascript:alert(1)" must use https`,
			`"com.example.app:/cb" must use https`, `"https://app.example.com/cb" is given twice`, "user information", "white space"}},
		{"bad logout URL", web(func(in *admin.LoginClientInput) { in.LogoutURLs = []string{"http://evil.example.com/"} }),
			[]string{`logout URL "http://evil.example.com/" must use https`}},
		{"web origins", web(func(in *admin.LoginClientInput) {
			in.AppType = storage.AppTypeSPA
			in.WebOrigins = []string{"https://app.example.com", "https://app.example.com:8443", "http://127.0.0.1:5173", "http://localhost:3000", "http://[::1]:8080"}
		}), nil},
		{"every bad web origin at once", web(func(in *admin.LoginClientInput) {
			in.WebOrigins = []string{"https://app.example.com/", "https://*.example.com", "http://app.example.com", "https://App.example.com",
				"app.example.com", "https://app.example.com?x", "https://u@app.example.com", "null", "https://a.example", "https://a.example"}
		}), []string{`web origin "https://app.example.com/" must be scheme://host[:port]`, `"https://*.example.com" must be`,
			`"http://app.example.com" must be https, or http on a loopback`, `"https://App.example.com" must be written as browsers send it`,
			`"app.example.com" must be`, `"https://app.example.com?x" must be`, `"https://u@app.example.com" must be`, `"null" must be`,
			`"https://a.example" is given twice`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(t)
			c, sec, err := svc.CreateLoginClient(t.Context(), tt.in)
			if tt.want != nil {
				if !errors.Is(err, admin.ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				if list, _ := svc.Store.ListClients(t.Context()); len(list) != 0 {
					t.Errorf("a refused client was stored: %v", list)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := svc.GetClient(t.Context(), c.ClientID)
			if err != nil {
				t.Fatal(err)
			}
			wantGT := tt.in.GrantTypes
			if wantGT == nil {
				wantGT = []string{"authorization_code", "refresh_token"}
			}
			if !slices.Equal(got.GrantTypes, wantGT) || !slices.Equal(got.RedirectURIs, tt.in.RedirectURIs) ||
				!slices.Equal(got.AllowedLogoutURLs, tt.in.LogoutURLs) || !slices.Equal(got.WebOrigins, tt.in.WebOrigins) || got.AppType != tt.in.AppType {
				t.Errorf("stored %+v, want the input's settings", got)
			}
			secrets, _ := svc.ListSecrets(t.Context(), c.ClientID)
			if admin.IsPublic(tt.in.AppType) {
				if sec.Plain != "" || len(secrets) != 0 || got.TokenEndpointAuthMethod != storage.AuthMethodNone {
					t.Errorf("public client: secret %q, %d stored, method %q; want none", sec.Plain, len(secrets), got.TokenEndpointAuthMethod)
				}
			} else if sec.Plain == "" || len(secrets) != 1 || got.TokenEndpointAuthMethod != storage.AuthMethodClientSecretPost {
				t.Errorf("confidential client: secret %q, %d stored, method %q", sec.Plain, len(secrets), got.TokenEndpointAuthMethod)
			}
		})
	}
}

// TestUpdatePublicClient: the rules hold on update too: a public client
// keeps method none, and an M2M client gets no login settings.
func TestUpdatePublicClient(t *testing.T) {
	svc := newService(t)
	ctx := t.Context()
	spa, _, err := svc.CreateLoginClient(ctx, admin.LoginClientInput{Name: "spa", AppType: "spa", RedirectURIs: []string{"https://spa.example.com/"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateClient(ctx, spa.ClientID, admin.ClientPatch{Name: ptr("renamed")}); err != nil {
		t.Errorf("renaming a public client: %v", err)
	}
	_, err = svc.UpdateClient(ctx, spa.ClientID, admin.ClientPatch{TokenEndpointAuthMethod: ptr("client_secret_basic")})
	if !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), "must be none") {
		t.Errorf("giving a public client a secret method: %v, want ErrInvalid", err)
	}
	m2m, _, err := svc.CreateClient(ctx, admin.ClientInput{Name: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateClient(ctx, m2m.ClientID, admin.ClientPatch{TokenEndpointAuthMethod: ptr("none")}); !errors.Is(err, admin.ErrInvalid) {
		t.Errorf("M2M client with method none: %v, want ErrInvalid", err)
	}
}

func TestUsers(t *testing.T) {
	svc := newService(t)
	svc.Passwords = testutil.CheapHasher()
	ctx := t.Context()

	u, err := svc.CreateUser(ctx, admin.UserInput{Email: " Alice@Example.com ", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.UserID, "usr_") || u.Email != "Alice@Example.com" || u.Name != u.Email || u.CreatedAt.IsZero() {
		t.Errorf("created %+v: want a usr_ ID, the trimmed email, the email as name, a creation time", u)
	}
	if ok, err := testutil.CheapHasher().Verify(u.PasswordHash, "correct horse"); !ok || err != nil {
		t.Errorf("stored hash does not verify the password: %v %v", ok, err)
	}
	if strings.Contains(u.PasswordHash, "correct horse") {
		t.Error("the password is stored in the clear")
	}

	for _, tc := range []struct {
		name string
		in   admin.UserInput
		want []string
		sent error
	}{
		{"taken email in another case", admin.UserInput{Email: "alice@EXAMPLE.com", Password: "long enough"}, []string{`a user with email "alice@EXAMPLE.com" already exists`}, storage.ErrAlreadyExists},
		{"every problem at once", admin.UserInput{Email: "Alice <alice@example.com>", Name: strings.Repeat("n", 256), Password: "short"},
			[]string{"must be an address such as", "name is longer than 255", "at least 8 characters"}, admin.ErrInvalid},
		{"no email", admin.UserInput{Password: "long enough"}, []string{"email is required"}, admin.ErrInvalid},
		{"no domain dot", admin.UserInput{Email: "bob@localhost", Password: "long enough"}, []string{"must be an address"}, admin.ErrInvalid},
		{"too long password", admin.UserInput{Email: "bob@example.com", Password: strings.Repeat("p", users.MaxPasswordLen+1)}, []string{"longer than 1024 bytes"}, admin.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.CreateUser(ctx, tc.in)
			if !errors.Is(err, tc.sent) {
				t.Fatalf("err = %v, want %v", err, tc.sent)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	if list, _ := svc.ListUsers(ctx); len(list) != 1 {
		t.Errorf("ListUsers = %d users, want 1: a refused user was stored", len(list))
	}

	// By ID or by email, in any case.
	for _, ref := range []string{u.UserID, "ALICE@example.com"} {
		if got, err := svc.GetUser(ctx, ref); err != nil || got.UserID != u.UserID {
			t.Errorf("GetUser(%q) = %v, %v", ref, got.UserID, err)
		}
	}
	if _, err := svc.GetUser(ctx, "usr_missing"); !errors.Is(err, storage.ErrNotFound) || admin.NotFoundKind(err) != "user" || err.Error() != `user "usr_missing" not found` {
		t.Errorf("GetUser(missing) = %v", err)
	}

	d, err := svc.SetUserDisabled(ctx, "alice@example.com", true)
	if err != nil || !d.Disabled {
		t.Fatalf("SetUserDisabled = %+v, %v", d, err)
	}
	if got, _ := svc.GetUser(ctx, u.UserID); !got.Disabled {
		t.Error("disable did not persist")
	}
	if _, err := svc.SetUserPassword(ctx, u.UserID, "short"); !errors.Is(err, admin.ErrInvalid) {
		t.Errorf("SetUserPassword(short) = %v, want ErrInvalid", err)
	}
	if _, err := svc.SetUserPassword(ctx, u.UserID, "a new passphrase"); err != nil {
		t.Fatal(err)
	}
	got, _ := svc.GetUser(ctx, u.UserID)
	if ok, _ := testutil.CheapHasher().Verify(got.PasswordHash, "a new passphrase"); !ok {
		t.Error("new password does not verify")
	}
	if ok, _ := testutil.CheapHasher().Verify(got.PasswordHash, "correct horse"); ok {
		t.Error("old password still verifies")
	}
	if !got.Disabled {
		t.Error("set-password enabled a disabled user")
	}
}

// TestUserChangesAudited: user and login-client changes record events,
// with neither the password nor its hash nor a secret in them.
func TestUserChangesAudited(t *testing.T) {
	svc := newService(t)
	svc.Passwords = testutil.CheapHasher()
	log := &auditLog{}
	svc.Audit = log
	ctx := t.Context()
	c, sec, err := svc.CreateLoginClient(ctx, admin.LoginClientInput{Name: "web", AppType: "regular_web", RedirectURIs: []string{"https://a.example.com/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := svc.CreateUser(ctx, admin.UserInput{Email: "a@example.com", Password: "first password"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetUserDisabled(ctx, u.UserID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetUserDisabled(ctx, u.UserID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetUserPassword(ctx, u.UserID, "second password"); err != nil {
		t.Fatal(err)
	}
	want := []struct{ action, target string }{
		{storage.AuditClientCreated, c.ClientID}, {storage.AuditUserCreated, u.UserID}, {storage.AuditUserDisabled, u.UserID},
		{storage.AuditUserEnabled, u.UserID}, {storage.AuditUserPasswordSet, u.UserID},
	}
	if len(log.events) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(log.events), len(want), log.events)
	}
	for i, w := range want {
		e := log.events[i]
		if e.Action != w.action || e.Target != w.target || e.Actor != storage.ActorCLI || e.Outcome != storage.OutcomeSuccess {
			t.Errorf("event %d = %+v, want %s on %s", i, e, w.action, w.target)
		}
		text := fmt.Sprintf("%+v", e)
		for _, secret := range []string{"first password", "second password", "argon2", sec.Plain} {
			if strings.Contains(text, secret) {
				t.Errorf("event %d holds %q", i, secret)
			}
		}
	}
	if log.events[0].Details["app_type"] != "regular_web" || log.events[0].Details["secret_id"] == "" {
		t.Errorf("client event details %v", log.events[0].Details)
	}
}
