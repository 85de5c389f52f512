package interop_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// TestServeTLS: gatehouse serve --tls-cert/--tls-key speaks HTTPS with an
// https issuer and HSTS, and a token can be had over it; a half-given pair
// fails the start with one line naming the problem.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert := testutil.WriteCert(t, certFile, keyFile, "gatehouse-interop")
	in := newInstance(dir)
	p := serve(t, "tls server", in, "--addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(p.issuer, "https://") {
		t.Fatalf("issuer %q under TLS", p.issuer)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get(p.base() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if meta["issuer"] != p.issuer || resp.Header.Get("Strict-Transport-Security") == "" || resp.TLS == nil {
		t.Fatalf("metadata %v, headers %v", meta, resp.Header)
	}
	aud := in.newAPI(t, "ES256")
	c := in.newClient(t, "tls-client")
	in.grant(t, c, aud)
	deadline := time.Now().Add(setupDeadline)
	for {
		form := "grant_type=client_credentials&client_id=" + c.id + "&client_secret=" + c.secret + "&audience=" + aud
		resp, err := hc.Post(p.base()+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			recordCredentials(str(body, "access_token"))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no token over TLS: %d %v", resp.StatusCode, body)
		}
		time.Sleep(20 * time.Millisecond)
	}

	r := in.run(t, nil, "serve", "--addr", "127.0.0.1:0", "--db", in.db, "--tls-cert", certFile)
	if r.code == 0 || !strings.Contains(r.stderr, "tls-key is not") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Fatalf("serve with only --tls-cert: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestServeMetrics scrapes a real gatehouse serve process's /metrics and
// sees the request counter of the token endpoint and the catalog gauges
// move.
func TestServeMetrics(t *testing.T) {
	in := newInstance(t.TempDir())
	p := serve(t, "metrics server", in, "--addr", "127.0.0.1:0")
	scrape := func() map[string]float64 {
		t.Helper()
		resp, err := hc.Get(p.base() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]float64{}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "#") || line == "" {
				continue
			}
			i := strings.LastIndexByte(line, ' ')
			if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
				out[line[:i]] = v
			}
		}
		return out
	}
	before := scrape()
	aud := in.newAPI(t, "RS256")
	c := in.newClient(t, "metrics-client")
	in.grant(t, c, aud)
	p.token(t, c, aud) // waits for the server to see the new client, then succeeds
	after := scrape()
	const ok = `gatehouse_http_requests_total{code="200",endpoint="/oauth/token"}`
	if after[ok]-before[ok] < 1 {
		t.Errorf("%s: %v → %v", ok, before[ok], after[ok])
	}
	if after["gatehouse_catalog_clients"]-before["gatehouse_catalog_clients"] != 1 || after["gatehouse_catalog_apis"]-before["gatehouse_catalog_apis"] != 1 {
		t.Errorf("catalog gauges: clients %v → %v, apis %v → %v", before["gatehouse_catalog_clients"], after["gatehouse_catalog_clients"],
			before["gatehouse_catalog_apis"], after["gatehouse_catalog_apis"])
	}
	if _, ok := after[`gatehouse_signing_key_age_seconds{alg="RS256"}`]; !ok {
		t.Error("no RS256 key age")
	}
}
