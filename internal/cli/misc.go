package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use: "migrate", Short: "Create the database, or bring its schema up to date", Args: cobra.NoArgs,
		Annotations: map[string]string{createsDatabase: "yes"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.open(cmd, false) // opening migrates
			if err != nil {
				return err
			}
			defer s.Close()
			v, err := s.store.SchemaVersion(cmd.Context())
			if err != nil {
				return err
			}
			return a.out().fields(map[string]int{"schema_version": v}, [2]string{"schema_version", fmt.Sprint(v)})
		},
	}
}
