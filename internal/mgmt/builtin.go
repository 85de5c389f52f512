package mgmt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Scopes of the management API. The first ten are Auth0's own names for
// the same operations; the signing key scopes are Auth0's names for its
// /keys/signing resource, which /api/v2/keys is gatehouse's version of.
const (
	ScopeReadClients          = "read:clients"
	ScopeCreateClients        = "create:clients"
	ScopeUpdateClients        = "update:clients"
	ScopeDeleteClients        = "delete:clients"
	ScopeReadResourceServers  = "read:resource_servers"
	ScopeCreateResourceServer = "create:resource_servers"
	ScopeUpdateResourceServer = "update:resource_servers"
	ScopeDeleteResourceServer = "delete:resource_servers"
	ScopeReadClientGrants     = "read:client_grants"
	ScopeCreateClientGrants   = "create:client_grants"
	ScopeUpdateClientGrants   = "update:client_grants"
	ScopeDeleteClientGrants   = "delete:client_grants"
	ScopeReadClientKeys       = "read:client_keys"
	ScopeUpdateClientKeys     = "update:client_keys"
	ScopeReadSigningKeys      = "read:signing_keys"
	ScopeUpdateSigningKeys    = "update:signing_keys"
	// Auth0's names for /users.
	ScopeReadUsers   = "read:users"
	ScopeCreateUsers = "create:users"
	ScopeUpdateUsers = "update:users"
	ScopeDeleteUsers = "delete:users"
	// Auth0's names for a client's credentials (its keys).
	ScopeReadClientCredentials   = "read:client_credentials"
	ScopeCreateClientCredentials = "create:client_credentials"
	ScopeUpdateClientCredentials = "update:client_credentials"
	ScopeDeleteClientCredentials = "delete:client_credentials"
	// Auth0's names for /roles and the roles users hold.
	ScopeReadRoles         = "read:roles"
	ScopeCreateRoles       = "create:roles"
	ScopeUpdateRoles       = "update:roles"
	ScopeDeleteRoles       = "delete:roles"
	ScopeReadRoleMembers   = "read:role_members"
	ScopeCreateRoleMembers = "create:role_members"
	ScopeDeleteRoleMembers = "delete:role_members"
	// ScopeReadLogs is Auth0's name for reading its logs: here the audit
	// trail and the token activity, which the admin console shows.
	ScopeReadLogs = "read:logs"
)

// Scopes are every scope of the management API with its description.
var Scopes = []storage.Scope{
	{Value: ScopeReadClients, Description: "Read clients"},
	{Value: ScopeCreateClients, Description: "Create clients"},
	{Value: ScopeUpdateClients, Description: "Update clients"},
	{Value: ScopeDeleteClients, Description: "Delete clients"},
	{Value: ScopeReadResourceServers, Description: "Read resource servers (APIs)"},
	{Value: ScopeCreateResourceServer, Description: "Create resource servers (APIs)"},
	{Value: ScopeUpdateResourceServer, Description: "Update resource servers (APIs)"},
	{Value: ScopeDeleteResourceServer, Description: "Delete resource servers (APIs)"},
	{Value: ScopeReadClientGrants, Description: "Read client grants"},
	{Value: ScopeCreateClientGrants, Description: "Create client grants"},
	{Value: ScopeUpdateClientGrants, Description: "Update client grants"},
	{Value: ScopeDeleteClientGrants, Description: "Delete client grants"},
	{Value: ScopeReadClientKeys, Description: "Read client secrets (never their values)"},
	{Value: ScopeUpdateClientKeys, Description: "Add, rotate and revoke client secrets"},
	{Value: ScopeReadSigningKeys, Description: "Read signing keys"},
	{Value: ScopeUpdateSigningKeys, Description: "Rotate signing keys"},
	{Value: ScopeReadUsers, Description: "Read users"},
	{Value: ScopeCreateUsers, Description: "Create users"},
	{Value: ScopeUpdateUsers, Description: "Update users: name, email_verified, blocked, password, and their direct permissions"},
	{Value: ScopeDeleteUsers, Description: "Delete users, ending their logins"},
	{Value: ScopeReadClientCredentials, Description: "Read client credentials (keys)"},
	{Value: ScopeCreateClientCredentials, Description: "Create client credentials (keys)"},
	{Value: ScopeUpdateClientCredentials, Description: "Update client credentials (keys)"},
	{Value: ScopeDeleteClientCredentials, Description: "Delete client credentials (keys)"},
	{Value: ScopeReadRoles, Description: "Read roles and their permissions"},
	{Value: ScopeCreateRoles, Description: "Create roles"},
	{Value: ScopeUpdateRoles, Description: "Rename roles and change their permissions"},
	{Value: ScopeDeleteRoles, Description: "Delete roles"},
	{Value: ScopeReadRoleMembers, Description: "Read which users hold which roles"},
	{Value: ScopeCreateRoleMembers, Description: "Give users roles"},
	{Value: ScopeDeleteRoleMembers, Description: "Take roles from users"},
	{Value: ScopeReadLogs, Description: "Read the audit trail and the token activity (the admin console)"},
}

// ScopeValues returns the value of every scope in Scopes.
func ScopeValues() []string {
	out := make([]string, len(Scopes))
	for i, s := range Scopes {
		out[i] = s.Value
	}
	return out
}

// APIName is the built-in management API's name: Auth0's, by which Auth0's
// tooling (the Deploy CLI) recognises the management API and leaves it out
// of exports and deletions.
const APIName = "Auth0 Management API"

// oldAPIName is the name versions before 2026-12 gave it; EnsureAPI renames
// it.
const oldAPIName = "gatehouse Management API"

// Audience returns the identifier of the management API of issuer: the
// issuer without its trailing slash + "/api/v2/", as Auth0's is
// https://TENANT/api/v2/.
func Audience(issuer string) string {
	return strings.TrimRight(issuer, "/") + "/api/v2/"
}

// EnsureAPI creates the management API of issuer unless it exists, and
// reports whether it created it; an existing one gets the scopes of Scopes
// it lacks (a newer version may define more), and the name APIName if it
// has the one older versions gave it. Several instances may race: the
// loser finds it created.
func EnsureAPI(ctx context.Context, svc *admin.Service, issuer string) (bool, error) {
	aud := Audience(issuer)
	switch api, err := svc.Store.GetAPI(ctx, aud); {
	case err == nil:
		scopes := slices.Clone(api.Scopes)
		for _, sc := range Scopes {
			if !slices.ContainsFunc(scopes, func(s storage.Scope) bool { return s.Value == sc.Value }) {
				scopes = append(scopes, sc)
			}
		}
		var p admin.APIPatch
		if len(scopes) != len(api.Scopes) {
			p.Scopes = &scopes
		}
		if api.Name == oldAPIName {
			p.Name = new(APIName)
		}
		if p == (admin.APIPatch{}) {
			return false, nil
		}
		if _, err := svc.UpdateAPI(ctx, aud, p); err != nil {
			return false, fmt.Errorf("update the management API: %w", err)
		}
		return false, nil
	case !errors.Is(err, storage.ErrNotFound):
		return false, fmt.Errorf("look up the management API: %w", err)
	}
	// People's tokens are refused until an operator opens the API to them
	// (user policy deny_all): a login client's grant for the management
	// API must never hand it to whoever logs in.
	_, err := svc.CreateAPI(ctx, admin.APIInput{Identifier: aud, Name: APIName, Scopes: Scopes, UserPolicy: storage.PolicyDenyAll})
	if errors.Is(err, storage.ErrAlreadyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create the management API: %w", err)
	}
	return true, nil
}

// AdminClient is what Bootstrap created: a client granted every scope of
// the management API, and its secret, shown this once.
type AdminClient struct {
	Client   storage.Client
	Secret   admin.NewSecret
	Audience string
	Scope    []string
}

// Bootstrap makes sure the management API exists and creates a client
// named name with a grant of every management scope.
func Bootstrap(ctx context.Context, svc *admin.Service, issuer, name string) (AdminClient, error) {
	if _, err := EnsureAPI(ctx, svc, issuer); err != nil {
		return AdminClient{}, err
	}
	c, sec, err := svc.CreateClient(ctx, admin.ClientInput{Name: name, Description: "management API administrator"})
	if err != nil {
		return AdminClient{}, err
	}
	g, err := svc.CreateGrant(ctx, c.ClientID, Audience(issuer), ScopeValues())
	if err != nil {
		return AdminClient{}, err
	}
	return AdminClient{Client: c, Secret: sec, Audience: g.Audience, Scope: g.Scope}, nil
}

// HasAdmin reports whether some client holds a grant of its own (subject
// type client) for the management API of issuer.
func HasAdmin(ctx context.Context, store storage.Storage, issuer string) (bool, error) {
	grants, err := store.ListGrants(ctx, storage.GrantFilter{Audience: Audience(issuer), SubjectType: storage.SubjectClient})
	if err != nil {
		return false, err
	}
	return len(grants) > 0, nil
}
