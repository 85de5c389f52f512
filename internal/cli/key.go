package cli

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
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
			"least the JWKS cache lifetime so that no verifier meets an unknown kid: the longest JWKS max-age any server\n" +
			"recorded in the database over the last day (each records its own at start and every minute), or --jwks-max-age\n" +
			"where none has (through --server, never less than the server's own --jwks-max-age); --force skips that wait.\n" +
			fmt.Sprintf("The JWKS carries at most %d previous keys per algorithm: at that cap rotate refuses, and --force retires the oldest\n", keys.MaxPreviousKeys) +
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
	rotate.Flags().BoolVar(&force, "force", false, fmt.Sprintf("rotate even if the next key was published less than the JWKS cache lifetime ago, or the JWKS carries %d previous keys (the oldest retires)", keys.MaxPreviousKeys))
	rotate.Flags().Duration("jwks-max-age", config.Default().JWKSMaxAge, "how long verifiers may cache the JWKS, where no running server has recorded its own in the database")
	cmd.AddCommand(list, rotate, a.generateMasterCmd())
	remoteFlags(cmd)
	return cmd
}

func (a *app) printKeys(list []storage.SigningKey) error {
	now := a.env.Now()
	return printList(a.out(), list, func(k storage.SigningKey) keyView { return viewKey(k, now) }, keyRow, keyHeader)
}

// generateMasterCmd prints a new master key, or writes it to a new file.
func (a *app) generateMasterCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "generate-master [--output FILE]",
		Short: "Make a new master key (32 random bytes, base64) for GATEHOUSE_MASTER_KEY or --master-key-file",
		Long: "Print a new master key on standard output (the key alone, or {\"master_key\"} with --json), for GATEHOUSE_MASTER_KEY or a secret store, or with --output write it\n" +
			"to a new file (mode 0600, never overwritten) for --master-key-file. Every instance of one deployment needs the same\n" +
			"key; a database's signing keys can be read only with the key they were stored under.",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if output != "" {
				if _, err := keys.CreateKeyFile(output, a.env.Rand); err != nil {
					return err
				}
				return a.out().fields(map[string]string{"master_key_file": output}, [2]string{"master_key_file", output + " (mode 0600)"})
			}
			k, err := keys.GenerateMasterKey(a.env.Rand)
			if err != nil {
				return err
			}
			if a.json {
				return a.out().fields(map[string]string{"master_key": k})
			}
			_, err = fmt.Fprintln(a.env.Stdout, k) // bare, for GATEHOUSE_MASTER_KEY=$(gatehouse key generate-master)
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the key to this new file (mode 0600) instead of standard output")
	return cmd
}
