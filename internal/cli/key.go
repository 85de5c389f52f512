package cli

import (
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func (a *app) keyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Manage signing keys"}
	list := &cobra.Command{
		Use: "list", Short: "List signing keys and their lifecycle state", Args: cobra.NoArgs,
		RunE: a.withManager(func(cmd *cobra.Command, _ []string, m manager) error {
			list, err := m.ListKeys(cmd.Context())
			if err != nil {
				return err
			}
			return a.printKeys(list)
		}),
	}
	var force bool
	var alg string
	rotate := &cobra.Command{
		Use:   "rotate [--alg ALG] [--force]",
		Short: "Rotate signing keys: next becomes current, current becomes previous, a new next is published",
		Long: "Rotate signing keys of every algorithm, or of one with --alg. The next key must have been published for at\n" +
			"least the JWKS cache lifetime (--jwks-max-age) so that no verifier meets an unknown kid; --force skips that wait.\n" +
			"The JWKS carries at most 8 previous keys per algorithm: at that cap rotate refuses, and --force retires the oldest\n" +
			"previous key at once, whose unexpired tokens verifiers then refuse.\n" +
			"A running server signs with the new current key within one second.",
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if alg != "" && !slices.Contains(admin.SigningAlgs, alg) {
				return fmt.Errorf("--alg %q must be one of RS256, ES256, PS256, EdDSA", alg)
			}
			return nil
		},
		RunE: a.withManager(func(cmd *cobra.Command, _ []string, m manager) error {
			list, err := m.RotateKeys(cmd.Context(), alg, force)
			if err != nil {
				return err
			}
			return a.printKeys(list)
		}),
	}
	rotate.Flags().StringVar(&alg, "alg", "", "rotate only this algorithm's keys")
	rotate.Flags().BoolVar(&force, "force", false, "rotate even if the next key was published less than the JWKS cache lifetime ago, or the JWKS carries 8 previous keys (the oldest retires)")
	rotate.Flags().Duration("jwks-max-age", 5*time.Minute, "how long verifiers may cache the JWKS; must match the server's")
	cmd.AddCommand(list, rotate)
	remoteFlags(cmd)
	return cmd
}

func (a *app) printKeys(list []storage.SigningKey) error {
	now := a.env.Now()
	return printList(a.out(), list, func(k storage.SigningKey) keyView { return viewKey(k, now) }, keyRow, keyHeader)
}
