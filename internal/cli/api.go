package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func (a *app) apiCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "api", Short: "Manage APIs (resource servers, the audiences of tokens)"}
	var in admin.APIInput
	var scopes []string
	create := &cobra.Command{
		Use:   "create --identifier URI",
		Short: "Register an API",
		Args:  cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("token-lifetime") && in.TokenLifetime <= 0 {
				return fmt.Errorf("--token-lifetime %s must be whole seconds from 1s to 720h (30 days)", in.TokenLifetime)
			}
			return nil
		},
		RunE: a.withManager(func(cmd *cobra.Command, _ []string, m manager) error {
			for _, v := range scopes {
				in.Scopes = append(in.Scopes, storage.Scope{Value: v})
			}
			api, err := m.CreateAPI(cmd.Context(), in)
			if err != nil {
				return err
			}
			return a.showAPI(api)
		}),
	}
	f := create.Flags()
	f.StringVar(&in.Identifier, "identifier", "", "the API's identifier, a URI (or, as in Auth0, any string without spaces, then asked for with audience only); tokens carry it as aud")
	f.StringVar(&in.Name, "name", "", "a readable name (default: the identifier)")
	f.StringArrayVar(&scopes, "scope", nil, "a scope the API defines (repeatable)")
	f.DurationVar(&in.TokenLifetime, "token-lifetime", admin.DefaultTokenLifetime, "access token lifetime, 1s to 720h")
	f.StringVar(&in.SigningAlg, "signing-alg", "RS256", "RS256, ES256, PS256 or EdDSA")
	f.StringVar(&in.TokenDialect, "token-dialect", storage.DialectRFC9068, dialectUsage)
	f.BoolVar(&in.AllowOfflineAccess, "allow-offline-access", false, "users' logins for this API may get refresh tokens (offline_access)")
	f.BoolVar(&in.TokenReuse, "token-reuse", false, "a client asking again gets the token it was already issued while over half its lifetime remains")
	f.StringVar(&in.UserPolicy, "user-access", storage.PolicyRequireClientGrant, userAccessUsage)
	f.StringVar(&in.ClientPolicy, "client-access", storage.PolicyRequireClientGrant, clientAccessUsage)
	f.BoolVar(&in.EnforcePolicies, "enforce-policies", false, enforceUsage)
	_ = create.MarkFlagRequired("identifier")

	list := &cobra.Command{
		Use: "list", Short: "List APIs", Args: cobra.NoArgs,
		RunE: a.withManager(func(cmd *cobra.Command, _ []string, m manager) error {
			apis, err := m.ListAPIs(cmd.Context())
			if err != nil {
				return err
			}
			return printList(a.out(), apis, viewAPI, apiRow, apiHeader)
		}),
	}
	show := &cobra.Command{
		Use: "show URI", Short: "Show an API", Args: exactArgs("URI"),
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			api, err := m.GetAPI(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.showAPI(api)
		}),
	}
	del := &cobra.Command{
		Use: "delete URI", Short: "Delete an API and every grant for it", Args: exactArgs("URI"),
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			if err := m.DeleteAPI(cmd.Context(), args[0]); err != nil {
				return err
			}
			return a.deleted("api", args[0])
		}),
	}
	cmd.AddCommand(create, list, show, a.apiUpdateCmd(), del)
	cmd.AddCommand(a.apiIntrospectorCmd())
	remoteFlags(cmd)
	return cmd
}

// Usage of the access policy flags of api create and update.
const (
	dialectUsage      = "rfc9068, auth0, or either with _authz (people's tokens carry their permissions; needs --enforce-policies)"
	userAccessUsage   = "which login clients may get people's tokens for the API: require_client_grant (a grant with --subject-type user), allow_all or deny_all"
	clientAccessUsage = "whether clients may get their own tokens (with a grant): require_client_grant or deny_all"
	enforceUsage      = "people's tokens carry only the permissions they hold, directly or through roles (RBAC)"
)

func (a *app) apiUpdateCmd() *cobra.Command {
	var name, alg, dialect, userAccess, clientAccess string
	var offline, reuse, enforce bool
	var lifetime time.Duration
	var scopes []string
	cmd := &cobra.Command{
		Use:   "update URI [--name N] [--scope VALUE]... [--token-lifetime D] [--signing-alg ALG] [--token-dialect D] [--allow-offline-access] [--token-reuse] [--user-access P] [--client-access P] [--enforce-policies]",
		Short: "Change an API: only the flags given; --scope replaces the whole list (a granted scope cannot be dropped)",
		Args:  exactArgs("URI"),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := nothingToChange(cmd); err != nil {
				return err
			}
			if cmd.Flags().Changed("token-lifetime") && lifetime <= 0 {
				return fmt.Errorf("--token-lifetime %s must be whole seconds from 1s to 720h (30 days)", lifetime)
			}
			return nil
		},
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			p := admin.APIPatch{
				Name:               given(cmd, "name", &name),
				TokenLifetime:      given(cmd, "token-lifetime", &lifetime),
				SigningAlg:         given(cmd, "signing-alg", &alg),
				TokenDialect:       given(cmd, "token-dialect", &dialect),
				AllowOfflineAccess: given(cmd, "allow-offline-access", &offline),
				TokenReuse:         given(cmd, "token-reuse", &reuse),
				UserPolicy:         given(cmd, "user-access", &userAccess),
				ClientPolicy:       given(cmd, "client-access", &clientAccess),
				EnforcePolicies:    given(cmd, "enforce-policies", &enforce),
			}
			if cmd.Flags().Changed("scope") {
				list := []storage.Scope{}
				for _, v := range scopes {
					list = append(list, storage.Scope{Value: v})
				}
				p.Scopes = &list
			}
			api, err := m.UpdateAPI(cmd.Context(), args[0], p)
			if err != nil {
				return err
			}
			return a.showAPI(api)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "a readable name (empty: the identifier)")
	f.StringArrayVar(&scopes, "scope", nil, "a scope the API defines (repeatable; replaces the list)")
	f.DurationVar(&lifetime, "token-lifetime", 0, "access token lifetime, 1s to 720h")
	f.StringVar(&alg, "signing-alg", "", "RS256, ES256, PS256 or EdDSA")
	f.StringVar(&dialect, "token-dialect", "", dialectUsage)
	f.BoolVar(&offline, "allow-offline-access", false, "users' logins for this API may get refresh tokens (--allow-offline-access=false turns it off)")
	f.BoolVar(&reuse, "token-reuse", false, "a client asking again gets the token it was already issued while over half its lifetime remains (--token-reuse=false turns it off)")
	f.StringVar(&userAccess, "user-access", "", userAccessUsage)
	f.StringVar(&clientAccess, "client-access", "", clientAccessUsage)
	f.BoolVar(&enforce, "enforce-policies", false, enforceUsage+" (--enforce-policies=false turns it off)")
	return cmd
}

func (a *app) showAPI(api storage.API) error {
	v := viewAPI(api)
	r := apiRow(v)
	return a.out().fields(v, [2]string{"identifier", r[0]}, [2]string{"name", r[1]}, [2]string{"scopes", r[2]},
		[2]string{"token_lifetime", (time.Duration(v.TokenLifetime) * time.Second).String()},
		[2]string{"signing_alg", r[4]}, [2]string{"token_dialect", r[5]}, [2]string{"user_access", v.UserAccess},
		[2]string{"client_access", v.ClientAccess}, [2]string{"enforce_policies", fmt.Sprint(v.EnforcePolicies)}, [2]string{"created_at", r[6]})
}

// deleted reports a deletion: {"deleted": ID} in JSON.
func (a *app) deleted(kind, id string) error {
	return a.out().fields(map[string]string{"deleted": id, "kind": kind}, [2]string{"deleted " + kind, id})
}
