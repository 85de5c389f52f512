package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

func (a *app) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use: "migrate", Short: "Bring the database schema up to date", Args: cobra.NoArgs,
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

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "Print the version", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return a.out().fields(map[string]string{"version": Version, "go": runtime.Version()},
				[2]string{"version", Version}, [2]string{"go", runtime.Version()})
		},
	}
}
