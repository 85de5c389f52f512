package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
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
}

func newAdminView(ac mgmt.AdminClient, issuer string) adminView {
	return adminView{ClientID: ac.Client.ClientID, ClientSecret: ac.Secret.Plain, Audience: ac.Audience, Scope: ac.Scope,
		TokenEndpoint: strings.TrimRight(issuer, "/") + "/oauth/token"}
}

func (a *app) initCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "init [--issuer URL] [--name N]",
		Short: "Prepare a database: schema, signing keys, the management API and one admin client (its secret is printed once)",
		Long: "Prepare a database for serve: bring the schema up to date, create the signing keys and the built-in management\n" +
			"API (audience ISSUER/api/v2/), and create one admin client granted every management scope. Give the issuer that\n" +
			"serve will use. Its client_secret is printed only now. A database that already has an admin client is left alone.",
		Args: cobra.NoArgs,
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
			ac, err := mgmt.Bootstrap(ctx, s.svc, s.cfg.Issuer, name)
			if err != nil {
				return err
			}
			v := newAdminView(ac, s.cfg.Issuer)
			if err := a.out().fields(v, [2]string{"client_id", v.ClientID}, [2]string{"client_secret", v.ClientSecret},
				[2]string{"audience", v.Audience}, [2]string{"scope", strings.Join(v.Scope, " ")}, [2]string{"token_endpoint", v.TokenEndpoint}); err != nil {
				return err
			}
			a.secretWarning()
			return nil
		}),
	}
	config.Bind(cmd.Flags(), config.Flags{"issuer", "addr"})
	cmd.Flags().StringVar(&name, "name", "Admin", "the admin client's name")
	return cmd
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
