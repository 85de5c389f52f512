package verify

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// person is the claims of a person's token: sub is the user, client_id the
// application acting for them, no gty (authorization code).
func person(kv ...any) map[string]any {
	c := with("sub", "usr_alice", "client_id", "web", "azp", "web", "gty", nil)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}

// TestSubjectType: the kind of subject a token is about, and the tokens
// whose kind cannot be told (a client-credentials gty about someone else,
// a person's token naming the client as its subject).
func TestSubjectType(t *testing.T) {
	rs := keyFor("RS256")
	tests := []struct {
		name   string
		claims map[string]any
		want   string
	}{
		{"client credentials", claims(), SubjectClient},
		{"client credentials, auth0 dialect", with("sub", "svc@clients"), SubjectClient},
		{"a person's token", person(), SubjectUser},
		{"a person's token after a refresh", person("gty", "refresh_token"), SubjectUser},
		{"client-credentials gty about another subject", with("sub", "usr_alice"), ""},
		{"no gty but the subject is the client", person("sub", "web"), ""},
		{"no client_id", person("client_id", nil), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIssuer(t, rs)
			v, _ := newTestVerifier(t, f, nil)
			c, err := v.Verify(t.Context(), sign(t, rs, "at+jwt", tc.claims))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.SubjectType(); got != tc.want {
				t.Errorf("SubjectType() = %q, want %q", got, tc.want)
			}
			for _, only := range []string{SubjectClient, SubjectUser} {
				v, _ := newTestVerifier(t, f, func(c *Config) { c.Subject = only })
				_, err := v.Verify(t.Context(), sign(t, rs, "at+jwt", tc.claims))
				if accepted := err == nil; accepted != (only == tc.want) {
					t.Errorf("Subject %q: err %v", only, err)
				}
				if err != nil && !errors.Is(err, ErrSubject) {
					t.Errorf("Subject %q: err %v, want ErrSubject", only, err)
				}
			}
		})
	}
	if _, err := New(Config{Issuer: testIssuer, Audience: testAudience, Subject: "robot"}); err == nil {
		t.Error("New accepted Subject robot")
	}
}

// TestRequirePermissions: the permissions claim decides when present (a
// scope does not stand in for a permission the claim lacks); without it,
// the scope does.
func TestRequirePermissions(t *testing.T) {
	rs := keyFor("RS256")
	tests := []struct {
		name   string
		claims map[string]any
		status int
	}{
		{"the permission listed", person("permissions", []string{"read:sensors"}, "scope", "read:sensors"), 200},
		{"an empty permissions claim", person("permissions", []string{}, "scope", "read:sensors"), 403},
		{"a scope the permissions claim lacks", person("permissions", []string{"write:sensors"}, "scope", "read:sensors write:sensors"), 403},
		{"no permissions claim: the scope", claims(), 200},
		{"no permissions claim, no scope", with("scope", "write:sensors"), 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIssuer(t, rs)
			v, _ := newTestVerifier(t, f, nil)
			h := v.RequirePermissions("read:sensors")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
			req := httptest.NewRequest("GET", "/v1/sensors", nil)
			req.Header.Set("Authorization", "Bearer "+sign(t, rs, "at+jwt", tc.claims))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status == 403 && w.Header().Get("WWW-Authenticate") !=
				`Bearer realm="https://api.test", error="insufficient_scope", error_description="the access token lacks the permission read:sensors", scope="read:sensors"` {
				t.Errorf("challenge %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}
