package console

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// ClientName is the console's login client's name; MetadataKey marks it in
// its metadata, so that it is found again whatever its ID.
const (
	ClientName  = "gatehouse console"
	MetadataKey = "gatehouse_console"
)

// RedirectURI is the console's redirect URI for issuer.
func RedirectURI(issuer string) string { return strings.TrimRight(issuer, "/") + PathCallback }

// EnsureClient makes sure the console can sign people in for issuer and
// returns its client ID: the management API exists; a first-party public
// login client (PKCE, no secret, no consent page, no refresh tokens) has
// the redirect URI issuer + /console/callback and a user grant for every
// management scope; and the management API's user policy, deny_all as
// created, is require_client_grant, so that the console's user grant
// counts. What a person may then do is what the person holds as
// permissions on the management API (mgmt.Handler.AuthorizeToken): the
// grant is only a ceiling. Several instances may race; it is idempotent.
func EnsureClient(ctx context.Context, svc *admin.Service, issuer string) (string, error) {
	if _, err := mgmt.EnsureAPI(ctx, svc, issuer); err != nil {
		return "", err
	}
	aud := mgmt.Audience(issuer)
	api, err := svc.GetAPI(ctx, aud)
	if err != nil {
		return "", fmt.Errorf("console: %w", err)
	}
	if api.UserPolicy == storage.PolicyDenyAll {
		policy := storage.PolicyRequireClientGrant
		if _, err := svc.UpdateAPI(ctx, aud, admin.APIPatch{UserPolicy: &policy}); err != nil {
			return "", fmt.Errorf("console: open the management API to the console's user grant: %w", err)
		}
	}
	id, err := findClient(ctx, svc.Store, issuer)
	if err != nil {
		return "", err
	}
	if id == "" {
		c, _, err := svc.CreateLoginClient(ctx, admin.LoginClientInput{
			Name: ClientName, Description: "the admin console's sign-in", AppType: storage.AppTypeSPA,
			RedirectURIs: []string{RedirectURI(issuer)}, GrantTypes: []string{storage.GrantAuthorizationCode},
			FirstParty: true, Metadata: map[string]string{MetadataKey: "1"},
		})
		if err != nil {
			return "", fmt.Errorf("console: create its login client: %w", err)
		}
		id = c.ClientID
	}
	grants, err := svc.Store.ListGrants(ctx, storage.GrantFilter{ClientID: id, Audience: aud, SubjectType: storage.SubjectUser})
	if err != nil {
		return "", fmt.Errorf("console: %w", err)
	}
	all := mgmt.ScopeValues()
	switch {
	case len(grants) == 0:
		if _, err := svc.CreateGrantFor(ctx, storage.SubjectUser, id, aud, all); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
			return "", fmt.Errorf("console: grant its login client the management API: %w", err)
		}
	case len(grants[0].Scope) != len(all):
		if _, err := svc.UpdateGrant(ctx, grants[0].ID, all); err != nil {
			return "", fmt.Errorf("console: %w", err)
		}
	}
	return id, nil
}

// findClient returns the ID of the console's login client for issuer, or
// "" when there is none.
func findClient(ctx context.Context, store storage.Storage, issuer string) (string, error) {
	clients, err := store.ListClients(ctx)
	if err != nil {
		return "", fmt.Errorf("console: %w", err)
	}
	for _, c := range clients {
		if c.Metadata[MetadataKey] != "" && slices.Contains(c.RedirectURIs, RedirectURI(issuer)) {
			return c.ClientID, nil
		}
	}
	return "", nil
}

// CheckAdministrator reports what CreateAdministrator would refuse of the
// person (a bad email or password, an email taken) before anything is
// created.
func CheckAdministrator(ctx context.Context, svc *admin.Service, email, password string) error {
	if err := admin.CheckUserInput(admin.UserInput{Email: email, Password: password}); err != nil {
		return err
	}
	switch _, err := svc.Store.GetUserByEmail(ctx, strings.TrimSpace(email)); {
	case err == nil:
		return fmt.Errorf("a user with email %q already exists: %w", email, storage.ErrAlreadyExists)
	case !errors.Is(err, storage.ErrNotFound):
		return err
	}
	return nil
}

// AdministratorRole is the role CreateAdministrator gives: every permission
// on the management API.
const AdministratorRole = "Administrator"

// CreateAdministrator creates a person who may do everything in the
// console and the management API: the user, with the role
// AdministratorRole (created, or completed with the permissions it lacks)
// holding every management scope. The console's client is made sure of
// first (EnsureClient).
func CreateAdministrator(ctx context.Context, svc *admin.Service, issuer, email, password string) (storage.User, storage.Role, error) {
	if err := CheckAdministrator(ctx, svc, email, password); err != nil {
		return storage.User{}, storage.Role{}, err
	}
	if _, err := EnsureClient(ctx, svc, issuer); err != nil {
		return storage.User{}, storage.Role{}, err
	}
	u, err := svc.CreateUser(ctx, admin.UserInput{Email: email, Password: password})
	if err != nil {
		return storage.User{}, storage.Role{}, err
	}
	roles, err := svc.ListRoles(ctx)
	if err != nil {
		return storage.User{}, storage.Role{}, err
	}
	i := slices.IndexFunc(roles, func(r storage.Role) bool { return r.Name == AdministratorRole })
	var role storage.Role
	if i >= 0 {
		role = roles[i]
	} else if role, err = svc.CreateRole(ctx, AdministratorRole, "every permission on the management API and the console"); err != nil {
		return storage.User{}, storage.Role{}, err
	}
	aud := mgmt.Audience(issuer)
	perms := make([]storage.Permission, 0, len(mgmt.Scopes))
	for _, s := range mgmt.ScopeValues() {
		perms = append(perms, storage.Permission{Audience: aud, Scope: s})
	}
	if err := svc.AddRolePermissions(ctx, role.ID, perms); err != nil {
		return storage.User{}, storage.Role{}, err
	}
	if err := svc.AssignRoles(ctx, u.UserID, []string{role.ID}); err != nil {
		return storage.User{}, storage.Role{}, err
	}
	return u, role, nil
}
