package interop_test

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// TestNodeMTLS: openid-client (npm) does client credentials over mutual
// TLS (RFC 8705) against a real `gatehouse serve --tls-client-ca
// --mtls-addr`, its client certificate presented by Node's https agent:
// the token comes from the mtls_endpoint_aliases token endpoint bound to
// the certificate, for a client with a secret (client_secret_post) and one
// that authenticates with the certificate alone (tls_client_auth), and the
// same client without a certificate is refused.
func TestNodeMTLS(t *testing.T) {
	node, dir := nodePeer(t, "openid-client")
	tmp := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(tmp, "cert.pem"), filepath.Join(tmp, "key.pem"), filepath.Join(tmp, "ca.pem")
	serverCert := testutil.WriteCert(t, certFile, keyFile, "gatehouse-interop")
	ca := testutil.NewCA(t, "interop clients CA")
	ca.WriteFile(t, caFile)
	clientCert, clientKey := filepath.Join(tmp, "client.pem"), filepath.Join(tmp, "client-key.pem")
	spiffe, _ := url.Parse("spiffe://interop.test/node-mtls")
	testutil.WriteKeyPair(t, ca.Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "node-mtls", Organization: []string{"Interop"}},
		URIs: []*url.URL{spiffe}}), clientCert, clientKey)
	in := newInstance(tmp)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	p := serve(t, "mtls server", in, "--addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile,
		"--tls-client-ca", caFile, "--mtls-addr", "127.0.0.1:"+strconv.Itoa(port))
	aud := in.newAPI(t, "ES256", "read")
	c := in.admin(t, "client", "create", "--name", "node-mtls", "--certificate-bound-tokens")
	id, secret := str(c, "client_id"), str(c, "client_secret")
	in.grant(t, client{id: id}, aud, "read")
	// Wait until the server holds the client and its grant (it follows the
	// database's changes within a second): a token over the alias.
	pair, err := tls.LoadX509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(serverCert)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}}}}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "audience": {aud}}.Encode()
	for deadline := time.Now().Add(setupDeadline); ; time.Sleep(20 * time.Millisecond) {
		resp, err := hc.Post("https://127.0.0.1:"+strconv.Itoa(port)+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(form))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no token over the mTLS alias: %v %v", resp, err)
		}
	}

	// A second client authenticates with the certificate alone
	// (tls_client_auth, registered by its URI SAN).
	tc := in.admin(t, "client", "create", "--name", "node-tls-client-auth", "--certificate-bound-tokens", "--tls-client-auth-san", "uri:"+spiffe.String())
	tlsID := str(tc, "client_id")
	in.grant(t, client{id: tlsID}, aud, "read")
	noSecret := url.Values{"grant_type": {"client_credentials"}, "client_id": {tlsID}, "audience": {aud}}.Encode()
	for deadline := time.Now().Add(setupDeadline); ; time.Sleep(20 * time.Millisecond) {
		resp, err := hc.Post("https://127.0.0.1:"+strconv.Itoa(port)+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(noSecret))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no tls_client_auth token over the mTLS alias: %v %v", resp, err)
		}
	}
	for _, run := range []struct{ method, id, secret string }{{"client_secret_post", id, secret}, {"tls_client_auth", tlsID, ""}} {
		cmd := exec.Command(node, "mtls.mjs")
		cmd.Dir = dir
		cmd.Env = environ("GATEHOUSE_ISSUER="+p.issuer, "GATEHOUSE_SERVER_CA="+certFile, "GATEHOUSE_CLIENT_CERT="+clientCert,
			"GATEHOUSE_CLIENT_KEY="+clientKey, "GATEHOUSE_AUDIENCE="+aud, "GATEHOUSE_AUTH_METHOD="+run.method,
			"GATEHOUSE_CLIENT_ID="+run.id, "GATEHOUSE_CLIENT_SECRET="+run.secret)
		out, err := runNode(t, cmd)
		if err != nil {
			t.Fatalf("openid-client over mTLS (%s) failed: %v\n%s\n%s", run.method, err, out, p.logs())
		}
		if o := string(out); !strings.Contains(o, `"bound token"`) || !strings.Contains(o, `"refused without a certificate"`) || !strings.Contains(o, run.method) {
			t.Fatalf("openid-client (%s) did not run every check: %s", run.method, out)
		}
	}
}

// runNode runs cmd (a Node.js peer) with a 60 s limit and returns its
// combined output; the test fails when it does not finish.
func runNode(t *testing.T, cmd *exec.Cmd) ([]byte, error) {
	t.Helper()
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("node %v did not finish in 60 s: %s", cmd.Args[1:], out)
	}
	return out, err
}
