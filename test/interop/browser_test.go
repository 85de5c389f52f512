package interop_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// TestBrowserLogin is issue 8's acceptance: a real browser (Debian's
// chromium through playwright-core) drives the real login and consent
// pages of a `gatehouse serve` process, with examples/webapp as the relying
// party and examples/api as the API: code, tokens, ID token checks, the
// API call, userinfo, refresh and logout. Without chromium or playwright-core
// it skips, except under CI, where it fails. With
// GATEHOUSE_SCREENSHOTS=DIR the login and consent pages are saved there
// (docs/ holds them).
func TestBrowserLogin(t *testing.T) {
	dir, node, chromium := browserTools(t)
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range []string{"webapp", "api"} {
		b := exec.Command("go", "build", "-o", filepath.Join(tmpRoot, "example-"+ex), "./examples/"+ex)
		b.Dir = root
		if out, err := b.CombinedOutput(); err != nil {
			t.Fatalf("go build ./examples/%s: %v\n%s", ex, err, out)
		}
	}

	in := newInstance(t.TempDir())
	p := serve(t, "browser login server", in, "--addr", "127.0.0.1:0")
	api := unique("sensors")
	in.admin(t, "api", "create", "--identifier", api, "--scope", "read:sensors", "--allow-offline-access")
	webPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	web := fmt.Sprintf("http://127.0.0.1:%d", webPort)
	c := in.admin(t, "client", "create", "--name", "Example web app", "--app-type", "regular_web",
		"--redirect-uri", web+"/callback", "--logout-url", web+"/")
	// The API's user access is require_client_grant: the web app needs a
	// grant for people.
	in.admin(t, "grant", "create", "--client", str(c, "client_id"), "--audience", api, "--scope", "read:sensors", "--subject-type", "user")
	const email, password = "alice@example.com", "correct horse battery staple"
	in.createUser(t, email, password)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	apiPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	apiURL := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	var apiLog, webLog bytes.Buffer
	apiCmd := exec.CommandContext(ctx, filepath.Join(tmpRoot, "example-api"), "--issuer", p.issuer, "--audience", api, "--addr", strings.TrimPrefix(apiURL, "http://"))
	apiCmd.Stderr = &apiLog
	webCmd := exec.CommandContext(ctx, filepath.Join(tmpRoot, "example-webapp"), "--issuer", p.issuer, "--client-id", str(c, "client_id"),
		"--audience", api, "--scope", "read:sensors", "--api", apiURL, "--addr", strings.TrimPrefix(web, "http://"))
	webCmd.Env = append(environ(), "WEBAPP_CLIENT_SECRET="+str(c, "client_secret"))
	webCmd.Stderr = &webLog
	for _, cmd := range []*exec.Cmd{apiCmd, webCmd} {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cancel(); _ = cmd.Wait() }()
	}
	for _, u := range []string{web + "/", apiURL + "/v1/ping"} {
		deadline := time.Now().Add(startDeadline)
		for {
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is not up: %v\napi: %s\nwebapp: %s", u, err, apiLog.String(), webLog.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	shots := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if shots, err = filepath.Abs(filepath.Join(root, shots)); err != nil {
		t.Fatal(err)
	}
	out, err := runBrowser(ctx, dir, node, "browser.mjs", "WEBAPP="+web, "EMAIL="+email, "PASSWORD="+password, "SHOTS="+shots, "CHROMIUM="+chromium)
	if err != nil {
		t.Fatalf("the browser script failed: %v\n%s\nwebapp: %s\ngatehouse: %s", err, out, webLog.String(), p.logs())
	}
	for _, s := range []string{"login page", "wrong password refused", "consent page", "logged in", "API called", "userinfo", "refreshed", "logged out", "the session is gone"} {
		if !strings.Contains(string(out), "ok: "+s) {
			t.Errorf("the browser script did not report %q:\n%s", s, out)
		}
	}
	for _, f := range []string{"login-page.png", "consent-page.png"} {
		if st, err := os.Stat(filepath.Join(shots, f)); err != nil || st.Size() < 1000 {
			t.Errorf("screenshot %s: %v", f, err)
		}
	}
}

// browserTools returns the node scripts' folder, node and chromium, or
// skips the test without them (fails under CI).
func browserTools(t *testing.T) (dir, node, chromium string) {
	t.Helper()
	dir, err := filepath.Abs("node")
	if err != nil {
		t.Fatal(err)
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	node, err = exec.LookPath("node")
	_, pwErr := os.Stat(filepath.Join(dir, "node_modules", "playwright-core"))
	_, chErr := os.Stat(chromium)
	if err != nil || pwErr != nil || chErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node, playwright-core or chromium is missing (apt-get install chromium; npm ci --prefix test/interop/node): %v %v %v", err, pwErr, chErr)
		}
		testutil.SkipSuite(t, "no browser: apt-get install chromium and npm ci --prefix test/interop/node")
	}
	return dir, node, chromium
}

// runBrowser runs a node script of dir with env added, for at most 120 s.
func runBrowser(ctx context.Context, dir, node, script string, env ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	run := exec.CommandContext(ctx, node, script)
	run.Dir = dir
	run.Env = append(os.Environ(), env...)
	out, err := run.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("%s did not finish in 120 s: %w", script, ctx.Err())
	}
	return string(out), err
}

// createUser creates the user Alice with the email and password.
func (in instance) createUser(t *testing.T, email, password string) {
	t.Helper()
	create := exec.Command(bin, "user", "create", "--email", email, "--name", "Alice", "--password-stdin", "--db", in.db)
	create.Env = environ("GATEHOUSE_MASTER_KEY=" + in.masterKey)
	create.Stdin = strings.NewReader(password + "\n")
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("gatehouse user create: %v\n%s", err, out)
	}
}
