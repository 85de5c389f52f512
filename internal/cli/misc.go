package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/server"
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
		Use: "version", Short: "Print the version and the schema versions this binary migrates to", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			sqliteV, postgresV, err := server.LatestSchemaVersions()
			if err != nil {
				return err
			}
			return a.out().fields(map[string]any{
				"version": Version, "go": runtime.Version(),
				"sqlite_schema_version": sqliteV, "postgres_schema_version": postgresV,
			},
				[2]string{"version", Version}, [2]string{"go", runtime.Version()},
				[2]string{"sqlite_schema_version", fmt.Sprint(sqliteV)},
				[2]string{"postgres_schema_version", fmt.Sprint(postgresV)})
		},
	}
}
