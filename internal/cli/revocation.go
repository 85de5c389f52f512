package cli

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// revokedView is what revoke-tokens prints.
type revokedView struct {
	ClientID        string  `json:"client_id,omitempty"`
	UserID          string  `json:"user_id,omitempty"`
	RevokedBefore   *string `json:"revoked_before"`
	ExpiresAt       *string `json:"expires_at"`
	RefreshFamilies int64   `json:"refresh_token_families"`
}

func (a *app) showRevoked(r admin.RevokedTokens) error {
	v := revokedView{RevokedBefore: ts(r.Before), ExpiresAt: ts(r.ExpiresAt), RefreshFamilies: r.RefreshFamilies}
	who := [2]string{"client_id", r.ID}
	if r.Kind == storage.RevokeSubject {
		v.UserID, who = r.ID, [2]string{"user_id", r.ID}
	} else {
		v.ClientID = r.ID
	}
	return a.out().fields(v, who, [2]string{"revoked_before", orDash(v.RevokedBefore)}, [2]string{"expires_at", orDash(v.ExpiresAt)},
		[2]string{"refresh_token_families", strconv.FormatInt(v.RefreshFamilies, 10)})
}

const revokeTokensLong = `Every access token issued at or before now (to the second) is put on the denylist that
/oauth/introspect, and APIs that verify in introspection mode, honour on every instance within a second,
until the last of them has expired; every refresh token family is revoked. APIs that verify tokens offline
accept the access tokens until they expire (docs/revocation.md). Tokens issued afterwards are good.`

// clientRevokeTokensCmd is client revoke-tokens.
func (a *app) clientRevokeTokensCmd() *cobra.Command {
	return &cobra.Command{
		Use: "revoke-tokens ID", Short: "Revoke every token of a client (it is not disabled)", Args: exactArgs("ID"),
		Long: "Revoke every token of a client. " + revokeTokensLong,
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			r, err := m.RevokeClientTokens(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.showRevoked(r)
		}),
	}
}

// userRevokeTokensCmd is user revoke-tokens.
func (a *app) userRevokeTokensCmd() *cobra.Command {
	return &cobra.Command{
		Use: "revoke-tokens USER", Short: "Revoke every token about a user (ID or email; the login sessions stay)", Args: exactArgs("USER"),
		Long: "Revoke every token about a user (sub). " + revokeTokensLong,
		RunE: a.withUsers(func(cmd *cobra.Command, args []string, svc *admin.Service) error {
			r, err := svc.RevokeUserTokens(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.showRevoked(r)
		}),
	}
}

// introspectorView is a row of api introspector list.
type introspectorView struct {
	Audience  string  `json:"audience"`
	ClientID  string  `json:"client_id"`
	CreatedAt *string `json:"created_at"`
}

func viewIntrospector(in storage.Introspector) introspectorView {
	return introspectorView{in.Audience, in.ClientID, ts(in.CreatedAt)}
}

func introspectorRow(v introspectorView) []string { return []string{v.ClientID, orDash(v.CreatedAt)} }

// apiIntrospectorCmd is api introspector: which clients may ask
// /oauth/introspect about an API's tokens.
func (a *app) apiIntrospectorCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "introspector", Short: "Manage the clients (resource servers) that may introspect an API's tokens (RFC 7662)"}
	list := &cobra.Command{
		Use: "list API", Short: "List the clients that may introspect the API's tokens", Args: exactArgs("API"),
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			l, err := m.ListIntrospectors(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printList(a.out(), l, viewIntrospector, introspectorRow, []string{"CLIENT_ID", "CREATED_AT"})
		}),
	}
	change := func(use, short string, do func(ctx context.Context, m manager, api, client string) error) *cobra.Command {
		return &cobra.Command{
			Use: use + " API CLIENT_ID...", Short: short, Args: cobra.MinimumNArgs(2),
			RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
				for _, c := range args[1:] {
					if err := do(cmd.Context(), m, args[0], c); err != nil {
						return err
					}
				}
				return nil
			}),
		}
	}
	add := change("add", "Let clients introspect the API's tokens at /oauth/introspect", func(ctx context.Context, m manager, api, client string) error {
		_, err := m.AddIntrospector(ctx, api, client)
		return err
	})
	remove := change("remove", "Take clients' right to introspect the API's tokens back", func(ctx context.Context, m manager, api, client string) error {
		return m.RemoveIntrospector(ctx, api, client)
	})
	cmd.AddCommand(list, add, remove)
	return cmd
}
