package access_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/access"
	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// TestUserScopes is the policy table of docs/authorization.md, row by row.
func TestUserScopes(t *testing.T) {
	const aud = "https://api.test"
	userGrant := storage.Grant{Audience: aud, SubjectType: storage.SubjectUser, Scope: []string{"read", "write", "gone"}}
	clientGrant := storage.Grant{Audience: aud, SubjectType: storage.SubjectClient, Scope: []string{"read", "write", "admin"}}
	legacyGrant := storage.Grant{Audience: aud, Scope: []string{"read", "write", "admin"}} // stored before subject types: a client grant
	tests := []struct {
		name    string
		policy  string
		enforce bool
		grants  []storage.Grant
		held    []string
		want    string
		err     error
	}{
		{"default policy, no grant", "", false, nil, nil, "", access.ErrNoUserGrant},
		{"require_client_grant, a client grant only", storage.PolicyRequireClientGrant, false, []storage.Grant{clientGrant, legacyGrant}, nil, "", access.ErrNoUserGrant},
		{"require_client_grant, a user grant", storage.PolicyRequireClientGrant, false, []storage.Grant{clientGrant, userGrant}, nil, "read write", nil},
		{"require_client_grant, enforced", storage.PolicyRequireClientGrant, true, []storage.Grant{userGrant}, []string{"write", "admin"}, "write", nil},
		{"allow_all", storage.PolicyAllowAll, false, nil, nil, "read write admin", nil},
		{"allow_all, enforced, nothing held", storage.PolicyAllowAll, true, nil, nil, "", nil},
		{"deny_all", storage.PolicyDenyAll, false, []storage.Grant{userGrant}, []string{"read"}, "", access.ErrUsersDenied},
		{"an unknown policy denies", "maybe", false, []storage.Grant{userGrant}, nil, "", access.ErrUsersDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &storage.API{Identifier: aud, UserPolicy: tc.policy, EnforcePolicies: tc.enforce,
				Scopes: []storage.Scope{{Value: "read"}, {Value: "write"}, {Value: "admin"}}}
			c := &catalog.Client{Grants: tc.grants}
			got, err := access.UserScopes(api, c, []string{"openid", "read", "write", "admin", "nope", "read"}, tc.held)
			if !errors.Is(err, tc.err) || strings.Join(got, " ") != tc.want {
				t.Errorf("UserScopes = %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestClientPolicy(t *testing.T) {
	for policy, want := range map[string]string{"": storage.PolicyRequireClientGrant, storage.PolicyDenyAll: storage.PolicyDenyAll} {
		if got := access.ClientPolicy(&storage.API{ClientPolicy: policy}); got != want {
			t.Errorf("ClientPolicy(%q) = %q, want %q", policy, got, want)
		}
	}
}
