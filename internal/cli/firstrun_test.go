package cli_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
)

// failsWith runs a command that must fail with one line on stderr holding
// every part of want.
func (h *harness) failsWith(want []string, args ...string) string {
	h.t.Helper()
	r := h.run(args...)
	line := strings.TrimSuffix(r.stderr, "\n")
	if r.code != 1 || r.stdout != "" || line == "" || strings.Contains(line, "\n") {
		h.t.Fatalf("gatehouse %s: %s, want exit 1 and one line on stderr", strings.Join(args, " "), r)
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			h.t.Errorf("gatehouse %s: stderr %q lacks %q", strings.Join(args, " "), line, w)
		}
	}
	return line
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// TestAdminCommandsNeverCreateADatabase: an admin command run where there is
// no database (the wrong directory, a mistyped --db) says so in one line
// and leaves no file behind; migrate and init create it.
func TestAdminCommandsNeverCreateADatabase(t *testing.T) {
	h := newEmptyHarness(t)
	path := strings.TrimPrefix(h.db, "sqlite:")
	for _, args := range [][]string{
		{"client", "list"}, {"api", "list"}, {"grant", "list"}, {"key", "list"}, {"key", "rotate"},
		{"user", "list"}, {"audit", "list"}, {"client", "create", "--name", "x"},
		{"api", "create", "--identifier", "https://api.example.com"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			defer h.use(t)()
			h.failsWith([]string{"no database at " + path, "gatehouse migrate"}, args...)
			for _, p := range []string{path, path + "-wal", path + ".key"} {
				if exists(p) {
					t.Fatalf("%s was created", p)
				}
			}
		})
	}
	h.ok("migrate")
	if !exists(path) {
		t.Fatal("migrate did not create the database")
	}
	h.ok("client", "list")

	h2 := newEmptyHarness(t)
	delete(h2.env, "GATEHOUSE_MASTER_KEY") // init makes the key file beside the new database
	if r := h2.run("init", "--issuer", "https://auth.example.com"); r.code != 0 {
		t.Fatalf("init: %s", r)
	}
	if p := strings.TrimPrefix(h2.db, "sqlite:"); !exists(p) || !exists(p+".key") {
		t.Error("init did not create the database and its key file")
	}
}

// TestPostgresDSNWithoutHostOrDatabase: a PostgreSQL URL that names no host
// or no database is refused before anything connects.
func TestPostgresDSNWithoutHostOrDatabase(t *testing.T) {
	h := newEmptyHarness(t)
	h.failsWith([]string{"must name a host and a database"}, "client", "list", "--db", "postgres://")
	h.failsWith([]string{"must name a database"}, "migrate", "--db", "postgres://127.0.0.1:5432")
	h.failsWith([]string{"must name a host"}, "serve", "--db", "postgresql:///gatehouse")
}

// TestInitOutput: init --output writes the admin credentials to a new file
// of mode 0600 that --credentials reads, and refuses an existing file
// before it changes anything, so the only copy of a secret is never lost.
func TestInitOutput(t *testing.T) {
	h := newEmptyHarness(t)
	issuer := "https://auth.example.com"
	old := filepath.Join(h.dir, "admin.json")
	if err := os.WriteFile(old, []byte(`{"client_id":"earlier","client_secret":"keep me"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h.failsWith([]string{"--output " + old + " already exists", "never overwrites"}, "init", "--issuer", issuer, "--output", old)
	if data, _ := os.ReadFile(old); !strings.Contains(string(data), "keep me") {
		t.Fatalf("the existing file changed: %s", data)
	}
	if got := h.array("client", "list"); len(got) != 0 {
		t.Fatalf("a refused init created clients: %v", got)
	}

	file := filepath.Join(h.dir, "new-admin.json")
	out := h.object("init", "--issuer", issuer, "--output", file)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %04o, want 0600", fi.Mode().Perm())
	}
	var creds map[string]any
	data, _ := os.ReadFile(file)
	if err := json.Unmarshal(data, &creds); err != nil {
		t.Fatalf("credentials file: %v: %s", err, data)
	}
	if str(creds, "client_id") == "" || !strings.HasPrefix(str(creds, "client_secret"), "gths_") || str(creds, "audience") != issuer+"/api/v2/" {
		t.Errorf("credentials file = %s", data)
	}
	if str(out, "client_id") != str(creds, "client_id") || str(out, "credentials") != file || out["client_secret"] != nil {
		t.Errorf("init --output --json printed %v: the file's name and the client ID, never the secret", out)
	}
}

// TestInitRefusesAnotherIssuer: init with an issuer other than the one
// whose management API the database holds refuses unless --another-issuer
// says it is meant.
func TestInitRefusesAnotherIssuer(t *testing.T) {
	h := newHarness(t)
	h.ok("init", "--issuer", "https://auth.example.com")
	h.failsWith([]string{"another issuer (https://auth.example.com)", "--issuer https://auth.example.org", "--another-issuer"},
		"init", "--issuer", "https://auth.example.org")
	if n := len(h.array("api", "list")); n != 1 {
		t.Fatalf("a refused init left %d APIs, want the one management API", n)
	}
	h.ok("init", "--issuer", "https://auth.example.org", "--another-issuer")
	if n := len(h.array("api", "list")); n != 2 {
		t.Fatalf("init --another-issuer: %d APIs, want 2", n)
	}
}

// TestUserCommandsRefuseServer: the user commands work on the database only
// and say so truthfully (the management API does have /api/v2/users).
func TestUserCommandsRefuseServer(t *testing.T) {
	h := newHarness(t)
	line := h.failsWith([]string{"user list works on the database only", "/api/v2/users"}, "user", "list", "--server", "https://auth.example.com")
	if strings.Contains(line, "has no users") {
		t.Errorf("stderr %q says the management API has no users", line)
	}
	h.env["GATEHOUSE_SERVER"] = "https://auth.example.com"
	h.failsWith([]string{"GATEHOUSE_SERVER does not cover users yet"}, "user", "list")
	h.ok("user", "list", "--db", h.db) // an explicit --db is the database the user meant
	h.failsWith([]string{"role list works on the database only: GATEHOUSE_SERVER does not cover roles yet", "/api/v2/roles"}, "role", "list")
	h.failsWith([]string{"user role add works on the database only: GATEHOUSE_SERVER does not cover users yet"}, "user", "role", "add", "a", "b")
}

// TestCACert: token and --server trust a private CA given by --cacert (or
// GATEHOUSE_CACERT) and, without it, refuse a certificate the system does
// not trust.
func TestCACert(t *testing.T) {
	h := newHarness(t)
	r := startServerTLS(t, h, true)
	ca := filepath.Join(h.dir, "ca.pem")
	// httptest's server certificate is self-signed: it is its own CA.
	cert := r.caPEM(t)
	if err := os.WriteFile(ca, cert, 0o644); err != nil {
		t.Fatal(err)
	}
	token := []string{"token", "--issuer", r.url, "--client-id", r.env["GATEHOUSE_CLIENT_ID"], "--client-secret", r.env["GATEHOUSE_CLIENT_SECRET"],
		"--audience", r.url + "/api/v2/"}
	h.failsWith([]string{"discovery", "certificate"}, token...)
	if tok := strings.TrimSpace(h.ok(append(token, "--cacert", ca)...)); strings.Count(tok, ".") != 2 {
		t.Errorf("token --cacert printed %q, want a JWT", tok)
	}
	h.env["GATEHOUSE_CACERT"] = ca
	h.ok(append(token, "--decode")...)
	delete(h.env, "GATEHOUSE_CACERT")

	h.asRemote(r, func() {
		h.failsWith([]string{"certificate"}, "client", "list")
		if got := h.array("client", "list", "--cacert", ca); len(got) != 1 {
			t.Errorf("client list --server --cacert = %v, want the admin client", got)
		}
		bad := filepath.Join(h.dir, "bad.pem")
		_ = os.WriteFile(bad, []byte("not a certificate"), 0o644)
		h.failsWith([]string{"--cacert " + bad + " holds no PEM certificate"}, "client", "list", "--cacert", bad)
	})
}

// TestMasterKeyMessages: a missing master key says what to do in one line,
// an admin command never makes a new key for a database that has one
// elsewhere, and key generate-master makes keys that gatehouse reads.
func TestMasterKeyMessages(t *testing.T) {
	h := newHarness(t)
	missing := filepath.Join(h.dir, "master.key")
	delete(h.env, "GATEHOUSE_MASTER_KEY")
	line := h.failsWith([]string{"master key file " + missing + " does not exist", "gatehouse key generate-master --output " + missing},
		"api", "create", "--identifier", "https://api.example.com", "--master-key-file", missing)
	if strings.Count(line, "open") > 0 {
		t.Errorf("stderr %q repeats the open error", line)
	}
	beside := strings.TrimPrefix(h.db, "sqlite:") + ".key"
	h.failsWith([]string{"no master key", beside + " does not exist", "GATEHOUSE_MASTER_KEY"}, "api", "create", "--identifier", "https://api.example.com")
	if exists(beside) {
		t.Fatal("an admin command created a master key file beside an existing database")
	}

	k := strings.TrimSpace(h.ok("key", "generate-master"))
	if _, err := keys.ParseMasterKey(k); err != nil {
		t.Fatalf("key generate-master printed %q: %v", k, err)
	}
	if k2 := strings.TrimSpace(h.ok("key", "generate-master")); k2 == k {
		t.Error("two generated keys are equal")
	}
	h.ok("key", "generate-master", "--output", missing)
	if fi, err := os.Stat(missing); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("generate-master --output: %v, %v", fi, err)
	}
	before, _ := os.ReadFile(missing)
	h.failsWith([]string{"refusing to overwrite"}, "key", "generate-master", "--output", missing)
	if after, _ := os.ReadFile(missing); string(after) != string(before) {
		t.Fatal("generate-master overwrote a key file")
	}
	h.ok("api", "create", "--identifier", "https://api.example.com", "--master-key-file", missing)
}

// TestVersionAndCompletion: --version prints the version on one line, and
// completion writes each shell's script.
func TestVersionAndCompletion(t *testing.T) {
	h := newEmptyHarness(t)
	v := h.object("version")
	if out := h.ok("--version"); out != "gatehouse "+str(v, "version")+"\n" {
		t.Errorf("--version = %q, version says %q", out, str(v, "version"))
	}
	for shell, want := range map[string]string{"bash": "__start_gatehouse", "zsh": "#compdef gatehouse", "fish": "complete -c gatehouse", "powershell": "Register-ArgumentCompleter"} {
		if out := h.ok("completion", shell); !strings.Contains(out, want) {
			t.Errorf("completion %s lacks %q", shell, want)
		}
	}
	if exists(strings.TrimPrefix(h.db, "sqlite:")) {
		t.Error("version or completion created the database")
	}
}

// caPEM is the server's certificate in PEM.
func (r remote) caPEM(t *testing.T) []byte {
	t.Helper()
	if r.cert == nil {
		t.Fatal("not a TLS server")
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.cert.Raw})
}

// TestHealthcheck: healthcheck exits 0 when the URL answers 200 and 1, with
// the status, otherwise.
func TestHealthcheck(t *testing.T) {
	h := newHarness(t)
	r := startServer(t, h)
	if out := h.ok("healthcheck", "--url", r.url+"/readyz"); !strings.Contains(out, "HTTP 200") {
		t.Errorf("healthcheck printed %q", out)
	}
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "storage unreachable", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	h.failsWith([]string{"not healthy", "HTTP 503", "storage unreachable"}, "healthcheck", "--url", down.URL+"/readyz")
	down.Close()
	h.failsWith([]string{"not healthy", "connection refused"}, "healthcheck", "--url", down.URL+"/readyz")

	// --wait asks again until the server is ready.
	var calls atomic.Int32
	starting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
		}
	}))
	defer starting.Close()
	h.failsWith([]string{"HTTP 503"}, "healthcheck", "--url", starting.URL)
	if out := h.ok("healthcheck", "--url", starting.URL, "--wait", "10s"); !strings.Contains(out, "HTTP 200") || calls.Load() != 3 {
		t.Errorf("healthcheck --wait: %q after %d requests", out, calls.Load())
	}
	if out := h.ok("healthcheck", "--tls-roots", "--url", ""); !strings.HasPrefix(out, "system CA certificates: ") {
		t.Errorf("healthcheck --tls-roots printed %q", out)
	}

	// Without --url, the port of GATEHOUSE_ADDR, as the image's HEALTHCHECK
	// runs it beside a serve that GATEHOUSE_ADDR moved off 8080.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(r.url, "http://"))
	h.env["GATEHOUSE_ADDR"] = "0.0.0.0:" + port
	if out := h.ok("healthcheck"); out != "healthy: http://127.0.0.1:"+port+"/readyz answered HTTP 200\n" {
		t.Errorf("healthcheck with GATEHOUSE_ADDR printed %q", out)
	}
}

// TestHealthcheckUnderTLS: without --url, healthcheck asks https:// when
// serve terminates TLS (GATEHOUSE_TLS_CERT, as a container sets it), and
// checks the certificate against the issuer's host name (GATEHOUSE_ISSUER),
// the name a public certificate carries, while it connects to loopback.
func TestHealthcheckUnderTLS(t *testing.T) {
	h := newHarness(t)
	r := startServerTLS(t, h, true)
	ca := filepath.Join(h.dir, "ca.pem")
	if err := os.WriteFile(ca, r.caPEM(t), 0o644); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(r.url, "https://"))
	h.env["GATEHOUSE_ADDR"] = "0.0.0.0:" + port
	h.env["GATEHOUSE_TLS_CERT"] = "/etc/gatehouse/tls.crt" // healthcheck only needs to know it is set
	h.env["GATEHOUSE_CACERT"] = ca
	// httptest's certificate names example.com, 127.0.0.1 and ::1.
	h.env["GATEHOUSE_ISSUER"] = "https://example.com"
	if out := h.ok("healthcheck"); out != "healthy: https://127.0.0.1:"+port+"/readyz answered HTTP 200\n" {
		t.Errorf("healthcheck under TLS printed %q", out)
	}
	h.env["GATEHOUSE_ISSUER"] = "https://auth.internal.test" // a name the certificate does not carry
	h.failsWith([]string{"not healthy", "certificate", "auth.internal.test"}, "healthcheck")
}

// TestKeyRotateWaitsForTheServersJWKSMaxAge: key rotate waits out the
// longest JWKS max-age the running servers recorded in the database, not
// its own --jwks-max-age, which counts only where no server recorded one.
func TestKeyRotateWaitsForTheServersJWKSMaxAge(t *testing.T) {
	h := newHarness(t)
	h.ok("api", "create", "--identifier", "https://api.example.com") // the RS256 keys, published at t0
	record := func(h *harness, id string, maxAge time.Duration, seen time.Time) {
		t.Helper()
		store, err := sqlite.Open(context.Background(), strings.TrimPrefix(h.db, "sqlite:"))
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		if err := store.RecordInstance(context.Background(), storage.Instance{ID: id, JWKSMaxAge: maxAge, SeenAt: seen}); err != nil {
			t.Fatal(err)
		}
	}
	// Without a record, --jwks-max-age (default 5m) is the wait.
	h.now = t0.Add(2 * time.Minute)
	h.failsWith([]string{"less than the JWKS cache lifetime 5m0s"}, "key", "rotate")

	// Servers serving 5m and 1h: the wait is 1h, whatever --jwks-max-age says.
	record(h, "a", 5*time.Minute, t0)
	record(h, "b", time.Hour, t0.Add(time.Minute))
	h.now = t0.Add(10 * time.Minute)
	h.failsWith([]string{"less than the JWKS cache lifetime 1h0m0s", "wait 50m0s"}, "key", "rotate")
	h.failsWith([]string{"less than the JWKS cache lifetime 1h0m0s"}, "key", "rotate", "--jwks-max-age", "1m")
	h.now = t0.Add(time.Hour)
	h.ok("key", "rotate")

	// A server seen over a day (and two record intervals) ago no longer counts:
	// no JWKS it served can still be cached.
	old := newHarness(t)
	old.ok("api", "create", "--identifier", "https://api.example.com")
	record(old, "old", 3*time.Hour, t0.Add(-25*time.Hour))
	old.now = t0.Add(6 * time.Minute)
	old.ok("key", "rotate")
}
