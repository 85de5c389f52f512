package cli

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func (a *app) clientCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "client", Short: "Manage clients and their secrets"}
	var in admin.ClientInput
	var login admin.LoginClientInput
	create := &cobra.Command{
		Use:   "create --name N [--app-type regular_web|spa|native --redirect-uri URI... [--logout-url URI...] [--web-origin ORIGIN...]]",
		Short: "Create a client (machine-to-machine by default, or a login client); prints its secret once", Args: cobra.NoArgs,
		RunE: a.withManager(func(cmd *cobra.Command, _ []string, m manager) error {
			c, sec, err := a.createClient(cmd, m, in, login)
			if err != nil {
				return err
			}
			v := viewClient(c)
			v.ClientSecret = sec.Plain
			r := clientRow(v)
			pairs := [][2]string{{"client_id", r[0]}, {"name", r[1]}, {"grant_types", r[2]}, {"created_at", r[4]}}
			if admin.IsLogin(c.AppType) {
				pairs = append(pairs, [2]string{"app_type", c.AppType}, [2]string{"redirect_uris", strings.Join(c.RedirectURIs, " ")})
			}
			if sec.Plain == "" { // a public client: nothing to keep
				return a.out().fields(v, pairs...)
			}
			if err := a.out().fields(v, append(pairs, [2]string{"client_secret", sec.Plain})...); err != nil {
				return err
			}
			a.secretWarning()
			return nil
		}),
	}
	create.Flags().StringVar(&in.Name, "name", "", "the client's name")
	create.Flags().StringVar(&in.Description, "description", "", "a description")
	create.Flags().StringVar(&login.AppType, "app-type", storage.AppTypeNonInteractive,
		"non_interactive (machine to machine), regular_web (confidential login client), spa or native (public login clients, no secret)")
	create.Flags().StringArrayVar(&login.RedirectURIs, "redirect-uri", nil, "a login client's redirect URI, matched exactly (repeatable)")
	create.Flags().StringArrayVar(&login.LogoutURLs, "logout-url", nil, "where logout may send a login client's users back (repeatable)")
	create.Flags().StringArrayVar(&login.WebOrigins, "web-origin", nil, webOriginUsage)
	create.Flags().StringArrayVar(&login.GrantTypes, "grant-type", nil, "a login client's grant types (default authorization_code and refresh_token; repeatable)")
	create.Flags().BoolVar(&login.FirstParty, "first-party", false, "a login client of your own: its users are not asked for consent")
	_ = create.MarkFlagRequired("name")

	list := &cobra.Command{
		Use: "list", Short: "List clients", Args: cobra.NoArgs,
		RunE: a.withManager(func(cmd *cobra.Command, _ []string, m manager) error {
			clients, err := m.ListClients(cmd.Context())
			if err != nil {
				return err
			}
			return printList(a.out(), clients, viewClient, clientRow, clientHeader)
		}),
	}
	show := &cobra.Command{
		Use: "show ID", Short: "Show a client", Args: exactArgs("ID"),
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			c, err := m.GetClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.showClient(c)
		}),
	}
	del := &cobra.Command{
		Use: "delete ID", Short: "Delete a client with its secrets and grants", Args: exactArgs("ID"),
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			if err := m.DeleteClient(cmd.Context(), args[0]); err != nil {
				return err
			}
			return a.deleted("client", args[0])
		}),
	}
	cmd.AddCommand(create, list, show, a.clientUpdateCmd(), del, a.setDisabledCmd("disable", true), a.setDisabledCmd("enable", false), a.secretCmd(),
		a.clientRevokeTokensCmd())
	remoteFlags(cmd)
	return cmd
}

// createClient creates a machine-to-machine client, or a login client when
// --app-type names one.
func (a *app) createClient(cmd *cobra.Command, m manager, in admin.ClientInput, login admin.LoginClientInput) (storage.Client, admin.NewSecret, error) {
	if login.AppType == storage.AppTypeNonInteractive {
		for _, f := range []string{"redirect-uri", "logout-url", "web-origin", "grant-type", "first-party"} {
			if cmd.Flags().Changed(f) {
				return storage.Client{}, admin.NewSecret{}, fmt.Errorf("--%s is for login clients: give --app-type regular_web, spa or native", f)
			}
		}
		return m.CreateClient(cmd.Context(), in)
	}
	login.Name, login.Description = in.Name, in.Description
	return m.CreateLoginClient(cmd.Context(), login)
}

// webOriginUsage describes --web-origin.
const webOriginUsage = "an origin (https://app.example.com[:port]) whose pages may call the token and userinfo endpoints from a browser, matched exactly (CORS; Auth0's web_origins; repeatable)"

func (a *app) clientUpdateCmd() *cobra.Command {
	var name, description string
	var origins []string
	cmd := &cobra.Command{
		Use:   "update ID [--name N] [--description D] [--web-origin ORIGIN...]",
		Short: "Change a client's name, description or web origins", Args: exactArgs("ID"),
		PreRunE: func(cmd *cobra.Command, _ []string) error { return nothingToChange(cmd) },
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			p := admin.ClientPatch{Name: given(cmd, "name", &name), Description: given(cmd, "description", &description)}
			if cmd.Flags().Changed("web-origin") {
				// --web-origin= (empty) clears the list.
				list := slices.DeleteFunc(slices.Clone(origins), func(o string) bool { return o == "" })
				p.WebOrigins = &list
			}
			c, err := m.UpdateClient(cmd.Context(), args[0], p)
			if err != nil {
				return err
			}
			return a.showClient(c)
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "the client's name")
	cmd.Flags().StringVar(&description, "description", "", "a description")
	cmd.Flags().StringArrayVar(&origins, "web-origin", nil, webOriginUsage+"; replaces the list, --web-origin= clears it")
	return cmd
}

func (a *app) setDisabledCmd(name string, disabled bool) *cobra.Command {
	short := "Enable a client"
	if disabled {
		short = "Disable a client: its token requests are refused within one second"
	}
	return &cobra.Command{
		Use: name + " ID", Short: short, Args: exactArgs("ID"),
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			c, err := m.SetClientDisabled(cmd.Context(), args[0], disabled)
			if err != nil {
				return err
			}
			return a.showClient(c)
		}),
	}
}

func (a *app) showClient(c storage.Client) error {
	v := viewClient(c)
	r := clientRow(v)
	return a.out().fields(v, [2]string{"client_id", r[0]}, [2]string{"name", r[1]}, [2]string{"description", v.Description},
		[2]string{"grant_types", r[2]}, [2]string{"disabled", r[3]}, [2]string{"created_at", r[4]})
}

func (a *app) secretWarning() {
	if !a.json {
		fmt.Fprintln(a.env.Stderr, "Store the client secret now: it is not stored and cannot be shown again.")
	}
}

func (a *app) secretCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Short: "Manage a client's secrets (several may be valid at once, for rotation)"}
	var notBefore string
	var expiresIn time.Duration
	add := &cobra.Command{
		Use: "add ID", Short: "Add a secret; prints it once", Args: exactArgs("ID"),
		PreRunE: func(*cobra.Command, []string) error {
			if notBefore != "" {
				if _, err := time.Parse(time.RFC3339, notBefore); err != nil {
					return fmt.Errorf("--not-before %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", notBefore)
				}
			}
			return nil
		},
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			var nb time.Time
			if notBefore != "" {
				nb, _ = time.Parse(time.RFC3339, notBefore) // checked by PreRunE
			}
			ns, err := m.AddSecret(cmd.Context(), args[0], nb, expiresIn)
			if err != nil {
				return err
			}
			return a.showNewSecret(ns)
		}),
	}
	add.Flags().StringVar(&notBefore, "not-before", "", "RFC 3339 time from which the secret is accepted (default: now)")
	add.Flags().DurationVar(&expiresIn, "expires-in", 0, "lifetime from now, e.g. 720h (default: no expiry)")

	var grace time.Duration
	rotate := &cobra.Command{
		Use: "rotate ID", Short: "Add a new secret and expire every older one after the grace period", Args: exactArgs("ID"),
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			ns, err := m.RotateSecret(cmd.Context(), args[0], grace)
			if err != nil {
				return err
			}
			return a.showNewSecret(ns)
		}),
	}
	rotate.Flags().DurationVar(&grace, "grace", admin.DefaultGrace, "how long older secrets keep working")

	list := &cobra.Command{
		Use: "list ID", Short: "List a client's secrets (never their values)", Args: exactArgs("ID"),
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			secrets, err := m.ListSecrets(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printList(a.out(), secrets, viewSecret, secretRow, secretHeader)
		}),
	}
	revoke := &cobra.Command{
		Use: "revoke ID SECRET_ID", Short: "Revoke a secret at once", Args: exactArgs("ID", "SECRET_ID"),
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			if err := m.RevokeSecret(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			return a.deleted("secret", args[1])
		}),
	}
	cmd.AddCommand(add, rotate, list, revoke)
	return cmd
}

func (a *app) showNewSecret(ns admin.NewSecret) error {
	v := viewNewSecret(ns)
	r := secretRow(v)
	if err := a.out().fields(v, [2]string{"id", r[0]}, [2]string{"hint", r[1]}, [2]string{"created_at", r[2]},
		[2]string{"not_before", r[3]}, [2]string{"expires_at", r[4]}, [2]string{"client_secret", ns.Plain}); err != nil {
		return err
	}
	a.secretWarning()
	return nil
}
