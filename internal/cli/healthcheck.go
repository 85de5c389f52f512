package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"time"

	"github.com/spf13/cobra"
)

// healthcheckCmd asks a running server whether it is ready, for container
// health checks in images without a shell or curl.
func (a *app) healthcheckCmd() *cobra.Command {
	var (
		url     string
		timeout time.Duration
		wait    time.Duration
		roots   bool
	)
	cmd := &cobra.Command{
		Use:   "healthcheck [--url http://127.0.0.1:8080/readyz] [--tls-roots]",
		Short: "Exit 0 if the server at --url answers 200 (for a container's health check)",
		Long: "GET --url (default the readiness endpoint of a server on 127.0.0.1:8080) and exit 0 on 200, else 1 with one\n" +
			"line saying why. With --tls-roots it first checks that the system's CA certificates load, which federation and\n" +
			"OTLP export over TLS rely on; with --url \"\" it checks only that. With --wait it asks again every 200ms until\n" +
			"the server is healthy or the wait is over (a script that starts serve in the background).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if roots {
				n, err := systemRoots()
				if err != nil {
					return err
				}
				fmt.Fprintf(a.env.Stdout, "system CA certificates: %d\n", n)
			}
			if url == "" {
				if !roots {
					return errors.New("--url is empty: nothing to check")
				}
				return nil
			}
			serverName := ""
			if !cmd.Flags().Changed("url") {
				overTLS := a.env.Getenv("GATEHOUSE_TLS_CERT") != ""
				url = readyURL(a.env.Getenv("GATEHOUSE_ADDR"), overTLS)
				if overTLS {
					serverName = issuerHost(a.env.Getenv("GATEHOUSE_ISSUER"))
				}
			}
			hc, err := a.httpClient(cmd, timeout)
			if err != nil {
				return err
			}
			if serverName != "" {
				hc = withServerName(hc, serverName)
			}
			deadline := time.Now().Add(wait) // real time: the server starts in real time
			for {
				err = check(cmd.Context(), hc, url)
				if err == nil || !time.Now().Before(deadline) {
					break
				}
				select {
				case <-cmd.Context().Done():
					return err
				case <-time.After(200 * time.Millisecond):
				}
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.env.Stdout, "healthy: %s answered HTTP 200\n", url)
			return err
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:8080/readyz", "the URL to GET (/readyz for readiness, /healthz for liveness); not given, /readyz at GATEHOUSE_ADDR's port when set (as in the container image), on loopback for a 0.0.0.0 or :: host, over https when GATEHOUSE_TLS_CERT is set, checking the certificate for GATEHOUSE_ISSUER's host")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for each answer")
	cmd.Flags().DurationVar(&wait, "wait", 0, "ask again until healthy or this long has passed")
	cmd.Flags().BoolVar(&roots, "tls-roots", false, "also check that the system CA certificates load (those TLS to other servers trusts)")
	cacertFlag(cmd, false)
	return cmd
}

// readyURL is the readiness endpoint of a server that serve started with
// addr (GATEHOUSE_ADDR) as its listen address, over https when it
// terminates TLS: a wildcard host is reached on loopback; an empty or
// malformed addr means serve's default 127.0.0.1:8080.
func readyURL(addr string, https bool) string {
	host, port, err := net.SplitHostPort(addr)
	switch {
	case err != nil:
		host, port = "127.0.0.1", "8080"
	case host == "" || host == "0.0.0.0":
		host = "127.0.0.1"
	case host == "::":
		host = "::1"
	}
	scheme := "http://"
	if https {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, port) + "/readyz"
}

// issuerHost is the host name of an https issuer (GATEHOUSE_ISSUER), the
// name serve's certificate is for, or "" for none.
func issuerHost(issuer string) string {
	u, err := neturl.Parse(issuer)
	if err != nil || u.Scheme != "https" {
		return ""
	}
	return u.Hostname()
}

// withServerName returns hc checking the server's certificate for name
// (and sending it as SNI) whatever address it connects to: healthcheck
// reaches serve on loopback, whose certificate names the public host.
func withServerName(hc *http.Client, name string) *http.Client {
	tr, ok := hc.Transport.(*http.Transport)
	if !ok || tr == nil {
		tr = http.DefaultTransport.(*http.Transport)
	}
	tr = tr.Clone()
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tr.TLSClientConfig.ServerName = name
	return &http.Client{Timeout: hc.Timeout, Transport: tr}
}

// check GETs url and wants 200.
func check(ctx context.Context, hc *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("--url %q: %w", url, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("not healthy: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not healthy: %s answered HTTP %d %q", url, resp.StatusCode, body)
	}
	return nil
}

// systemRoots loads the system's CA certificates and counts them: an image
// without a CA bundle loads none, and every TLS connection to another
// server would then fail.
func systemRoots() (int, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		return 0, fmt.Errorf("system CA certificates: %w", err)
	}
	// On Linux the system pool is the bundle's certificates, which Subjects
	// lists (it is incomplete only where the platform verifies, macOS and Windows).
	//lint:ignore SA1019 on Linux the pool is the bundle's certificates, all of them listed
	n := len(pool.Subjects())
	if n == 0 {
		return 0, errors.New("no system CA certificates: install a CA bundle (e.g. /etc/ssl/certs/ca-certificates.crt) or set SSL_CERT_FILE")
	}
	return n, nil
}
