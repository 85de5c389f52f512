package interop_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// bin is the gatehouse binary TestMain builds; tmpRoot holds it and the
// shared servers' databases.
var bin, tmpRoot string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	tmpRoot, err = os.MkdirTemp("", "gatehouse-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer os.RemoveAll(tmpRoot)
	bin = filepath.Join(tmpRoot, "gatehouse")
	build := exec.Command("go", "build", "-o", bin, "./cmd/gatehouse")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "interop: go build ./cmd/gatehouse:", err)
		return 1
	}
	code := m.Run()
	testutil.ReportSkips("test/interop")
	// Stop the shared servers; they too must shut down gracefully.
	for _, p := range []*proc{shared.def, shared.slash} {
		if p == nil {
			continue
		}
		if _, err := p.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "interop: stop shared server %s: %v\n%s\n", p.name, err, p.logs())
			code = 1
		}
	}
	if leaks := checkLeaks(); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "interop: credentials in logs:\n%s\n", strings.Join(leaks, "\n"))
		code = 1
	}
	return code
}

// moduleRoot is two directories up from this package, where go.mod names
// the gatehouse module.
func moduleRoot() (string, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	if !bytes.Contains(mod, []byte("module github.com/gatehouse-dev/gatehouse\n")) {
		return "", fmt.Errorf("module root: %s/go.mod is not gatehouse's", root)
	}
	return root, nil
}

// hc is the HTTP client of the tests' own requests and of the libraries.
var hc = &http.Client{Timeout: 10 * time.Second}

// Deadlines.
const (
	startDeadline = 30 * time.Second // until "gatehouse listening"
	stopDeadline  = 5 * time.Second  // from SIGTERM to exit
	setupDeadline = 5 * time.Second  // until a server serves what the CLI just created
	propagation   = time.Second      // ARCHITECTURE.md: every instance sees a change within one second
)

func newMasterKey() string {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}

// environ is the process environment without GATEHOUSE_* settings, plus kv.
func environ(kv ...string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "GATEHOUSE_") {
			env = append(env, e)
		}
	}
	return append(env, kv...)
}

// freePort returns a port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// instance is a gatehouse deployment: a database and its master key.
type instance struct {
	db, masterKey string
}

func newInstance(dir string) instance {
	return instance{db: "sqlite:" + filepath.Join(dir, "g.db"), masterKey: newMasterKey()}
}

// proc is a running `gatehouse serve`.
type proc struct {
	instance
	name    string
	cmd     *exec.Cmd
	stderr  *logLines
	stdout  testutil.Buffer
	done    chan struct{}
	waitErr error
	addr    string // as logged
	issuer  string // as logged
}

// logLines collects a process's stderr line by line and reports the first
// "gatehouse listening" record.
type logLines struct {
	mu        sync.Mutex
	partial   []byte
	lines     []string
	listening chan [2]string // addr, issuer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		l.lines = append(l.lines, line)
		var rec struct{ Msg, Addr, Issuer string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "gatehouse listening" {
			select {
			case l.listening <- [2]string{rec.Addr, rec.Issuer}:
			default:
			}
		}
	}
	return len(p), nil
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.lines)
	if len(l.partial) > 0 {
		out = append(out, string(l.partial))
	}
	return out
}

func (p *proc) logs() string {
	return fmt.Sprintf("stderr of %s:\n%s\nstdout:\n%s", p.name, strings.Join(p.stderr.all(), "\n"), p.stdout.String())
}

// launch starts `gatehouse serve --log-format json --db DB args...` and
// returns at once.
func launch(name string, in instance, args ...string) (*proc, error) {
	p := &proc{instance: in, name: name, stderr: &logLines{listening: make(chan [2]string, 1)}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"serve", "--log-format", "json", "--db", in.db}, args...)...)
	// The suite provisions hundreds of clients and polls each from one
	// address until it propagates: far more failed authentications than the
	// brute-force default allows an address (internal/server tests that).
	p.cmd.Env = environ("GATEHOUSE_MASTER_KEY="+in.masterKey, "GATEHOUSE_AUTH_FAILURE_LIMIT=100000")
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	recordProc(p)
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// start launches a server and waits until it logs that it listens.
func start(name string, in instance, args ...string) (*proc, error) {
	p, err := launch(name, in, args...)
	if err != nil {
		return nil, err
	}
	select {
	case li := <-p.stderr.listening:
		p.addr, p.issuer = li[0], li[1]
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before listening (%v); %s", name, p.waitErr, p.logs())
	case <-time.After(startDeadline):
		p.kill()
		return nil, fmt.Errorf("%s did not log \"gatehouse listening\" within %s; %s", name, startDeadline, p.logs())
	}
}

// serve starts a server that the test stops, or that is killed at cleanup.
func serve(t *testing.T, name string, in instance, args ...string) *proc {
	t.Helper()
	p, err := start(name, in, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.kill)
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) kill() {
	if !p.exited() {
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// stop sends SIGTERM and returns how long the server took to exit; an
// error unless it exits with status 0 within stopDeadline.
func (p *proc) stop() (time.Duration, error) {
	if p.exited() {
		return 0, fmt.Errorf("%s had already exited: %v", p.name, p.waitErr)
	}
	begin := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	select {
	case <-p.done:
	case <-time.After(stopDeadline):
		p.kill()
		return time.Since(begin), fmt.Errorf("%s still running %s after SIGTERM", p.name, stopDeadline)
	}
	took := time.Since(begin)
	if p.waitErr != nil {
		return took, fmt.Errorf("%s exited after SIGTERM with %v, want status 0", p.name, p.waitErr)
	}
	return took, nil
}

// base is the issuer without a trailing slash: endpoint URLs start with it.
func (p *proc) base() string { return strings.TrimRight(p.issuer, "/") }

// The shared servers: one with the default issuer (derived from the listen
// address), one configured with an issuer that ends in a slash. Tests that
// use them create their own uniquely named objects.
var shared struct {
	once       sync.Once
	def, slash *proc
	err        error
}

func sharedServers(t *testing.T) (def, slash *proc) {
	t.Helper()
	shared.once.Do(func() {
		var wg sync.WaitGroup
		var errDef, errSlash error
		wg.Go(func() {
			dir := filepath.Join(tmpRoot, "default")
			if errDef = os.Mkdir(dir, 0o700); errDef == nil {
				shared.def, errDef = start("shared default-issuer server", newInstance(dir), "--addr", "127.0.0.1:0")
			}
		})
		wg.Go(func() {
			dir := filepath.Join(tmpRoot, "slash")
			if errSlash = os.Mkdir(dir, 0o700); errSlash != nil {
				return
			}
			port, err := freePort()
			if err != nil {
				errSlash = err
				return
			}
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			shared.slash, errSlash = start("shared trailing-slash server", newInstance(dir), "--addr", addr, "--issuer", "http://"+addr+"/")
		})
		wg.Wait()
		shared.err = errors.Join(errDef, errSlash)
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.def, shared.slash
}

var seq atomic.Int64

// unique returns a fresh API identifier.
func unique(what string) string {
	return fmt.Sprintf("https://%s-%d.interop.test", strings.ToLower(what), seq.Add(1))
}

// cliResult is what one gatehouse command-line process did.
type cliResult struct {
	stdout, stderr string
	code           int
	exited         time.Time
}

// run runs the gatehouse binary as a separate process, as a user would,
// against the instance's database and master key.
func (in instance) run(t *testing.T, env []string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = environ(append([]string{"GATEHOUSE_MASTER_KEY=" + in.masterKey, "GATEHOUSE_DB=" + in.db}, env...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errb.String(), exited: time.Now()}
	recordCredentials(r.stdout)
	recordCLILog(r.stderr)
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("gatehouse %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// admin runs an admin command with --json that must succeed and returns its
// output decoded.
func (in instance) admin(t *testing.T, args ...string) map[string]any {
	t.Helper()
	args = append(slices.Clone(args), "--db", in.db, "--json")
	r := in.run(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("gatehouse %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("gatehouse %s: %v in %q", strings.Join(args, " "), err, r.stdout)
	}
	return v
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// client is a client's credentials.
type client struct {
	id, secret, secretID string
}

// newClient creates a client through the command line.
func (in instance) newClient(t *testing.T, name string) client {
	t.Helper()
	c := in.admin(t, "client", "create", "--name", name)
	secrets := in.run(t, nil, "client", "secret", "list", str(c, "client_id"), "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(secrets.stdout), &list); err != nil || len(list) != 1 {
		t.Fatalf("secret list of a new client: %q (%v)", secrets.stdout, err)
	}
	return client{id: str(c, "client_id"), secret: str(c, "client_secret"), secretID: str(list[0], "id")}
}

// newAPI creates an API through the command line and returns its identifier.
func (in instance) newAPI(t *testing.T, alg string, scopes ...string) string {
	t.Helper()
	aud := unique(alg)
	args := []string{"api", "create", "--identifier", aud, "--signing-alg", alg}
	for _, s := range scopes {
		args = append(args, "--scope", s)
	}
	in.admin(t, args...)
	return aud
}

func (in instance) grant(t *testing.T, c client, aud string, scopes ...string) {
	t.Helper()
	args := []string{"grant", "create", "--client", c.id, "--audience", aud}
	for _, s := range scopes {
		args = append(args, "--scope", s)
	}
	in.admin(t, args...)
}

// tokenReply is a token endpoint response.
type tokenReply struct {
	status int
	body   map[string]any
}

func (r tokenReply) String() string {
	if r.status == http.StatusOK {
		return "HTTP 200 with a token"
	}
	return fmt.Sprintf("HTTP %d %v", r.status, r.body)
}

// postToken sends a client_credentials request with client_secret_post.
func (p *proc) postToken(c client, aud string) (tokenReply, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.id}, "client_secret": {c.secret}, "audience": {aud}}
	resp, err := hc.PostForm(p.base()+"/oauth/token", form)
	if err != nil {
		return tokenReply{}, err
	}
	defer resp.Body.Close()
	r := tokenReply{status: resp.StatusCode}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return r, err
	}
	recordCredentials(string(data))
	if err := json.Unmarshal(data, &r.body); err != nil {
		return r, fmt.Errorf("token response %q: %w", data, err)
	}
	return r, nil
}

// token waits until the server issues a token to c for aud — it follows the
// command line's changes — and returns it.
func (p *proc) token(t *testing.T, c client, aud string) string {
	t.Helper()
	var last tokenReply
	deadline := time.Now().Add(setupDeadline)
	for time.Now().Before(deadline) {
		r, err := p.postToken(c, aud)
		if err != nil {
			t.Fatal(err)
		}
		if r.status == http.StatusOK {
			return str(r.body, "access_token")
		}
		last = r
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s issued no token for %s within %s: last %s", p.name, aud, setupDeadline, last)
	return ""
}

// getJSON fetches a JSON document.
func getJSON(u string, v any) (*http.Response, []byte, error) {
	resp, err := hc.Get(u)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp, data, fmt.Errorf("GET %s: HTTP %d: %s", u, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return resp, data, fmt.Errorf("GET %s: %w", u, err)
	}
	return resp, data, nil
}

// jwtPart decodes the header (0) or claims (1) of a compact JWS.
func jwtPart(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// jwksKids returns the kids the server publishes.
func (p *proc) jwksKids(t *testing.T) []string {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if _, _, err := getJSON(p.base()+"/.well-known/jwks.json", &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, str(k, "kid"))
	}
	return kids
}

func ctxWithClient(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
