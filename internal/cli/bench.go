package cli

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/clientcred"
	"github.com/gatehouse-dev/gatehouse/internal/loadtest"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

type benchFlags struct {
	tokenURL, issuer, audience, scope, auth string
	credentials, credentialsOut, signingAlg string
	workers, clients                        int
	duration, timeout, readyTimeout         time.Duration
	requests                                int64
	rate                                    float64
	quiet                                   bool
	sampleInterval                          time.Duration
	metricsURL                              string
	keyAlg                                  string
	dpop                                    string // "", "on" or "compare" (bench_dpop.go)
}

func (a *app) benchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench (--token-url URL | --issuer URL) --audience URI (--credentials FILE | --clients N [--db DSN]) [--workers 32] [--duration 10s | --requests N] [--rate R]",
		Short: "Load-test a client-credentials token endpoint",
		Long: "Runs a closed-loop load test against any OAuth 2.0 token endpoint (client credentials grant): --workers\n" +
			"concurrent workers over keep-alive connections, each sending the next request as soon as the last one is\n" +
			"answered, cycling round-robin through many clients. Credentials come from --credentials, a file of JSON\n" +
			"lines {\"client_id\":...,\"client_secret\":...}, or are provisioned with --clients N in the database (--db):\n" +
			"N new clients, each with a secret and a grant for --audience (created with --signing-alg if it does not\n" +
			"exist); --credentials-out saves them for later runs. A progress line goes to stderr once a second; the\n" +
			"summary (tokens/s, latency percentiles, errors by status) to stdout, as JSON with --json.\n" +
			"--auth private_key_jwt authenticates with client assertions (RFC 7523) instead: --clients N provisions\n" +
			"clients with a fresh --key-alg key each and no secret (--credentials-out then holds their private keys), and\n" +
			"each request carries an assertion the worker signs just before sending it (a jti is single-use), with aud\n" +
			"the --issuer, else the --token-url; latencies are the server's, tokens/s includes the signing.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(cmd); err != nil {
				return err
			}
			return a.runBench(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.tokenURL, "token-url", "", "the token endpoint URL")
	fl.StringVar(&f.issuer, "issuer", "", "the issuer URL; its discovery metadata names the token endpoint")
	fl.StringVar(&f.audience, "audience", "", "the API identifier to ask tokens for")
	fl.StringVar(&f.scope, "scope", "", "space-separated scopes to ask for (default: none sent)")
	fl.StringVar(&f.auth, "auth", "post", "client authentication: post (client_secret_post), basic (client_secret_basic) or private_key_jwt")
	fl.StringVar(&f.keyAlg, "key-alg", "ES256", "with --auth private_key_jwt and --clients: the clients' key type, ES256, EdDSA or RS256")
	fl.StringVar(&f.credentials, "credentials", "", "file of JSON lines {\"client_id\",\"client_secret\"}")
	fl.IntVar(&f.clients, "clients", 0, "provision this many new clients in the database (--db) instead of --credentials")
	fl.StringVar(&f.credentialsOut, "credentials-out", "", "with --clients: write the new clients' credentials here (mode 0600)")
	fl.StringVar(&f.signingAlg, "signing-alg", "RS256", "with --clients: the signing algorithm of the API if it has to be created")
	fl.IntVar(&f.workers, "workers", 32, "concurrent workers (closed loop: one request in flight each)")
	fl.DurationVar(&f.duration, "duration", 0, "how long to run (default 10s unless --requests is given)")
	fl.Int64Var(&f.requests, "requests", 0, "how many requests to send, instead of --duration")
	fl.Float64Var(&f.rate, "rate", 0, "cap the requests started per second (latency then counts from when a request was due); 0: as fast as the workers go")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Second, "timeout of one request")
	fl.DurationVar(&f.readyTimeout, "ready-timeout", 60*time.Second, "with --clients: how long to wait for the server to know the new clients")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress line")
	fl.DurationVar(&f.sampleInterval, "sample-interval", 0, "for a soak: every this long, report that interval's tokens/s, p50, p99 and max (a line on stderr, \"samples\" in --json)")
	fl.StringVar(&f.metricsURL, "metrics-url", "", "with --sample-interval: the server's Prometheus /metrics, whose RSS, goroutines and open file descriptors each sample reads")
	fl.StringVar(&f.dpop, "dpop", "", dpopUsage)
	return cmd
}

// validate reports every bad flag at once, in one line.
func (f *benchFlags) validate(cmd *cobra.Command) error {
	var p []string
	switch {
	case f.tokenURL == "" && f.issuer == "":
		p = append(p, "one of --token-url or --issuer is required")
	case f.tokenURL != "" && f.issuer != "":
		p = append(p, "give --token-url or --issuer, not both")
	}
	for name, v := range map[string]string{"--token-url": f.tokenURL, "--issuer": f.issuer} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p = append(p, fmt.Sprintf("%s %q must be an absolute http or https URL", name, v))
		}
	}
	if f.audience == "" {
		p = append(p, "--audience is required")
	}
	switch {
	case f.credentials == "" && f.clients == 0:
		p = append(p, "one of --credentials or --clients is required")
	case f.credentials != "" && f.clients != 0:
		p = append(p, "give --credentials or --clients, not both")
	}
	if f.clients < 0 {
		p = append(p, fmt.Sprintf("--clients %d must be positive", f.clients))
	}
	if f.clients == 0 && f.credentialsOut != "" {
		p = append(p, "--credentials-out needs --clients")
	}
	if f.clients == 0 && cmd.Flags().Changed("signing-alg") {
		p = append(p, "--signing-alg needs --clients")
	}
	if !slices.Contains(admin.SigningAlgs, f.signingAlg) {
		p = append(p, fmt.Sprintf("--signing-alg %q must be one of %s", f.signingAlg, strings.Join(admin.SigningAlgs, ", ")))
	}
	if f.auth != "post" && f.auth != "basic" && f.auth != loadtest.AuthPrivateKeyJWT {
		p = append(p, fmt.Sprintf("--auth %q must be basic, post or private_key_jwt", f.auth))
	}
	if f.keyAlg != "ES256" && f.keyAlg != "EdDSA" && f.keyAlg != "RS256" {
		p = append(p, fmt.Sprintf("--key-alg %q must be ES256, EdDSA or RS256", f.keyAlg))
	}
	if f.workers < 1 || f.workers > 10000 {
		p = append(p, fmt.Sprintf("--workers %d must be from 1 to 10000", f.workers))
	}
	switch {
	case f.duration < 0:
		p = append(p, fmt.Sprintf("--duration %s is negative", f.duration))
	case f.requests < 0:
		p = append(p, fmt.Sprintf("--requests %d is negative", f.requests))
	case cmd.Flags().Changed("duration") && cmd.Flags().Changed("requests"):
		p = append(p, "give --duration or --requests, not both")
	case cmd.Flags().Changed("duration") && f.duration == 0:
		p = append(p, "--duration must be positive")
	case cmd.Flags().Changed("requests") && f.requests == 0:
		p = append(p, "--requests must be positive")
	}
	if f.rate < 0 {
		p = append(p, fmt.Sprintf("--rate %g is negative", f.rate))
	}
	if f.timeout <= 0 {
		p = append(p, fmt.Sprintf("--timeout %s must be positive", f.timeout))
	}
	if f.readyTimeout <= 0 {
		p = append(p, fmt.Sprintf("--ready-timeout %s must be positive", f.readyTimeout))
	}
	if f.sampleInterval < 0 || (f.sampleInterval > 0 && f.sampleInterval < 100*time.Millisecond) {
		p = append(p, fmt.Sprintf("--sample-interval %s must be at least 100ms", f.sampleInterval))
	}
	if f.metricsURL != "" {
		if u, err := url.Parse(f.metricsURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p = append(p, fmt.Sprintf("--metrics-url %q must be an absolute http or https URL", f.metricsURL))
		}
		if f.sampleInterval == 0 {
			p = append(p, "--metrics-url needs --sample-interval")
		}
	}
	p = append(p, f.validateDPoP()...)
	if len(p) > 0 {
		return errors.New(strings.Join(p, "; "))
	}
	if f.duration == 0 && f.requests == 0 {
		f.duration = 10 * time.Second
	}
	return nil
}

func (a *app) runBench(cmd *cobra.Command, f benchFlags) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hc := &http.Client{Timeout: 15 * time.Second}
	tokenURL := f.tokenURL
	if f.issuer != "" {
		var meta metadata
		if err := getJSON(ctx, hc, strings.TrimRight(f.issuer, "/")+"/.well-known/openid-configuration", &meta); err != nil {
			return fmt.Errorf("discovery: %w", err)
		}
		if meta.TokenEndpoint == "" {
			return errors.New("discovery: the metadata names no token_endpoint")
		}
		tokenURL = meta.TokenEndpoint
	}
	auth := loadtest.AuthPost
	switch f.auth {
	case "basic":
		auth = loadtest.AuthBasic
	case loadtest.AuthPrivateKeyJWT:
		auth = loadtest.AuthPrivateKeyJWT
	}
	aud := f.issuer // the assertions' audience (draft-ietf-oauth-rfc7523bis)
	if aud == "" {
		aud = tokenURL
	}
	var creds []loadtest.Credential
	var err error
	if f.clients > 0 {
		creds, err = a.provision(cmd, f)
		if err != nil {
			return err
		}
		if err := waitKnown(ctx, hc, tokenURL, aud, f, auth, creds[len(creds)-1]); err != nil {
			return err
		}
	} else {
		creds, err = readCredentialsFile(f.credentials)
		if err != nil {
			return err
		}
	}
	cfg := loadtest.Config{
		TokenURL: tokenURL, Audience: f.audience, Scope: f.scope, Credentials: creds, Auth: auth, AssertionAudience: aud,
		Workers: f.workers, Duration: f.duration, Requests: f.requests, Rate: f.rate, Timeout: f.timeout,
	}
	// The progress line and the samples come from goroutines of their own.
	stderr := &syncWriter{w: a.env.Stderr}
	if !f.quiet {
		cfg.Progress = func(p loadtest.Progress) {
			fmt.Fprintf(stderr, "bench: %5.1fs  %d requests  %.0f tokens/s  %d errors\n",
				p.Elapsed.Seconds(), p.Requests, p.Rate, p.Errors)
		}
	}
	var soak *soakSampler
	if f.sampleInterval > 0 {
		soak = &soakSampler{hc: hc, metricsURL: f.metricsURL, log: stderr, quiet: f.quiet}
		cfg.SampleInterval = f.sampleInterval
		cfg.Sample = func(s loadtest.Sample) { soak.sample(ctx, s) }
	}
	if f.dpop != "" {
		return a.runBenchDPoP(ctx, f, cfg, tokenURL)
	}
	res, err := loadtest.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := a.printBench(tokenURL, f.audience, res, soak); err != nil {
		return err
	}
	if res.OK == 0 && res.Requests > 0 {
		return fmt.Errorf("no request got a token (%s)", errorList(res))
	}
	return nil
}

func readCredentialsFile(path string) ([]loadtest.Credential, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	defer fh.Close()
	creds, err := loadtest.ReadCredentials(fh)
	if err != nil {
		return nil, fmt.Errorf("credentials %s: %w", path, err)
	}
	return creds, nil
}

// provision creates f.clients clients, each with a secret and a grant for
// f.audience (every scope of the API), creating the API if it is missing.
func (a *app) provision(cmd *cobra.Command, f benchFlags) ([]loadtest.Credential, error) {
	var out *os.File
	if f.credentialsOut != "" {
		var err error
		if out, err = os.OpenFile(f.credentialsOut, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return nil, fmt.Errorf("credentials-out: %w", err)
		}
		defer out.Close()
	}
	s, err := a.open(cmd, true)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	ctx := cmd.Context()
	api, err := s.svc.GetAPI(ctx, f.audience)
	if errors.Is(err, storage.ErrNotFound) {
		api, err = s.svc.CreateAPI(ctx, admin.APIInput{Identifier: f.audience, Name: "gatehouse bench", SigningAlg: f.signingAlg})
		if err == nil {
			fmt.Fprintf(a.env.Stderr, "bench: created API %s (%s)\n", api.Identifier, api.SigningAlg)
		}
	}
	if err != nil {
		return nil, err
	}
	scopes := make([]string, len(api.Scopes))
	for i, sc := range api.Scopes {
		scopes[i] = sc.Value
	}
	creds := make([]loadtest.Credential, 0, f.clients)
	start := time.Now()
	keyed := f.auth == loadtest.AuthPrivateKeyJWT
	for i := range f.clients {
		in := admin.ClientInput{Name: fmt.Sprintf("bench-%06d", i+1), Description: "created by gatehouse bench"}
		if keyed {
			in.TokenEndpointAuthMethod = storage.AuthMethodPrivateKeyJWT
		}
		c, sec, err := s.svc.CreateClient(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("provision client %d: %w", i+1, err)
		}
		if _, err := s.svc.CreateGrant(ctx, c.ClientID, api.Identifier, scopes); err != nil {
			return nil, fmt.Errorf("provision grant %d: %w", i+1, err)
		}
		cred := loadtest.Credential{ClientID: c.ClientID, ClientSecret: sec.Plain}
		if keyed {
			if cred.PrivateKey, err = provisionKey(ctx, s.svc, c.ClientID, f.keyAlg); err != nil {
				return nil, fmt.Errorf("provision key %d: %w", i+1, err)
			}
		}
		creds = append(creds, cred)
	}
	if out != nil {
		if err := loadtest.WriteCredentials(out, creds); err != nil {
			return nil, fmt.Errorf("credentials-out: %w", err)
		}
	}
	fmt.Fprintf(a.env.Stderr, "bench: provisioned %d clients for %s in %s\n", len(creds), api.Identifier, time.Since(start).Round(time.Millisecond))
	return creds, nil
}

// provisionKey makes a key of alg for the client, registers its public
// half and returns the private one as PEM.
func provisionKey(ctx context.Context, svc *admin.Service, clientID, alg string) (string, error) {
	var key crypto.Signer
	var err error
	switch alg {
	case "RS256":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "EdDSA":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return "", err
	}
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if _, err := svc.AddCredential(ctx, clientID, clientcred.Input{Type: storage.CredentialPublicKey, PEM: pub, Alg: alg, Name: "bench"}, true); err != nil {
		return "", err
	}
	return loadtest.EncodePrivateKey(key)
}

// waitKnown asks for a token with the last provisioned client until the
// server has picked the new clients up from its change feed.
func waitKnown(ctx context.Context, hc *http.Client, tokenURL, aud string, f benchFlags, auth string, cred loadtest.Credential) error {
	deadline := time.Now().Add(f.readyTimeout)
	for {
		res, err := loadtest.Run(ctx, loadtest.Config{TokenURL: tokenURL, Audience: f.audience, Scope: f.scope, AssertionAudience: aud,
			Credentials: []loadtest.Credential{cred}, Auth: auth, Workers: 1, Requests: 1, Timeout: f.timeout,
			Transport: hc.Transport})
		if err != nil {
			return err
		}
		if res.OK == 1 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the server did not accept the new clients within %s (%s)", f.readyTimeout, errorList(res))
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func errorList(res *loadtest.Result) string {
	if len(res.Errors) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(res.Errors))
	for _, k := range res.ErrorKeys() {
		parts = append(parts, fmt.Sprintf("%s: %d", k, res.Errors[k]))
	}
	return strings.Join(parts, ", ")
}

type benchJSON struct {
	TokenURL string `json:"token_url"`
	Audience string `json:"audience"`
	loadtest.Summary
	Samples []soakSample `json:"samples,omitempty"`
}

func (a *app) printBench(tokenURL, audience string, res *loadtest.Result, soak *soakSampler) error {
	s := res.Summary()
	ms := func(v float64) string { return fmt.Sprintf("%.3fms", v) }
	out := benchJSON{TokenURL: tokenURL, Audience: audience, Summary: s}
	var soakLine [][2]string
	if soak != nil {
		out.Samples = soak.samples
		soakLine = append(soakLine, [2]string{"samples", soak.summary()})
	}
	return a.out().fields(out, append([][2]string{
		{"token url", tokenURL},
		{"audience", audience},
		{"workers", fmt.Sprint(s.Workers)},
		{"clients", fmt.Sprint(s.Clients)},
		{"elapsed", fmt.Sprintf("%.2fs", s.ElapsedSeconds)},
		{"requests", fmt.Sprint(s.Requests)},
		{"tokens", fmt.Sprint(s.Tokens)},
		{"tokens/s", fmt.Sprintf("%.1f", s.TokensPerSecond)},
		{"latency", fmt.Sprintf("mean %s  p50 %s  p90 %s  p99 %s  max %s",
			ms(s.LatencyMS.Mean), ms(s.LatencyMS.P50), ms(s.LatencyMS.P90), ms(s.LatencyMS.P99), ms(s.LatencyMS.Max))},
		{"errors", errorList(res)},
	}, soakLine...)...)
}

// syncWriter serialises the writes of several goroutines to one writer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
