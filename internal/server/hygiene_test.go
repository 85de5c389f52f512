package server_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// TestRequestIDAndAccessLog: every response carries X-Request-Id — the
// caller's when sane, a fresh one otherwise — and every request gets one
// access log line with method, route pattern (no path, no query), status, duration,
// client IP and request ID, and nothing from headers or body.
func TestRequestIDAndAccessLog(t *testing.T) {
	l := startLive(t, server.Options{})
	tests := []struct {
		name, incoming string
		keep           bool
	}{
		{"sane incoming ID kept", "lb-7f3a.42", true},
		{"ID with a space replaced", "two words", false},
		{"ID with a newline replaced", "a\u2028b", false},
		{"overlong ID replaced", strings.Repeat("x", 200), false},
		{"no incoming ID", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := l.req(http.MethodPost, "/oauth/token?trace=query-value", "application/x-www-form-urlencoded",
				"grant_type=client_credentials&client_id=nobody&client_secret=body-secret-value", func(r *http.Request) {
					if tc.incoming != "" {
						r.Header.Set("X-Request-Id", tc.incoming)
					}
					r.Header.Set("Authorization", "Bearer header-token-value")
				})
			id := resp.Header.Get("X-Request-Id")
			switch {
			case tc.keep && id != tc.incoming:
				t.Fatalf("X-Request-Id %q, want the incoming %q", id, tc.incoming)
			case !tc.keep && (id == tc.incoming || len(id) != 16):
				t.Fatalf("X-Request-Id %q, want a fresh 16-character ID", id)
			}
			recs := l.logs.find(t, "request", map[string]any{"request_id": id})
			if len(recs) != 1 {
				t.Fatalf("%d access log lines for request %s, want 1; logs:\n%s", len(recs), id, l.logs)
			}
			r := recs[0]
			want := map[string]any{"level": "INFO", "method": "POST", "route": "/oauth/token",
				"status": float64(400), "client_ip": "127.0.0.1"}
			for k, v := range want {
				if r[k] != v {
					t.Errorf("access log %s = %v, want %v", k, r[k], v)
				}
			}
			if _, ok := r["duration"].(float64); !ok {
				t.Errorf("access log has no duration: %v", r)
			}
		})
	}
	for _, leak := range []string{"query-value", "body-secret-value", "header-token-value"} {
		if strings.Contains(l.logs.String(), leak) {
			t.Errorf("the log holds %q", leak)
		}
	}
	// A W3C traceparent puts its trace ID in the access line.
	resp, _ := l.req(http.MethodGet, "/.well-known/jwks.json", "", "", func(r *http.Request) {
		r.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	})
	if recs := l.logs.find(t, "request", map[string]any{"request_id": resp.Header.Get("X-Request-Id")}); len(recs) != 1 || recs[0]["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("access line of a traced request: %v", recs)
	}
	// Probes are logged at debug, and unmatched paths get a bounded label.
	l.req(http.MethodGet, "/healthz", "", "", nil)
	l.req(http.MethodGet, "/no/such/path", "", "", nil)
	if recs := l.logs.find(t, "request", map[string]any{"level": "DEBUG", "route": "/healthz"}); len(recs) != 1 {
		t.Errorf("healthz access lines at debug: %d", len(recs))
	}
	if recs := l.logs.find(t, "request", map[string]any{"route": "unmatched", "status": float64(404)}); len(recs) != 1 {
		t.Errorf("unmatched access lines: %d", len(recs))
	}
}

// TestClientAddress: X-Forwarded-For is believed only from a trusted proxy,
// and then its right-most untrusted hop is the client.
func TestClientAddress(t *testing.T) {
	xff := "203.0.113.66, 198.51.100.9"
	for _, tc := range []struct {
		name, trusted, want string
	}{
		{"no trusted proxies: the peer", "", "127.0.0.1"},
		{"peer not trusted: the peer", "10.0.0.0/8", "127.0.0.1"},
		{"trusted peer: the right-most hop", "127.0.0.0/8", "198.51.100.9"},
		{"trusted peer and hop: the next hop", "127.0.0.1, 198.51.100.0/24", "203.0.113.66"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := startLive(t, server.Options{}, func(c *config.Config) { c.TrustedProxies = tc.trusted })
			resp, _ := l.req(http.MethodGet, "/healthz", "", "", func(r *http.Request) { r.Header.Set("X-Forwarded-For", xff) })
			recs := l.logs.find(t, "request", map[string]any{"request_id": resp.Header.Get("X-Request-Id")})
			if len(recs) != 1 || recs[0]["client_ip"] != tc.want {
				t.Fatalf("access log %v, want client_ip %s", recs, tc.want)
			}
		})
	}
}

// TestSecurityHeaders: every response, error pages included, carries the
// security headers and no-store unless the handler marks it cacheable; no
// HSTS over plain HTTP.
func TestSecurityHeaders(t *testing.T) {
	l := startLive(t, server.Options{})
	for _, tc := range []struct {
		method, path string
		status       int
		cache        string
	}{
		{http.MethodGet, "/no/such/page", 404, "no-store"},
		{http.MethodDelete, "/healthz", 405, "no-store"},
		{http.MethodGet, "/oauth/token", 405, "no-store"},
		{http.MethodPost, "/oauth/token", 400, "no-store"},
		{http.MethodGet, "/healthz", 200, "no-store"},
		{http.MethodGet, "/.well-known/jwks.json", 200, "public, max-age=300"},
		{http.MethodGet, "/.well-known/openid-configuration", 200, "public, max-age=300"},
	} {
		resp, _ := l.req(tc.method, tc.path, "", "", nil)
		h := resp.Header
		if resp.StatusCode != tc.status || h.Get("Cache-Control") != tc.cache || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s %s: %d, headers %v", tc.method, tc.path, resp.StatusCode, h)
		}
	}
}

// TestSlowClientsAreDropped: a client that sends its headers or its body too
// slowly loses the connection when the listener's timeouts run out (they are
// shortened here; the real ones are server.ReadHeaderTimeout and
// server.ReadTimeout).
func TestSlowClientsAreDropped(t *testing.T) {
	l := startLive(t, server.Options{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 400 * time.Millisecond})
	tests := []struct {
		name string
		send string // then nothing more
	}{
		{"slow headers", "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"},
		{"slow body", "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"grant_type\":"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", l.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tc.send); err != nil {
				t.Fatal(err)
			}
			// The safety net is far beyond the server's timeouts: only the
			// server closing the connection ends the read in time.
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, err := io.ReadAll(conn)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server kept the connection of a stalled client open (read %q)", got)
			}
			if strings.HasPrefix(string(got), "HTTP/1.1 200") {
				t.Fatalf("a stalled request was served: %q", got)
			}
		})
	}
}

// TestOversizedBodyNotRead: a 10 MB token request is refused with an RFC
// 6749 §5.2 invalid_request, and the server reads only a bounded part of it
// before closing the connection. Announced by Content-Length, the body is
// refused unread (the server reads one buffer of it at most); streamed
// chunked, the limit stops reading at 64 KiB, and after the answer is sent
// net/http reads up to 256 KiB more (its fixed drain allowance,
// maxPostHandlerReadBytes) before it closes.
func TestOversizedBodyNotRead(t *testing.T) {
	const size = 10 << 20
	const slack = 64 << 10 // request line, headers, buffering, chunk framing
	for _, tc := range []struct {
		chunked bool
		max     int64
	}{
		{false, slack},
		{true, oauth.MaxBodyBytes + 256<<10 + slack},
	} {
		chunked := tc.chunked
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			l := startLive(t, server.Options{})
			conn, err := net.Dial("tcp", l.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			head := "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
			if chunked {
				head += "Transfer-Encoding: chunked\r\n\r\n"
			} else {
				head += fmt.Sprintf("Content-Length: %d\r\n\r\n", size)
			}
			writeErr := make(chan error, 1)
			go func() {
				if _, err := io.WriteString(conn, head); err != nil {
					writeErr <- err
					return
				}
				chunk := strings.Repeat("a", 32<<10)
				for sent := 0; sent < size; sent += len(chunk) {
					piece := chunk
					if chunked {
						piece = fmt.Sprintf("%x\r\n%s\r\n", len(chunk), chunk)
					}
					if _, err := io.WriteString(conn, piece); err != nil {
						writeErr <- err // the server closed the connection
						return
					}
				}
				writeErr <- nil
			}()
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct{ Error, ErrorDescription string }
			_ = json.Unmarshal(body, &struct {
				Error *string `json:"error"`
				Desc  *string `json:"error_description"`
			}{&e.Error, &e.ErrorDescription})
			if resp.StatusCode != 400 || e.Error != oauth.CodeInvalidRequest || !strings.Contains(e.ErrorDescription, "64 KiB") {
				t.Fatalf("%d %s, want 400 invalid_request naming the limit", resp.StatusCode, body)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
			if !resp.Close {
				t.Error("the server keeps the connection of an oversized request open (it would have to drain it)")
			}
			select {
			case err := <-writeErr:
				if err == nil {
					t.Log("the client managed to write everything into socket buffers")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the writer is still writing: the server neither read nor closed")
			}
			if n := l.conns.read.Load(); n > tc.max {
				t.Fatalf("the server read %d bytes of a %d-byte request, want at most %d", n, size, tc.max)
			} else {
				t.Logf("server read %d bytes of %d", n, size)
			}
		})
	}
}

// TestTLS: with --tls-cert/--tls-key the server speaks HTTPS only, at TLS
// 1.2 or later, sends HSTS, and derives an https issuer.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert := testutil.WriteCert(t, certFile, keyFile, "gatehouse-test")
	l := startLive(t, server.Options{}, func(c *config.Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	if !strings.HasPrefix(l.url, "https://") {
		t.Fatalf("issuer %q under TLS", l.url)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	l.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	resp, body := l.req(http.MethodGet, "/.well-known/openid-configuration", "", "", nil)
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("%d over %v", resp.StatusCode, resp.TLS)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("HSTS %q", got)
	}
	var meta map[string]any
	_ = json.Unmarshal(body, &meta)
	if meta["issuer"] != l.url || !strings.HasPrefix(fmt.Sprint(meta["token_endpoint"]), "https://") {
		t.Errorf("metadata under TLS: %v", meta)
	}
	if resp.TLS.Version != tls.VersionTLS13 {
		t.Errorf("negotiated %x, want TLS 1.3 when both sides offer it", resp.TLS.Version)
	}
	// TLS 1.1 and plain HTTP are refused.
	old := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get(l.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("a TLS 1.1 client was served")
	}
	plain, err := http.Get("http://" + l.addr + "/healthz")
	if err == nil {
		plain.Body.Close()
		if plain.StatusCode == 200 {
			t.Fatal("plain HTTP was served on the TLS listener")
		}
	}
	// A TLS 1.2 client gets an AEAD suite with forward secrecy.
	c12 := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS12}}}
	resp12, err := c12.Get(l.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp12.Body.Close()
	if name := tls.CipherSuiteName(resp12.TLS.CipherSuite); !strings.HasPrefix(name, "TLS_ECDHE_") || !(strings.Contains(name, "GCM") || strings.Contains(name, "CHACHA20")) {
		t.Errorf("TLS 1.2 suite %s", name)
	}
	_ = os.Remove(certFile) // a vanished file keeps the loaded certificate serving
	if resp, err := l.client.Get(l.url + "/healthz"); err != nil {
		t.Fatalf("after the certificate file vanished: %v", err)
	} else {
		resp.Body.Close()
	}
}
