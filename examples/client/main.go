// Command client calls the example API (examples/api) through package
// client's token source: it gets a client-credentials token (RFC 6749 §4.4)
// once, reuses it for every call, and shows what the API answered.
//
//	CLIENT_SECRET=... go run ./examples/client --issuer URL --client-id ID --audience URI [--api URL] [--dpop]
//
// With --dpop the tokens are bound to a key the client makes at start
// (ECDSA P-256, RFC 9449 DPoP): every token request and every API call
// carries a proof signed with it, so a token copied from a log or a proxy
// is useless without the key.
//
// The secret comes from the environment, never from a flag: CLIENT_SECRET,
// and optionally CLIENT_SECRET_OLD, tried when the first is refused (a
// secret rotation). A client without a secret (private_key_jwt, RFC 7523)
// gives its private key's PEM file instead, whose public key is registered
// with `gatehouse client credential add`:
//
//	go run ./examples/client --private-key key.pem --issuer URL --client-id ID --audience URI
//
// A workload with a federated credential needs no secret
// (docs/clients-without-secrets.md): --assertion-file names the token its
// platform keeps current (a Kubernetes projected service-account token),
// read again at every token request; --github-actions asks the GitHub
// Actions runtime for the job's OIDC token, with the issuer as audience.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"

	"github.com/gatehouse-dev/gatehouse/client"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

// countingTransport counts the token requests.
type countingTransport struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	issuer := fs.String("issuer", "http://127.0.0.1:8080", "the authorization server's issuer")
	clientID := fs.String("client-id", getenv("CLIENT_ID"), "client ID (default $CLIENT_ID)")
	audience := fs.String("audience", "", "the API's identifier")
	scope := fs.String("scope", "", "space-separated scopes to ask for (default: all granted)")
	api := fs.String("api", "http://127.0.0.1:9090", "the example API's base URL")
	rounds := fs.Int("n", 2, "how many times to call each endpoint")
	privateKey := fs.String("private-key", "", "a PEM private key: authenticate with private_key_jwt instead of a secret")
	bind := fs.Bool("dpop", false, "bind the tokens to a fresh DPoP key (RFC 9449): proofs on every token request and API call")
	assertionFile := fs.String("assertion-file", "", "a platform token file to authenticate with instead of a secret (Kubernetes)")
	githubActions := fs.Bool("github-actions", false, "authenticate with the GitHub Actions job's OIDC token instead of a secret")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var secrets []string
	for _, k := range []string{"CLIENT_SECRET", "CLIENT_SECRET_OLD"} {
		if s := getenv(k); s != "" {
			secrets = append(secrets, s)
		}
	}
	counter := &countingTransport{next: http.DefaultTransport}
	cfg := client.Config{
		Issuer: *issuer, ClientID: *clientID, Audience: *audience,
		Scopes: strings.Fields(*scope), HTTPClient: &http.Client{Transport: counter},
	}
	switch {
	case *privateKey != "":
		cfg.PrivateKeyFile = *privateKey
	case *assertionFile != "":
		cfg.AssertionFile = *assertionFile // re-read at every token request
	case *githubActions:
		cfg.Assertion = client.GitHubActionsToken(nil, *issuer)
	case len(secrets) == 0:
		return errors.New("set CLIENT_SECRET (and CLIENT_SECRET_OLD during a rotation), or give --private-key, --assertion-file or --github-actions")
	default:
		cfg.Secrets = secrets
	}
	if *bind {
		// A DPoP key lives as long as the process: a new one at each start
		// is what RFC 9449 expects; any crypto.Signer (a KMS key) works.
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		cfg.DPoPKey = key
	}
	src, err := client.New(cfg)
	if err != nil {
		return err
	}
	hc := src.Client()
	calls := 0
	for range *rounds {
		for _, path := range []string{"/v1/ping", "/v1/sensors"} {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(*api, "/")+path, nil)
			if err != nil {
				return err
			}
			resp, err := hc.Do(req)
			if err != nil {
				return err // a *client.Error says what the token endpoint refused
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			calls++
			fmt.Fprintf(stdout, "GET %s -> %s %s\n", path, resp.Status, strings.TrimSpace(string(body)))
			if ch := resp.Header.Get("WWW-Authenticate"); ch != "" {
				fmt.Fprintf(stdout, "    WWW-Authenticate: %s\n", ch)
			}
		}
	}
	fmt.Fprintf(stdout, "%d API calls, %d request(s) to the authorization server\n", calls, counter.n.Load())
	return nil
}
