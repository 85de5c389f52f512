package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/checkpointer"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/tracing"
)

func (a *app) serveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:8080] [--issuer URL] [--db DSN] [--dev]",
		Short: "Run the authorization server",
		Args:  cobra.NoArgs,
		RunE:  a.runServe,
	}
	config.Bind(cmd.Flags(), config.Serve)
	return cmd
}

func (a *app) runServe(cmd *cobra.Command, _ []string) error {
	cfg, err := a.config(cmd)
	if err != nil {
		return err
	}
	log, logBatch := a.batchLogger(cfg, cfg.LogFlushInterval)
	defer func() { _ = logBatch.Flush() }() // the last lines, after everything below has logged
	served := false
	defer func() { // after every deferred step below, so that it is the last line
		if served {
			log.Info("gatehouse stopped")
		}
	}()
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	tp, shutdownTracing, err := tracing.Setup(ctx, a.env.Getenv, log)
	if err != nil {
		return err
	}
	defer func() {
		// Flush the spans of the last requests once the server has stopped.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := shutdownTracing(sctx); err != nil {
			log.Warn("tracing shutdown", "error", err)
		}
	}()
	_, onSQLite := cfg.SQLitePath()
	checkpoints := onSQLite && cfg.SQLiteCheckpointer
	store, err := server.OpenStorageWith(ctx, cfg, sqlite.Options{NoAutoCheckpoint: checkpoints})
	if err != nil {
		return err
	}
	defer store.Close()
	if checkpoints {
		defer runCheckpointer(cfg, store, log)() // stopped before the store closes
	}
	mk, err := server.MasterKey(cfg, log, true)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	if cfg.Issuer == "" {
		cfg.Issuer = cfg.Scheme() + "://" + ln.Addr().String()
	}
	if strings.HasPrefix(cfg.Issuer, "http://") && !isLoopbackURL(cfg.Issuer) {
		log.Warn("the issuer is not https: put gatehouse behind a TLS-terminating proxy and set --issuer to its https URL")
	}
	if cfg.Dev {
		if err := a.seedDemo(ctx, store, cfg); err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
	}
	srv, err := server.New(ctx, cfg, store, mk, server.Options{Logger: log, LogBatch: logBatch, TracerProvider: tp})
	if err != nil {
		return err
	}
	log.Info("gatehouse listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer, "db", config.RedactDSN(cfg.DB))
	served = true
	return srv.Serve(ctx, ln)
}

// runCheckpointer runs the SQLite database's checkpoints in a child process
// (package checkpointer) until the returned function is called.
func runCheckpointer(cfg config.Config, store server.Store, log *slog.Logger) (stop func()) {
	ss, ok := store.(*sqlite.Store)
	if !ok {
		return func() {}
	}
	path, _ := cfg.SQLitePath()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		checkpointer.Run(ctx, checkpointer.Config{Path: path, DB: ss.DB(), Logger: log})
	}()
	return func() {
		cancel()
		<-done
	}
}

func isLoopbackURL(u string) bool {
	host := strings.TrimPrefix(u, "http://")
	host, _, _ = strings.Cut(host, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// DemoAudience is the API that serve --dev seeds.
const DemoAudience = "https://api.example.com"

// seedDemo creates a demo API, client and grant on a database that has no
// APIs and no clients yet, and prints a ready-to-paste curl command. The
// secret goes to standard output, never to the log.
func (a *app) seedDemo(ctx context.Context, store storage.Storage, cfg config.Config) error {
	apis, err := store.ListAPIs(ctx)
	if err != nil {
		return err
	}
	clients, err := store.ListClients(ctx)
	if err != nil {
		return err
	}
	if len(apis) > 0 || len(clients) > 0 {
		fmt.Fprintf(a.env.Stdout, "--dev: the database already has data, nothing seeded. The demo client's secret was shown on first start;\n"+
			"run `gatehouse client secret rotate CLIENT_ID --db %s` for a new one.\n", cfg.DB)
		return nil
	}
	svc := &admin.Service{Store: store, Now: a.env.Now, Audit: cliAudit(store, a.env.Now)}
	ctx = admin.WithActor(ctx, storage.ActorSystem) // the seed is gatehouse's own doing
	if _, err := svc.CreateAPI(ctx, admin.APIInput{Identifier: DemoAudience, Name: "Demo API",
		Scopes: []storage.Scope{{Value: "read:data", Description: "Read data"}, {Value: "write:data", Description: "Write data"}}}); err != nil {
		return err
	}
	c, sec, err := svc.CreateClient(ctx, admin.ClientInput{Name: "Demo client", Description: "seeded by serve --dev"})
	if err != nil {
		return err
	}
	if _, err := svc.CreateGrant(ctx, c.ClientID, DemoAudience, []string{"read:data", "write:data"}); err != nil {
		return err
	}
	endpoint := strings.TrimRight(cfg.Issuer, "/") + "/oauth/token"
	fmt.Fprintf(a.env.Stdout, `
gatehouse --dev seeded a demo API and client (the secret is shown only now):

  audience:      %s
  client_id:     %s
  client_secret: %s

Get a token:

  curl -s %s \
    -H 'content-type: application/json' \
    -d '{"grant_type":"client_credentials","client_id":"%s","client_secret":"%s","audience":"%s"}'

`, DemoAudience, c.ClientID, sec.Plain, endpoint, c.ClientID, sec.Plain, DemoAudience)
	return seedAdmin(ctx, a.env.Stdout, svc, cfg.Issuer)
}
