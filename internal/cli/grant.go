package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func (a *app) grantCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "grant", Short: "Manage client grants: which client may get tokens for which API, with which scopes"}
	var clientID, audience, subjectType string
	var scopes []string
	create := &cobra.Command{
		Use:   "create --client ID --audience URI [--scope VALUE]... [--subject-type client|user]",
		Short: "Grant a client access to an API: for its own tokens, or (--subject-type user) for those of the people who log in through it",
		Args:  cobra.NoArgs,
		RunE: a.withManager(func(cmd *cobra.Command, _ []string, m manager) error {
			g, err := m.CreateGrantFor(cmd.Context(), subjectType, clientID, audience, scopes)
			if err != nil {
				return err
			}
			v := viewGrant(g)
			r := grantRow(v)
			return a.showGrant(v, r)
		}),
	}
	create.Flags().StringVar(&subjectType, "subject-type", storage.SubjectClient,
		"client: the client's own tokens (client credentials); user: the tokens of people logging in through it (for APIs whose user access is require_client_grant)")
	create.Flags().StringVar(&clientID, "client", "", "the client ID")
	create.Flags().StringVar(&audience, "audience", "", "the API identifier")
	create.Flags().StringArrayVar(&scopes, "scope", nil, "a scope of the API to grant (repeatable)")
	_ = create.MarkFlagRequired("client")
	_ = create.MarkFlagRequired("audience")

	var filter storage.GrantFilter
	list := &cobra.Command{
		Use: "list [--client ID]", Short: "List grants", Args: cobra.NoArgs,
		RunE: a.withManager(func(cmd *cobra.Command, _ []string, m manager) error {
			if filter.ClientID != "" {
				if _, err := m.GetClient(cmd.Context(), filter.ClientID); err != nil {
					return err
				}
			}
			grants, err := m.ListGrants(cmd.Context(), filter)
			if err != nil {
				return err
			}
			return printList(a.out(), grants, viewGrant, grantRow, grantHeader)
		}),
	}
	list.Flags().StringVar(&filter.ClientID, "client", "", "only this client's grants")
	list.Flags().StringVar(&filter.Audience, "audience", "", "only grants for this API")
	list.Flags().StringVar(&filter.SubjectType, "subject-type", "", "only grants of this subject type (client or user)")
	del := &cobra.Command{
		Use: "delete GRANT_ID", Short: "Delete a grant", Args: exactArgs("GRANT_ID"),
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			if err := m.DeleteGrant(cmd.Context(), args[0]); err != nil {
				return err
			}
			return a.deleted("grant", args[0])
		}),
	}
	var newScopes []string
	update := &cobra.Command{
		Use: "update GRANT_ID --scope VALUE...", Short: "Replace a grant's scopes", Args: exactArgs("GRANT_ID"),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("scope") {
				return errors.New("give the grant's scopes with --scope (repeatable)")
			}
			return nil
		},
		RunE: a.withManager(func(cmd *cobra.Command, args []string, m manager) error {
			g, err := m.UpdateGrant(cmd.Context(), args[0], newScopes)
			if err != nil {
				return err
			}
			v := viewGrant(g)
			r := grantRow(v)
			return a.showGrant(v, r)
		}),
	}
	update.Flags().StringArrayVar(&newScopes, "scope", nil, "a scope of the API to grant (repeatable; replaces the grant's)")
	cmd.AddCommand(create, list, update, del)
	remoteFlags(cmd)
	return cmd
}

func (a *app) showGrant(v grantView, r []string) error {
	return a.out().fields(v, [2]string{"id", r[0]}, [2]string{"client_id", r[1]}, [2]string{"audience", r[2]}, [2]string{"scope", r[3]},
		[2]string{"subject_type", r[4]})
}
