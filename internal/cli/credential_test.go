package cli_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeKeyPair writes a P-256 key pair's public half (and, to check it is
// refused, its private half) to the harness's directory.
func writeKeyPair(t *testing.T, dir, name string) (pub, priv string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pub = filepath.Join(dir, name+".pub.pem")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	pder, _ := x509.MarshalPKCS8PrivateKey(k)
	priv = filepath.Join(dir, name+".key.pem")
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// TestClientCredentialCommands: client create --auth-method private_key_jwt
// --public-key makes a client with no secret and its key in use; credential
// add, list and remove rotate keys, on the database and through --server
// alike; a private key, a missing file or a mismatched flag is one clear
// line and leaves nothing behind.
func TestClientCredentialCommands(t *testing.T) {
	h := newHarness(t)
	r := startServer(t, h)
	for _, mode := range []string{"local", "remote"} {
		t.Run(mode, func(t *testing.T) {
			defer h.use(t)()
			run := func(fn func()) { fn() }
			if mode == "remote" {
				run = func(fn func()) { h.asRemote(r, fn) }
			}
			run(func() {
				pub1, priv1 := writeKeyPair(t, h.dir, mode+"1")
				pub2, _ := writeKeyPair(t, h.dir, mode+"2")
				c := h.object("client", "create", "--name", "keyed-"+mode, "--auth-method", "private_key_jwt", "--public-key", pub1)
				id := str(c, "client_id")
				if c["client_secret"] != nil || str(c, "auth_method") != "private_key_jwt" {
					t.Fatalf("created: %v", c)
				}
				show := h.object("client", "show", id)
				creds, _ := show["credentials"].([]any)
				if len(creds) != 1 {
					t.Fatalf("show: %v", show)
				}
				added := h.object("client", "credential", "add", id, "--public-key", pub2, "--alg", "ES256", "--expires-in", "720h", "--name", "next")
				if str(added, "alg") != "ES256" || str(added, "kid") == "" || added["expires_at"] == nil {
					t.Fatalf("added: %v", added)
				}
				list := h.array("client", "credential", "list", id)
				if len(list) != 2 {
					t.Fatalf("list: %v", list)
				}
				first := str(list[0], "id")
				if first == str(added, "id") {
					first = str(list[1], "id")
				}
				h.object("client", "credential", "remove", id, first)
				show = h.object("client", "show", id)
				if creds, _ := show["credentials"].([]any); len(creds) != 1 || creds[0] != added["id"] {
					t.Fatalf("after remove: %v", show)
				}

				for _, tc := range []struct {
					args []string
					want string
				}{
					{[]string{"client", "credential", "add", id, "--public-key", priv1}, "private key"},
					{[]string{"client", "credential", "add", id, "--public-key", filepath.Join(h.dir, "none.pem")}, "--public-key"},
					{[]string{"client", "credential", "add", id, "--public-key", pub1, "--alg", "HS256"}, "not one of"},
					{[]string{"client", "credential", "add", "missing", "--public-key", pub1}, "not found"},
					{[]string{"client", "credential", "remove", id, "cred_missing"}, "not found"},
					{[]string{"client", "create", "--name", "x", "--public-key", pub1}, "--auth-method private_key_jwt"},
					{[]string{"client", "create", "--name", "x", "--auth-method", "private_key_jwt"}, "--public-key FILE or --jwks-uri"},
					{[]string{"client", "create", "--name", "x", "--auth-method", "private_key_jwt", "--public-key", priv1}, "private key"},
					{[]string{"client", "create", "--name", "x", "--auth-method", "private_key_jwt", "--jwks-uri", "http://example.com/jwks"}, "https"},
				} {
					res := h.run(tc.args...)
					if problems := oneLineError(res); len(problems) > 0 || !strings.Contains(res.stderr, tc.want) {
						t.Errorf("gatehouse %s: %s %v, want one line containing %q", strings.Join(tc.args, " "), res, problems, tc.want)
					}
				}
				for _, cl := range h.array("client", "list") {
					if str(cl, "name") == "x" {
						t.Errorf("a refused create left a client behind: %v", cl)
					}
				}

				// A client that moved from its secret to a key: removing the
				// last key would let the secret authenticate it again, so it
				// is refused until the secrets are revoked or --allow-secret.
				for _, allow := range []bool{false, true} {
					moved := str(h.object("client", "create", "--name", "moved-"+mode), "client_id")
					key := str(h.object("client", "credential", "add", moved, "--public-key", pub2), "id")
					res := h.run("client", "credential", "remove", moved, key)
					if problems := oneLineError(res); len(problems) > 0 || !strings.Contains(res.stderr, "--allow-secret") {
						t.Fatalf("removing the last key of a client with a secret: %s %v, want one line naming --allow-secret", res, problems)
					}
					if list := h.array("client", "credential", "list", moved); len(list) != 1 {
						t.Fatalf("the refused remove removed the key: %v", list)
					}
					if allow {
						h.object("client", "credential", "remove", moved, key, "--allow-secret")
					} else {
						for _, sec := range h.array("client", "secret", "list", moved) {
							h.object("client", "secret", "revoke", moved, str(sec, "id"))
						}
						h.object("client", "credential", "remove", moved, key)
					}
					if list := h.array("client", "credential", "list", moved); len(list) != 0 {
						t.Fatalf("allow-secret %v: the key is still there: %v", allow, list)
					}
				}
			})
		})
	}
}
