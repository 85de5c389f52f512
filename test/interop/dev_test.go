package interop_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var (
	curlURL  = regexp.MustCompile(`curl -s (\S+) \\`)
	curlBody = regexp.MustCompile(`-d '(\{.*\})'`)
)

// TestDevSeed runs `serve --dev` as the README's first command does: the
// printed curl command must work as printed, and a second start seeds nothing.
func TestDevSeed(t *testing.T) {
	in := newInstance(t.TempDir())
	p := serve(t, "dev server", in, "--addr", "127.0.0.1:0", "--dev")
	out := p.stdout.String()
	u, b := curlURL.FindStringSubmatch(out), curlBody.FindStringSubmatch(out)
	if u == nil || b == nil {
		t.Fatalf("no curl command in the --dev output:\n%s", out)
	}
	if u[1] != p.base()+"/oauth/token" {
		t.Fatalf("curl targets %s, server issuer %s", u[1], p.issuer)
	}
	post := func() (int, map[string]any) {
		resp, err := hc.Post(u[1], "application/json", strings.NewReader(b[1]))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var v map[string]any
		_ = json.Unmarshal(data, &v)
		return resp.StatusCode, v
	}
	if status, v := post(); status != http.StatusOK || v["scope"] != "read:data write:data" || v["expires_in"] != float64(86400) {
		t.Fatalf("the printed curl command got %d %v", status, v)
	}
	if strings.Contains(strings.Join(p.stderr.all(), "\n"), "gths_") {
		t.Fatal("a client secret reached the log")
	}
	if _, err := p.stop(); err != nil {
		t.Fatal(err)
	}
	again := serve(t, "dev server again", in, "--addr", "127.0.0.1:0", "--dev")
	if out := again.stdout.String(); !strings.Contains(out, "nothing seeded") || strings.Contains(out, "gths_") {
		t.Fatalf("second --dev start printed:\n%s", out)
	}
	u[1] = again.base() + "/oauth/token"
	if status, v := post(); status != http.StatusOK {
		t.Fatalf("demo client after restart: %d %v", status, v)
	}
}
