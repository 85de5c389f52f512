package interop_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// pemKeys returns a fresh key for alg as PKCS #8 and as a PUBLIC KEY PEM.
func pemKeys(t *testing.T, alg string) (pkcs8, public string) {
	t.Helper()
	var k crypto.Signer
	var err error
	switch alg {
	case "RS256", "PS256":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pub, _ := x509.MarshalPKIXPublicKey(k.Public())
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
}

// acceptsAssertion reports whether the server gives the client a token
// for aud with an assertion signed by its PKCS #8 key.
func (p *proc) acceptsAssertion(t *testing.T, clientID, alg, pkcs8, aud string) bool {
	t.Helper()
	block, _ := pem.Decode([]byte(pkcs8))
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	now := time.Now().Unix()
	claims, _ := json.Marshal(map[string]any{"iss": clientID, "sub": clientID, "aud": p.issuer, "iat": now, "exp": now + 60, "jti": fmt.Sprintf("%x", jti)})
	jws, err := s.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := jws.CompactSerialize()
	resp, err := hc.PostForm(p.base()+"/oauth/token", url.Values{"grant_type": {"client_credentials"}, "audience": {aud},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// TestNodeOpenIDClientPrivateKeyJWT: openid-client (npm), a third-party
// client nobody here wrote, authenticates with its PrivateKeyJwt against a
// real `gatehouse serve`, with RS256, PS256, ES256 and EdDSA keys registered
// through `gatehouse client create --auth-method private_key_jwt
// --public-key FILE`, and a key the server does not know is refused.
func TestNodeOpenIDClientPrivateKeyJWT(t *testing.T) {
	node, dir := nodePeer(t, "openid-client")
	srv, _ := sharedServers(t)
	aud := srv.newAPI(t, "ES256", "read")
	type spec struct {
		ClientID string `json:"client_id"`
		Alg      string `json:"alg"`
		PKCS8    string `json:"pkcs8"`
		KeyID    string `json:"kid"`
		Aud      string `json:"aud"`
	}
	var clients []spec
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		priv, pub := pemKeys(t, alg)
		file := filepath.Join(t.TempDir(), "pub.pem")
		if err := os.WriteFile(file, []byte(pub), 0o600); err != nil {
			t.Fatal(err)
		}
		c := srv.admin(t, "client", "create", "--name", "node-pkjwt-"+alg, "--auth-method", "private_key_jwt", "--public-key", file, "--alg", alg)
		id := str(c, "client_id")
		srv.grant(t, client{id: id}, aud, "read")
		creds := srv.run(t, nil, "client", "credential", "list", id, "--json")
		var list []map[string]any
		if err := json.Unmarshal([]byte(creds.stdout), &list); err != nil || len(list) != 1 {
			t.Fatalf("credential list: %v %s", err, creds.stdout)
		}
		clients = append(clients, spec{ClientID: id, Alg: alg, PKCS8: priv, KeyID: str(list[0], "kid"), Aud: aud})
	}
	strangerKey, _ := pemKeys(t, "ES256")
	stranger, _ := json.Marshal(map[string]string{"pkcs8": strangerKey, "alg": "ES256"})
	specs, _ := json.Marshal(clients)
	// The server follows the database's change feed within its sync interval:
	// wait until it accepts the last client's key.
	last := clients[len(clients)-1]
	for deadline := time.Now().Add(setupDeadline); ; {
		if srv.acceptsAssertion(t, last.ClientID, last.Alg, last.PKCS8, last.Aud) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server never accepted client %s's key", last.ClientID)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd := exec.Command(node, "pkjwt.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEHOUSE_ISSUER="+srv.issuer, "GATEHOUSE_PKJWT_CLIENTS="+string(specs), "GATEHOUSE_PKJWT_STRANGER="+string(stranger))
	out, err := runNode(t, cmd)
	if err != nil {
		t.Fatalf("openid-client failed: %v\n%s\n%s", err, out, srv.logs())
	}
	if strings.Count(string(out), "/kid") != 4 || strings.Count(string(out), "/no kid") != 4 || !strings.Contains(string(out), "stranger refused") {
		t.Fatalf("openid-client did not run every check: %s", out)
	}
}
