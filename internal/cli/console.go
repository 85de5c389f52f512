package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/console"
)

// consoleCmd holds the admin console's commands: for a database that
// init prepared without --admin-email, an administrator, and the console's
// login client (which serve also makes sure of at every start).
func (a *app) consoleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "console", Short: "Prepare the admin console at ISSUER/console: its login client and its administrators", PersistentPreRunE: a.refuseRemote}
	var email string
	var pwStdin bool
	adm := &cobra.Command{
		Use:   "admin --email E [--issuer URL] [--password-stdin]",
		Short: "Create a console administrator: a person holding every management permission through the role Administrator",
		Long: "Create a person who signs in to the admin console (ISSUER/console) with this email and a password read from\n" +
			"standard input (--password-stdin) or a prompt, and who holds every permission on the management API through\n" +
			"the role Administrator (created if missing). The console's login client is made sure of first.",
		Args: cobra.NoArgs,
		RunE: a.withStore(false, func(cmd *cobra.Command, _ []string, s *session) error {
			pw, err := a.readPassword(pwStdin)
			if err != nil {
				return err
			}
			u, role, err := console.CreateAdministrator(cmd.Context(), s.svc, s.cfg.Issuer, email, pw)
			if err != nil {
				return err
			}
			url := strings.TrimRight(s.cfg.Issuer, "/") + console.Path
			return a.out().fields(map[string]string{"user_id": u.UserID, "email": u.Email, "role_id": role.ID, "console": url},
				[2]string{"user_id", u.UserID}, [2]string{"email", u.Email}, [2]string{"role_id", role.ID}, [2]string{"console", url})
		}),
	}
	config.Bind(adm.Flags(), config.Flags{"issuer", "addr"})
	adm.Flags().StringVar(&email, "email", "", "the administrator's email address")
	adm.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	_ = adm.MarkFlagRequired("email")
	ensure := &cobra.Command{
		Use:   "ensure [--issuer URL]",
		Short: "Create the console's login client for the issuer if it is missing (serve does this at start)",
		Args:  cobra.NoArgs,
		RunE: a.withStore(false, func(cmd *cobra.Command, _ []string, s *session) error {
			id, err := console.EnsureClient(cmd.Context(), s.svc, s.cfg.Issuer)
			if err != nil {
				return err
			}
			return a.out().fields(map[string]string{"client_id": id, "redirect_uri": console.RedirectURI(s.cfg.Issuer)},
				[2]string{"client_id", id}, [2]string{"redirect_uri", console.RedirectURI(s.cfg.Issuer)})
		}),
	}
	config.Bind(ensure.Flags(), config.Flags{"issuer", "addr"})
	cmd.AddCommand(adm, ensure)
	return cmd
}
