package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/console"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
)

// adminView is what init prints (--json): the admin client's credentials,
// shown this once, and where to use them.
type adminView struct {
	ClientID      string   `json:"client_id"`
	ClientSecret  string   `json:"client_secret"`
	Audience      string   `json:"audience"`
	Scope         []string `json:"scope"`
	TokenEndpoint string   `json:"token_endpoint"`
	// AdminUserID and Console are set with --admin-email: the first
	// administrator, who signs in to the console.
	AdminUserID string `json:"admin_user_id,omitempty"`
	Console     string `json:"console,omitempty"`
}

func newAdminView(ac mgmt.AdminClient, issuer string) adminView {
	return adminView{ClientID: ac.Client.ClientID, ClientSecret: ac.Secret.Plain, Audience: ac.Audience, Scope: ac.Scope,
		TokenEndpoint: strings.TrimRight(issuer, "/") + "/oauth/token"}
}

func (a *app) initCmd() *cobra.Command {
	var name, output, adminEmail string
	var otherIssuer, pwStdin bool
	cmd := &cobra.Command{
		Use:   "init [--issuer URL] [--name N] [--output FILE] [--admin-email E [--password-stdin]]",
		Short: "Prepare a database: schema, signing keys, the management API and one admin client (its secret is printed once)",
		Long: "Prepare a database for serve: bring the schema up to date, create the signing keys and the built-in management\n" +
			"API (audience ISSUER/api/v2/), and create one admin client granted every management scope. Give the issuer that\n" +
			"serve will use. Its client_secret is printed only now; with --output it goes to a new file (mode 0600, never\n" +
			"overwritten) that --credentials reads. A database that already has an admin client is left alone, and one\n" +
			"that holds the management API of another issuer is refused unless --another-issuer says it is meant.\n" +
			"With --admin-email it also creates the first administrator, a person who signs in to the admin console at\n" +
			"ISSUER/console with that email and the password read from standard input (--password-stdin) or a prompt, and\n" +
			"who holds every management permission through the role Administrator.",
		Args:        cobra.NoArgs,
		Annotations: map[string]string{createsDatabase: "yes"},
		RunE: a.withStore(true, func(cmd *cobra.Command, _ []string, s *session) error {
			ctx := cmd.Context()
			ok, err := mgmt.HasAdmin(ctx, s.store, s.cfg.Issuer)
			if err != nil {
				return err
			}
			if ok {
				return fmt.Errorf("the database already has a client granted the management API %s; create another with `gatehouse client create` and `gatehouse grant create --audience %s`",
					mgmt.Audience(s.cfg.Issuer), mgmt.Audience(s.cfg.Issuer))
			}
			if !otherIssuer {
				if err := refuseOtherIssuer(ctx, s, s.cfg.Issuer); err != nil {
					return err
				}
			}
			var password string
			if adminEmail != "" { // asked before anything is created
				if password, err = a.readPassword(pwStdin); err != nil {
					return err
				}
				if err := console.CheckAdministrator(ctx, s.svc, adminEmail, password); err != nil {
					return err
				}
			}
			var file *os.File
			if output != "" {
				// Created before anything is: a file that exists stops init
				// with the database unchanged, and never loses the secret it holds.
				if file, err = os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
					if errors.Is(err, fs.ErrExist) {
						return fmt.Errorf("--output %s already exists: init never overwrites a credentials file; choose another name", output)
					}
					return fmt.Errorf("--output: %w", err)
				}
				defer file.Close()
			}
			ac, err := mgmt.Bootstrap(ctx, s.svc, s.cfg.Issuer, name)
			if err != nil {
				if file != nil {
					_ = os.Remove(output)
				}
				return err
			}
			v := newAdminView(ac, s.cfg.Issuer)
			if adminEmail != "" {
				u, _, err := console.CreateAdministrator(ctx, s.svc, s.cfg.Issuer, adminEmail, password)
				if err != nil {
					if file != nil {
						_ = os.Remove(output)
					}
					return err
				}
				v.AdminUserID, v.Console = u.UserID, strings.TrimRight(s.cfg.Issuer, "/")+console.Path
			}
			if file != nil {
				return a.writeCredentials(file, v)
			}
			pairs := [][2]string{{"client_id", v.ClientID}, {"client_secret", v.ClientSecret},
				{"audience", v.Audience}, {"scope", strings.Join(v.Scope, " ")}, {"token_endpoint", v.TokenEndpoint}}
			if v.AdminUserID != "" {
				pairs = append(pairs, [2]string{"admin_user_id", v.AdminUserID}, [2]string{"console", v.Console})
			}
			if err := a.out().fields(v, pairs...); err != nil {
				return err
			}
			a.secretWarning()
			return nil
		}),
	}
	config.Bind(cmd.Flags(), config.Flags{"issuer", "addr"})
	cmd.Flags().StringVar(&name, "name", "Admin", "the admin client's name")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the admin client's credentials as JSON to this new file (mode 0600; an existing file is never overwritten)")
	cmd.Flags().BoolVar(&otherIssuer, "another-issuer", false, "add this issuer's management API even though the database holds another issuer's")
	cmd.Flags().StringVar(&adminEmail, "admin-email", "", "also create the first administrator: a person with this email who signs in to the console with every management permission")
	cmd.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the administrator's password from the first line of standard input")
	return cmd
}

// writeCredentials writes the admin client's credentials to f, as --json
// prints them, and says where they are.
func (a *app) writeCredentials(f *os.File, v adminView) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("--output %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--output %s: %w", f.Name(), err)
	}
	return a.out().fields(map[string]string{"client_id": v.ClientID, "credentials": f.Name()},
		[2]string{"client_id", v.ClientID}, [2]string{"credentials", f.Name() + " (mode 0600; use it with --credentials)"})
}

// refuseOtherIssuer refuses to add the management API of issuer to a
// database that holds another issuer's: a mistyped --issuer (or a missing
// one, which defaults to the listen address) would otherwise leave an admin
// client for an audience no server serves.
func refuseOtherIssuer(ctx context.Context, s *session, issuer string) error {
	apis, err := s.store.ListAPIs(ctx)
	if err != nil {
		return err
	}
	for _, api := range apis {
		if api.Name == mgmt.APIName && strings.HasSuffix(api.Identifier, "/api/v2/") && api.Identifier != mgmt.Audience(issuer) {
			return fmt.Errorf("the database holds the management API of another issuer (%s), not of --issuer %s: give the issuer serve runs with, or --another-issuer to add a second one",
				strings.TrimSuffix(api.Identifier, "/api/v2/"), issuer)
		}
	}
	return nil
}

// seedAdmin creates serve --dev's admin client for the management API and
// prints its credentials and a curl command for its token.
func seedAdmin(ctx context.Context, w io.Writer, svc *admin.Service, issuer string) error {
	ac, err := mgmt.Bootstrap(ctx, svc, issuer, "Dev admin")
	if err != nil {
		return err
	}
	v := newAdminView(ac, issuer)
	fmt.Fprintf(w, `and an admin client for the management API (every management scope; the secret is shown only now):

  audience:      %s
  client_id:     %s
  client_secret: %s

Get a management token, then call e.g. GET %sclients with Authorization: Bearer TOKEN:

  curl -s %s \
    -H 'content-type: application/json' \
    -d '{"grant_type":"client_credentials","client_id":"%s","client_secret":"%s","audience":"%s"}'

`, v.Audience, v.ClientID, v.ClientSecret, v.Audience, v.TokenEndpoint, v.ClientID, v.ClientSecret, v.Audience)
	return nil
}
