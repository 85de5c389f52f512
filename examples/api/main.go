// Command api is a small protected API: it verifies gatehouse access tokens
// with package verify (RFC 9068 §4, RFC 6750 §3).
//
//	go run ./examples/api --issuer URL --audience URI [--addr HOST:PORT] [--subject client|user]
//
// GET /v1/ping answers any valid token; GET /v1/sensors needs the
// permission read:sensors: a person's token in an _authz dialect must list
// it in its permissions claim, a client's own token (or a person's in
// another dialect) in its scope. Both say whom the token is about (a
// client or a user); --subject accepts only that kind.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/verify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. ready, if set, receives the listen address.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	issuer := fs.String("issuer", "http://127.0.0.1:8080", "the authorization server's issuer, exactly as in the tokens")
	audience := fs.String("audience", "", "this API's identifier (the tokens' aud)")
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	auth0 := fs.Bool("auth0-dialect", false, `also accept tokens of the auth0 dialect (typ "JWT")`)
	subject := fs.String("subject", "", "accept only tokens about this kind of subject: client (machines) or user (people); default both")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *audience == "" {
		return errors.New("--audience is required")
	}
	types := []string{verify.TypeAccessToken}
	if *auth0 {
		types = append(types, verify.TypeJWT)
	}
	v, err := verify.New(verify.Config{Issuer: *issuer, Audience: *audience, Types: types, Subject: *subject, CacheSize: 10_000})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	log.Info("api listening", "addr", ln.Addr().String(), "issuer", *issuer, "audience", *audience)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	srv := &http.Server{Handler: newHandler(v), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newHandler is the API's routes behind the verifier.
func newHandler(v *verify.Verifier) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /v1/ping", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFromContext(r.Context())
		writeJSON(w, map[string]any{"pong": true, "client_id": c.ClientID, "subject_type": c.SubjectType(), "scope": c.Scopes()})
	})))
	mux.Handle("GET /v1/sensors", v.RequirePermissions("read:sensors")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFromContext(r.Context())
		writeJSON(w, map[string]any{"subject": c.Subject, "subject_type": c.SubjectType(), "sensors": []map[string]any{
			{"id": "greenhouse-1", "celsius": 21.5},
			{"id": "cellar", "celsius": 11.0},
		}})
	})))
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
