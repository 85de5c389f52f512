package cli_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// remote is a real server on the harness's database, and the harness's
// environment for --server mode with the admin client that init made.
type remote struct {
	url  string
	env  map[string]string
	cert *x509.Certificate // the server's, under TLS
}

func startServer(t *testing.T, h *harness) remote {
	t.Helper()
	return startServerTLS(t, h, false)
}

// startServerTLS is startServer, serving HTTPS under httptest's own CA when
// withTLS is set.
func startServerTLS(t *testing.T, h *harness, withTLS bool) remote {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	scheme := "http"
	if withTLS {
		scheme = "https"
	}
	issuer := scheme + "://" + ts.Listener.Addr().String()
	adm := h.object("init", "--issuer", issuer)
	ctx, cancel := context.WithCancel(context.Background())
	store, err := sqlite.Open(ctx, strings.TrimPrefix(h.db, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DB, cfg.Issuer, cfg.SyncInterval = h.db, issuer, 10*time.Millisecond
	mk, _ := base64.StdEncoding.DecodeString(testMasterKey)
	srv, err := server.New(ctx, cfg, store, mk, server.Options{GenerateKey: testutil.KeyGenerator()})
	if err != nil {
		t.Fatal(err)
	}
	// The management API mounted here as the server mounts it, so that the
	// test holds the command line to package mgmt.
	h2, err := mgmt.New(mgmt.Config{Issuer: issuer, Admin: &admin.Service{Store: store, Keys: srv.Keys()}, Keys: srv.Keys(), Catalog: srv.Catalog()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(mgmt.Prefix, h2)
	mux.Handle("/", srv.Handler())
	ts.Config.Handler = mux
	if withTLS {
		ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused on purpose
		ts.StartTLS()
	} else {
		ts.Start()
	}
	wait := srv.Start(ctx)
	t.Cleanup(func() { ts.Close(); cancel(); wait(); _ = store.Close() })
	env := map[string]string{"GATEHOUSE_SERVER": ts.URL, "GATEHOUSE_CLIENT_ID": str(adm, "client_id"), "GATEHOUSE_CLIENT_SECRET": str(adm, "client_secret")}
	var cert *x509.Certificate
	if withTLS {
		cert = ts.Certificate()
	}
	return remote{url: ts.URL, env: env, cert: cert}
}

// asRemote runs fn with h in --server mode.
func (h *harness) asRemote(r remote, fn func()) {
	old := h.env
	h.env = map[string]string{}
	for k, v := range r.env {
		h.env[k] = v
	}
	defer func() { h.env = old }()
	fn()
}

// TestRemoteMode runs the admin commands through a server's management API
// (--server) and checks that they change the same database and print what
// the local commands print, errors included.
func TestRemoteMode(t *testing.T) {
	h := newHarness(t)
	r := startServer(t, h)
	var c, added, rotated map[string]any
	var g map[string]any
	h.asRemote(r, func() {
		api := h.object("api", "create", "--identifier", "https://orders.test", "--scope", "read", "--scope", "write", "--token-lifetime", "1h",
			"--signing-alg", "ES256", "--token-dialect", "auth0")
		if str(api, "identifier") != "https://orders.test" || api["token_lifetime"] != "3600" && api["token_lifetime"] != nil && str(api, "token_dialect") != "auth0" {
			t.Errorf("remote api create = %v", api)
		}
		if v := h.json("api", "create", "--identifier", "https://reuse.test", "--token-reuse").(map[string]any); v["token_reuse"] != true {
			t.Errorf("remote api create --token-reuse = %v", v)
		}
		if v := h.json("api", "update", "https://reuse.test", "--token-reuse=false").(map[string]any); v["token_reuse"] != nil {
			t.Errorf("remote api update --token-reuse=false = %v", v)
		}
		if v := h.json("api", "update", "https://orders.test", "--token-reuse").(map[string]any); v["token_reuse"] != true {
			t.Errorf("remote api update --token-reuse = %v", v)
		}
		c = h.object("client", "create", "--name", "billing", "--description", "bills")
		if !strings.HasPrefix(str(c, "client_secret"), "gths_") {
			t.Errorf("remote client create = %v", c)
		}
		g = h.object("grant", "create", "--client", str(c, "client_id"), "--audience", "https://orders.test", "--scope", "read")
		added = h.object("client", "secret", "add", str(c, "client_id"), "--not-before", rfc3339(time.Now().Add(time.Hour)), "--expires-in", "48h")
		rotated = h.object("client", "secret", "rotate", str(c, "client_id"), "--grace", "1h")
		h.ok("client", "disable", str(c, "client_id"))
		h.ok("client", "enable", str(c, "client_id"))
	})
	id := str(c, "client_id")
	for _, sec := range []map[string]any{added, rotated} {
		if str(sec, "id") == "" || !strings.HasPrefix(str(sec, "client_secret"), "gths_") || str(sec, "hint") == "" {
			t.Errorf("remote secret = %v", sec)
		}
	}
	// The same database, read locally and remotely, prints the same.
	reads := [][]string{
		{"api", "list"}, {"api", "show", "https://orders.test"}, {"client", "list"}, {"client", "show", id},
		{"grant", "list"}, {"grant", "list", "--client", id}, {"grant", "list", "--audience", "https://orders.test"},
		{"client", "secret", "list", id}, {"key", "list"},
	}
	sameReads(t, h, r, reads)
	// Bad input: the same one-line errors.
	bad := [][]string{
		{"api", "show", "https://missing.test"},
		{"api", "delete", "https://missing.test"},
		{"api", "create", "--identifier", "https://orders.test"},
		{"api", "create", "--identifier", "not a uri", "--signing-alg", "HS256"},
		{"client", "show", "missing"},
		{"client", "delete", "missing"},
		{"client", "disable", "missing"},
		{"client", "create", "--name", " "},
		{"client", "secret", "list", "missing"},
		{"client", "secret", "revoke", id, "sec_missing"},
		{"client", "secret", "revoke", "missing", "sec_missing"},
		{"client", "secret", "rotate", "missing"},
		{"client", "secret", "add", id, "--expires-in", "-1h"},
		{"grant", "create", "--client", id, "--audience", "https://orders.test"},
		{"grant", "create", "--client", "missing", "--audience", "https://orders.test"},
		{"grant", "create", "--client", id, "--audience", "https://missing.test"},
		{"grant", "delete", "cgr_missing"},
		{"grant", "list", "--client", "missing"},
		{"key", "rotate", "--alg", "EdDSA"},
	}
	for _, args := range bad {
		localOut := h.run(args...)
		var remoteOut result
		h.asRemote(r, func() { remoteOut = h.run(args...) })
		expect(t, oneLineError(remoteOut))
		if localOut != remoteOut {
			t.Errorf("gatehouse %s:\n local  %s\n remote %s", strings.Join(args, " "), localOut, remoteOut)
		}
	}
	// Deletions through the server.
	h.asRemote(r, func() {
		h.ok("client", "secret", "revoke", id, str(added, "id"))
		h.ok("grant", "delete", str(g, "id"))
		h.ok("key", "rotate", "--force")
		h.ok("client", "delete", id)
		h.ok("api", "delete", "https://orders.test")
	})
	expect(t, oneLineError(h.run("client", "show", id)))
	expect(t, oneLineError(h.run("api", "show", "https://orders.test")))
	states := map[string]int{}
	for _, k := range h.array("key", "list") {
		states[str(k, "state")]++
	}
	// (The harness clock is years ahead of the server's: the outgoing keys
	// show as retired locally.)
	if states["current"] != 2 || states["next"] != 2 || states["previous"]+states["retired"] != 2 {
		t.Errorf("after a remote key rotate --force: %v, want a current, next and outgoing key of RS256 and ES256", states)
	}
}

// sameReads checks that each command of reads succeeds and prints the
// same, in text and --json, on the database and through the server r.
func sameReads(t *testing.T, h *harness, r remote, reads [][]string) {
	t.Helper()
	for _, args := range reads {
		for _, json := range []bool{false, true} {
			a := args
			if json {
				a = append(append([]string{}, args...), "--json")
			}
			localOut := h.run(a...)
			var remoteOut result
			h.asRemote(r, func() { remoteOut = h.run(a...) })
			if localOut.code != 0 || localOut != remoteOut {
				t.Errorf("gatehouse %s:\n local  %s\n remote %s", strings.Join(a, " "), localOut, remoteOut)
			}
		}
	}
}

// TestRemoteCredentials covers how remote mode gets its credentials and
// what it says when they are missing or wrong.
func TestRemoteCredentials(t *testing.T) {
	h := newHarness(t)
	r := startServer(t, h)
	file := filepath.Join(h.dir, "admin.json")
	if err := os.WriteFile(file, []byte(`{"client_id":"`+r.env["GATEHOUSE_CLIENT_ID"]+`","client_secret":"`+r.env["GATEHOUSE_CLIENT_SECRET"]+`","audience":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(h.dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"id":"x"}`), 0o600)
	// A client granted read:clients only.
	var reader map[string]any
	h.asRemote(r, func() { reader = h.object("client", "create", "--name", "reader") })
	h.object("grant", "create", "--client", str(reader, "client_id"), "--audience", r.url+"/api/v2/", "--scope", "read:clients")
	readerEnv := map[string]string{"GATEHOUSE_SERVER": r.url, "GATEHOUSE_CLIENT_ID": str(reader, "client_id"), "GATEHOUSE_CLIENT_SECRET": str(reader, "client_secret")}
	// The server sees the new client within its sync interval.
	for deadline := time.Now().Add(5 * time.Second); ; {
		old := h.env
		h.env = readerEnv
		res := h.run("client", "list")
		h.env = old
		if res.code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server never admitted the new client: %s", res)
		}
		time.Sleep(10 * time.Millisecond)
	}

	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // "" for success
	}{
		{"file flag", map[string]string{"GATEHOUSE_SERVER": r.url}, []string{"client", "list", "--credentials", file}, ""},
		{"file env", map[string]string{"GATEHOUSE_SERVER": r.url, "GATEHOUSE_CREDENTIALS": file}, []string{"client", "list"}, ""},
		{"server flag", map[string]string{"GATEHOUSE_CREDENTIALS": file}, []string{"client", "list", "--server", r.url}, ""},
		{"no credentials", map[string]string{"GATEHOUSE_SERVER": r.url}, []string{"client", "list"}, "GATEHOUSE_CLIENT_ID"},
		{"bad file", map[string]string{"GATEHOUSE_SERVER": r.url}, []string{"client", "list", "--credentials", bad}, "client_id and client_secret"},
		{"missing file", map[string]string{"GATEHOUSE_SERVER": r.url}, []string{"client", "list", "--credentials", filepath.Join(h.dir, "none")}, "credentials file"},
		{"wrong secret", map[string]string{"GATEHOUSE_SERVER": r.url, "GATEHOUSE_CLIENT_ID": r.env["GATEHOUSE_CLIENT_ID"], "GATEHOUSE_CLIENT_SECRET": "gths_wrong"},
			[]string{"client", "list"}, "invalid_client"},
		{"no scope", readerEnv, []string{"client", "create", "--name", "x"}, "403 insufficient_scope"},
		{"with --db", map[string]string{"GATEHOUSE_SERVER": r.url, "GATEHOUSE_CREDENTIALS": file}, []string{"client", "list", "--db", h.db}, "exclude each other"},
		{"plain http elsewhere", map[string]string{"GATEHOUSE_CREDENTIALS": file}, []string{"client", "list", "--server", "http://auth.example.com"}, "in the clear"},
		{"not a URL", map[string]string{"GATEHOUSE_CREDENTIALS": file}, []string{"client", "list", "--server", "auth.example.com"}, "absolute http(s) URL"},
		{"nothing there", map[string]string{"GATEHOUSE_CREDENTIALS": file}, []string{"client", "list", "--server", "http://127.0.0.1:1"}, "metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := h.env
			h.env = tt.env
			defer func() { h.env = old }()
			res := h.run(tt.args...)
			if tt.want == "" {
				if res.code != 0 {
					t.Errorf("%s", res)
				}
				return
			}
			expect(t, oneLineError(res))
			if !strings.Contains(res.stderr, tt.want) {
				t.Errorf("stderr %q does not say %q", res.stderr, tt.want)
			}
			if strings.Contains(res.stderr, "gths_") {
				t.Errorf("a secret in the error: %q", res.stderr)
			}
		})
	}
}
