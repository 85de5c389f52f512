package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// Version is the release version. A release build sets it:
//
//	go build -ldflags "-X github.com/gatehouse-dev/gatehouse/internal/cli.Version=v0.2.0" ./cmd/gatehouse
//
// Left empty, the version is the one the Go toolchain records in the binary:
// the module version for `go install …@v0.2.0`, the commit for a build in a
// git checkout.
var Version = ""

// buildVersion is what a binary knows of its own version.
type buildVersion struct {
	Version  string // a release version, a Go pseudo-version, or "devel"
	Commit   string // the VCS revision the binary was built from, if recorded
	Modified bool   // built from a checkout with uncommitted changes
}

// String is the one-word version that --version prints.
func (v buildVersion) String() string {
	s := v.Version
	if s == "devel" && v.Commit != "" {
		s += "+" + short(v.Commit)
		if v.Modified {
			s += ".dirty"
		}
	}
	return s
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// versionOf resolves the version from a release's -ldflags value (set wins),
// else from the build information (debug.ReadBuildInfo).
func versionOf(release string, bi *debug.BuildInfo, ok bool) buildVersion {
	v := buildVersion{Version: "devel"}
	if ok {
		if m := bi.Main.Version; m != "" && m != "(devel)" {
			v.Version = m
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if release != "" {
		v.Version = release
	}
	return v
}

func currentVersion() buildVersion {
	bi, ok := debug.ReadBuildInfo()
	return versionOf(Version, bi, ok)
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "Print the version, its commit and the schema versions this binary migrates to", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			sqliteV, postgresV, err := server.LatestSchemaVersions()
			if err != nil {
				return err
			}
			v := currentVersion()
			commit, commitText := v.Commit, "-"
			if commit != "" {
				if v.Modified {
					commit += " (modified)"
				}
				commitText = commit
			}
			return a.out().fields(map[string]any{
				"version": v.Version, "commit": commit, "go": runtime.Version(),
				"sqlite_schema_version": sqliteV, "postgres_schema_version": postgresV,
			},
				[2]string{"version", v.Version}, [2]string{"commit", commitText}, [2]string{"go", runtime.Version()},
				[2]string{"sqlite_schema_version", fmt.Sprint(sqliteV)},
				[2]string{"postgres_schema_version", fmt.Sprint(postgresV)})
		},
	}
}
