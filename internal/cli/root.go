package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/logbatch"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Env is what the command line reads from its surroundings; tests replace it.
type Env struct {
	Stdout, Stderr io.Writer
	// Stdin is where --password-stdin reads from; nil is an empty input.
	Stdin  io.Reader
	Getenv func(string) string
	Now    func() time.Time
	// Rand is the source of new master keys; nil is crypto/rand.
	Rand io.Reader
	// Signals, when set, is used instead of SIGINT/SIGTERM to stop serve.
	Context context.Context
}

// Main runs the command line and returns the process exit code. Errors are
// printed as one line on stderr.
func Main(args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Context == nil {
		env.Context = context.Background()
	}
	root := newRoot(&env)
	root.SetArgs(args)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	if err := root.ExecuteContext(env.Context); err != nil {
		fmt.Fprintln(env.Stderr, errorLine(err))
		return 1
	}
	return 0
}

// errorLine is err as the one line Main prints. An unreachable database
// (storage.ErrUnavailable, locally or as the server answered) says so
// first, so that the reader knows to retry rather than fix the command.
func errorLine(err error) string {
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	if errors.Is(err, storage.ErrUnavailable) && !strings.HasPrefix(msg, unreachable) {
		msg = unreachable + ": " + strings.Replace(msg, storage.ErrUnavailable.Error()+": ", "", 1)
	}
	return "gatehouse: " + msg
}

const unreachable = "the database is unreachable"

type app struct {
	env        *Env
	configPath string
	json       bool
}

func newRoot(env *Env) *cobra.Command {
	a := &app{env: env}
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "An OAuth 2.0 authorization server for machine-to-machine API access",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.Version = currentVersion().String()
	root.SetVersionTemplate("gatehouse {{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&a.configPath, "config", "", "YAML configuration file (env GATEHOUSE_CONFIG)")
	pf.BoolVar(&a.json, "json", false, "print JSON instead of a table")
	config.Bind(pf, config.Common)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	root.AddCommand(a.serveCmd(), a.apiCmd(), a.clientCmd(), a.grantCmd(), a.keyCmd(), a.tokenCmd(), a.migrateCmd(), a.versionCmd(), a.benchCmd(), a.initCmd(), a.userCmd(), a.roleCmd(), a.auditCmd(), a.healthcheckCmd(), a.consoleCmd())
	root.DisableSuggestions = true // cobra's suggestion spans lines; errors are one line
	strictGroups(root)
	return root
}

// strictGroups makes every command group (api, client, client secret, …)
// refuse an unknown subcommand with an error instead of printing its help
// and exiting 0, which is what cobra does for a group without a Run.
func strictGroups(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		strictGroups(sub)
	}
	if cmd.HasParent() && cmd.HasSubCommands() && cmd.Run == nil && cmd.RunE == nil {
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath())
			}
			return c.Help()
		}
	}
}

func (a *app) out() printer { return printer{out: a.env.Stdout, json: a.json} }

func (a *app) config(cmd *cobra.Command) (config.Config, error) {
	return config.Load(a.configPath, cmd.Flags(), a.env.Getenv)
}

func (a *app) logger(cfg config.Config) *slog.Logger {
	log, _ := a.batchLogger(cfg, 0)
	return log
}

// batchLogger is logger with its lines written through a logbatch.Writer,
// which the server's audit writer holds while it logs a batch of events,
// and which gathers every line for up to delay (serve's
// --log-flush-interval; warnings and errors are written at once).
func (a *app) batchLogger(cfg config.Config, delay time.Duration) (*slog.Logger, *logbatch.Writer) {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	w := logbatch.NewDelayed(a.env.Stderr, delay)
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	if delay > 0 {
		h = logbatch.FlushAt(h, w, slog.LevelWarn)
	}
	return slog.New(h), w
}

// session is an open database for one admin command.
type session struct {
	cfg   config.Config
	store server.Store
	svc   *admin.Service
	// creates is set for the commands that may create the database, and
	// with it the master key file beside it.
	creates bool
}

func (s *session) Close() { _ = s.store.Close() }

// open opens the database. withKeys also resolves the master key and loads
// the signing keys, for commands that create or rotate keys.
func (a *app) open(cmd *cobra.Command, withKeys bool) (*session, error) {
	cfg, err := a.config(cmd)
	if err != nil {
		return nil, err
	}
	if err := mustExist(cmd, cfg); err != nil {
		return nil, err
	}
	ctx := cmd.Context()
	store, err := server.OpenStorage(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &session{cfg: cfg, store: store, svc: &admin.Service{Store: store, Now: a.env.Now, Audit: cliAudit(store, a.env.Now)},
		creates: cmd.Annotations[createsDatabase] != ""}
	if withKeys {
		km, err := a.keyManager(ctx, s)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.svc.Keys = km
	}
	return s, nil
}

// keyManager loads the signing keys of the session's database. Only the
// commands that may create the database may create its master key file.
func (a *app) keyManager(ctx context.Context, s *session) (*keys.Manager, error) {
	cfg, store := s.cfg, s.store
	mk, err := server.MasterKey(cfg, a.logger(cfg), s.creates)
	if err != nil {
		return nil, err
	}
	rec := cliAudit(store, a.env.Now)
	km, err := keys.New(keys.Config{Store: store, MasterKey: mk, Now: a.env.Now, JWKSMaxAge: cfg.JWKSMaxAge,
		CacheWait: server.JWKSCacheWaitFunc(store, a.env.Now, cfg.JWKSMaxAge, 0),
		Rotated: func(ctx context.Context, changed []storage.SigningKey) {
			rec.KeysRotated(ctx, storage.ActorCLI, changed)
		}})
	if err != nil {
		return nil, err
	}
	if err := km.Load(ctx); err != nil {
		return nil, err
	}
	return km, nil
}

// withStore runs a command body with the database open (and, with withKeys,
// the signing keys loaded), closing it afterwards.
func (a *app) withStore(withKeys bool, run func(cmd *cobra.Command, args []string, s *session) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		s, err := a.open(cmd, withKeys)
		if err != nil {
			return err
		}
		defer s.Close()
		return run(cmd, args, s)
	}
}

// createsDatabase marks, in a command's Annotations, the commands that may
// create a SQLite database that does not exist yet (migrate, init; serve opens
// its own). Every other command refuses, so that running one in the wrong
// directory or with a mistyped --db does not leave an empty database behind.
const createsDatabase = "gatehouse/creates-database"

// mustExist refuses a SQLite database file that does not exist, unless cmd
// may create it.
func mustExist(cmd *cobra.Command, cfg config.Config) error {
	path, ok := cfg.SQLitePath()
	if !ok || cmd.Annotations[createsDatabase] != "" {
		return nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no database at %s: start the server (gatehouse serve) or run `gatehouse migrate --db sqlite:%s` to create it, or point --db at the existing one", path, path)
	}
	return nil
}

// exactArgs is cobra.ExactArgs with a message that names what is missing.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return fmt.Errorf("expected %d argument(s): %s", len(names), strings.Join(names, " "))
		}
		return nil
	}
}

// nothingToChange refuses an update command given none of its own flags,
// naming them.
func nothingToChange(cmd *cobra.Command) error {
	var names []string
	given := false
	cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" {
			names = append(names, "--"+f.Name)
			given = given || f.Changed
		}
	})
	if given || len(names) == 0 {
		return nil
	}
	list := strings.Join(names, ", ")
	if len(names) > 1 {
		list = strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	}
	return errors.New("nothing to change: give " + list)
}

// given is v when the flag named name was given, else nil: the field of an
// update's patch that the flag sets.
func given[T any](cmd *cobra.Command, name string, v *T) *T {
	if cmd.Flags().Changed(name) {
		return v
	}
	return nil
}
