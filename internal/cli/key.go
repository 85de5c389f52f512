package cli

import (
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func (a *app) keyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Manage signing keys"}
	list := &cobra.Command{
		Use: "list", Short: "List signing keys and their lifecycle state", Args: cobra.NoArgs,
		RunE: a.withStore(false, func(cmd *cobra.Command, _ []string, s *session) error {
			list, err := s.store.ListKeys(cmd.Context())
			if err != nil {
				return err
			}
			return a.printKeys(list)
		}),
	}
	var opts keys.RotateOptions
	var alg string
	rotate := &cobra.Command{
		Use:   "rotate [--alg ALG] [--force]",
		Short: "Rotate signing keys: next becomes current, current becomes previous, a new next is published",
		Long: "Rotate signing keys of every algorithm, or of one with --alg. The next key must have been published for at\n" +
			"least the JWKS cache lifetime (--jwks-max-age) so that no verifier meets an unknown kid; --force skips that wait.\n" +
			"A running server signs with the new current key within one second.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if alg != "" && !slices.Contains(admin.SigningAlgs, alg) {
				return fmt.Errorf("--alg %q must be one of RS256, ES256, PS256, EdDSA", alg)
			}
			s, err := a.open(cmd, false)
			if err != nil {
				return err
			}
			defer s.Close()
			km, err := a.keyManager(cmd.Context(), s.cfg, s.store)
			if err != nil {
				return err
			}
			if alg != "" {
				opts.Algs = []string{alg}
				if !km.HasCurrent(alg) {
					return fmt.Errorf("no %s signing key exists yet; it is created when an API uses %s", alg, alg)
				}
			}
			apis, err := s.store.ListAPIs(cmd.Context())
			if err != nil {
				return err
			}
			// The outgoing key stays published until the longest-lived token
			// it can have signed expires, with a margin for instances that
			// sign with it until they see the rotation and for verifier leeway.
			opts.MaxTokenLifetime = admin.RotationMaxTokenLifetime(apis)
			if _, err := km.Rotate(cmd.Context(), opts); err != nil {
				return err
			}
			list, err := s.store.ListKeys(cmd.Context())
			if err != nil {
				return err
			}
			return a.printKeys(list)
		},
	}
	rotate.Flags().StringVar(&alg, "alg", "", "rotate only this algorithm's keys")
	rotate.Flags().BoolVar(&opts.Force, "force", false, "rotate even if the next key was published less than the JWKS cache lifetime ago")
	rotate.Flags().Duration("jwks-max-age", 5*time.Minute, "how long verifiers may cache the JWKS; must match the server's")
	cmd.AddCommand(list, rotate)
	return cmd
}

func (a *app) printKeys(list []storage.SigningKey) error {
	now := a.env.Now()
	return printList(a.out(), list, func(k storage.SigningKey) keyView { return viewKey(k, now) }, keyRow, keyHeader)
}
