package cli

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// EnvCACert names the environment variable that --cacert defaults to.
const EnvCACert = "GATEHOUSE_CACERT"

// cacertFlag adds --cacert to cmd (persistent, for a command group).
func cacertFlag(cmd *cobra.Command, persistent bool) {
	fs := cmd.Flags()
	if persistent {
		fs = cmd.PersistentFlags()
	}
	fs.String("cacert", "", "PEM file of the CA certificates that verify the server's TLS certificate, instead of the system's (env "+EnvCACert+")")
}

// httpClient is the command line's HTTP client for talking to a server: it
// verifies TLS with the system's CA certificates or, with --cacert (or
// GATEHOUSE_CACERT), with those of that PEM file only, as curl's --cacert.
func (a *app) httpClient(cmd *cobra.Command, timeout time.Duration) (*http.Client, error) {
	path, _ := cmd.Flags().GetString("cacert")
	if path == "" {
		path = a.env.Getenv(EnvCACert)
	}
	if path == "" {
		return &http.Client{Timeout: timeout}, nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--cacert: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--cacert %s holds no PEM certificate", path)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Timeout: timeout, Transport: tr}, nil
}
