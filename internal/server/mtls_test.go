package server_test

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/clientcred"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/secret"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
	"github.com/gatehouse-dev/gatehouse/internal/token"
	"github.com/gatehouse-dev/gatehouse/verify"
)

// mtlsEnv is a live TLS server with a client CA, an API, a client whose
// tokens are certificate-bound and a bearer client, each granted the API.
type mtlsEnv struct {
	*live
	ca                     *testutil.CA
	roots                  *x509.CertPool // trusts the server's certificate
	boundID, boundSecret   string
	bearerID, bearerSecret string
}

const mtlsAudience = "https://orders.test"

func startMTLS(t *testing.T, mutate ...func(*config.Config)) *mtlsEnv {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "ca.pem")
	serverCert := testutil.WriteCert(t, certFile, keyFile, "gatehouse-test")
	ca := testutil.NewCA(t, "clients CA")
	ca.WriteFile(t, caFile)
	mutate = append([]func(*config.Config){func(c *config.Config) {
		c.TLSCert, c.TLSKey, c.TLSClientCA = certFile, keyFile, caFile
	}}, mutate...)
	l := startLive(t, server.Options{}, mutate...)
	if l.cfg.MTLSAddr != "" {
		// Serve, in its own goroutine, opens the alias listener: wait for it.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			c, err := net.DialTimeout("tcp", l.cfg.MTLSAddr, time.Second)
			if err == nil {
				_ = c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the mutual-TLS listener %s: %v", l.cfg.MTLSAddr, err)
			}
		}
	}
	e := &mtlsEnv{live: l, ca: ca, roots: x509.NewCertPool()}
	e.roots.AddCert(serverCert)
	ctx := l.ctx
	if _, err := l.admin.CreateAPI(ctx, admin.APIInput{Identifier: mtlsAudience, Scopes: scopes("read"), TokenReuse: true}); err != nil {
		t.Fatal(err)
	}
	bound, bsec, err := l.admin.CreateClient(ctx, admin.ClientInput{Name: "bound", CertificateBoundTokens: true})
	if err != nil {
		t.Fatal(err)
	}
	bearer, sec, err := l.admin.CreateClient(ctx, admin.ClientInput{Name: "bearer"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{bound.ClientID, bearer.ClientID} {
		if _, err := l.admin.CreateGrant(ctx, id, mtlsAudience, []string{"read"}); err != nil {
			t.Fatal(err)
		}
	}
	l.sync()
	e.boundID, e.boundSecret, e.bearerID, e.bearerSecret = bound.ClientID, bsec.Plain, bearer.ClientID, sec.Plain
	return e
}

// token asks base's token endpoint for a client-credentials token,
// presenting cert when it is not nil, with header values set.
func (e *mtlsEnv) token(base string, cert *tls.Certificate, id, secret string, header map[string]string) (int, map[string]any) {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "audience": {mtlsAudience}, "client_id": {id}}
	if secret != "" {
		form.Set("client_secret", secret)
	}
	return e.tokenForm(base, cert, form, header)
}

// tokenForm posts form to base's token endpoint, presenting cert when it
// is not nil, with header values set.
func (e *mtlsEnv) tokenForm(base string, cert *tls.Certificate, form url.Values, header map[string]string) (int, map[string]any) {
	e.t.Helper()
	tc := &tls.Config{RootCAs: e.roots}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		e.t.Fatalf("%d %s", resp.StatusCode, data)
	}
	return resp.StatusCode, body
}

// cnf returns the token's cnf claim (nil when none).
func cnf(t *testing.T, tok any) map[string]any {
	t.Helper()
	parts := strings.Split(fmt.Sprint(tok), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %v", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Cnf map[string]any `json:"cnf"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c.Cnf
}

func escapedPEM(c tls.Certificate) string {
	return url.PathEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})))
}

// TestCertificateBoundTokens: on the main listener with --tls-client-ca,
// a client with tls_client_certificate_bound_access_tokens gets tokens
// bound to the certificate it presented (cnf.x5t#S256, RFC 8705 §3.1), one
// per certificate even with token reuse on, and is refused without one; a
// bearer client's requests, with or without a certificate, are unchanged.
func TestCertificateBoundTokens(t *testing.T) {
	e := startMTLS(t)
	a := e.ca.Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "a"}})
	b := e.ca.Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "b"}})

	status, body := e.token(e.url, &a, e.boundID, e.boundSecret, nil)
	if status != 200 {
		t.Fatalf("bound client with a certificate: %d %v", status, body)
	}
	if got := cnf(t, body["access_token"]); got["x5t#S256"] != verify.Thumbprint(a.Leaf) || len(got) != 1 {
		t.Fatalf("cnf %v, want x5t#S256 %s", got, verify.Thumbprint(a.Leaf))
	}
	if body["token_type"] != "Bearer" {
		t.Errorf("token_type %v: a certificate-bound token is still a Bearer token (RFC 8705 §3)", body["token_type"])
	}
	// Reuse is per certificate: another certificate gets its own token.
	_, again := e.token(e.url, &a, e.boundID, e.boundSecret, nil)
	_, other := e.token(e.url, &b, e.boundID, e.boundSecret, nil)
	if again["access_token"] != body["access_token"] {
		t.Error("token reuse did not hand the same certificate its token")
	}
	if got := cnf(t, other["access_token"]); got["x5t#S256"] != verify.Thumbprint(b.Leaf) {
		t.Fatalf("another certificate got cnf %v: the token bound to the first was reused", got)
	}

	// Without a certificate: refused, not a bearer token.
	status, body = e.token(e.url, nil, e.boundID, e.boundSecret, nil)
	if status != 400 || body["error"] != "invalid_request" || !strings.Contains(fmt.Sprint(body["error_description"]), "tls_client_certificate_bound_access_tokens") {
		t.Fatalf("bound client without a certificate: %d %v", status, body)
	}

	// The bearer path is unchanged: no cnf, with or without a certificate.
	for _, cert := range []*tls.Certificate{nil, &a} {
		status, body = e.token(e.url, cert, e.bearerID, e.bearerSecret, nil)
		if status != 200 || cnf(t, body["access_token"]) != nil {
			t.Fatalf("bearer client (certificate %v): %d %v", cert != nil, status, body)
		}
	}

	// Discovery says so.
	resp, data := e.metadata(e.url)
	var meta map[string]any
	_ = json.Unmarshal(data, &meta)
	if resp.StatusCode != 200 || meta["tls_client_certificate_bound_access_tokens"] != true || meta["mtls_endpoint_aliases"] != nil {
		t.Fatalf("metadata %v", meta)
	}
}

func (e *mtlsEnv) metadata(base string) (*http.Response, []byte) {
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.roots}}}
	resp, err := hc.Get(base + "/.well-known/openid-configuration")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// TestAPIRequiresCertificateBinding: an API whose proof_of_possession is
// {mechanism: mtls, required} binds every client's tokens for it to the
// request's TLS client certificate (cnf.x5t#S256), and refuses a request
// that presents none, whatever the client's own setting.
func TestAPIRequiresCertificateBinding(t *testing.T) {
	e := startMTLS(t)
	a := e.ca.Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "a"}})
	p := storage.ProofOfPossession{Mechanism: storage.PoPMTLS, Required: true}
	if _, err := e.admin.UpdateAPI(e.ctx, mtlsAudience, admin.APIPatch{ProofOfPossession: &p}); err != nil {
		t.Fatal(err)
	}
	e.sync()
	status, body := e.token(e.url, &a, e.bearerID, e.bearerSecret, nil)
	if status != 200 || cnf(t, body["access_token"])["x5t#S256"] != verify.Thumbprint(a.Leaf) {
		t.Fatalf("a client presenting a certificate to an API that requires mTLS binding: %d %v", status, body)
	}
	status, body = e.token(e.url, nil, e.bearerID, e.bearerSecret, nil)
	if status != 400 || body["error"] != "invalid_request" || !strings.Contains(fmt.Sprint(body["error_description"]), "certificate-bound") {
		t.Fatalf("no certificate, an API that requires mTLS binding: %d %v", status, body)
	}
}

// TestMTLSEndpointAlias: with --mtls-addr the main listener asks for no
// client certificate (a bound client is refused there) and the alias
// listener, advertised in mtls_endpoint_aliases (RFC 8705 §5), does.
func TestMTLSEndpointAlias(t *testing.T) {
	alias := testutil.FreeAddr(t)
	e := startMTLS(t, func(c *config.Config) { c.MTLSAddr = alias })
	a := e.ca.Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "a"}})
	_, data := e.metadata(e.url)
	var meta struct {
		Aliases map[string]string `json:"mtls_endpoint_aliases"`
		Bound   bool              `json:"tls_client_certificate_bound_access_tokens"`
	}
	_ = json.Unmarshal(data, &meta)
	want := "https://" + alias + "/oauth/token"
	if meta.Aliases["token_endpoint"] != want || meta.Aliases["revocation_endpoint"] != "https://"+alias+"/oauth/revoke" ||
		meta.Aliases["introspection_endpoint"] != "https://"+alias+"/oauth/introspect" || !meta.Bound {
		t.Fatalf("metadata %s, want the token endpoint alias %s", data, want)
	}
	if status, body := e.token(e.url, &a, e.boundID, e.boundSecret, nil); status != 400 {
		t.Fatalf("the main listener took a client certificate: %d %v", status, body)
	}
	status, body := e.token("https://"+alias, &a, e.boundID, e.boundSecret, nil)
	if status != 200 || cnf(t, body["access_token"])["x5t#S256"] != verify.Thumbprint(a.Leaf) {
		t.Fatalf("alias: %d %v", status, body)
	}
}

// TestDPoPAtMTLSEndpointAlias: a client that calls the token endpoint at
// its mutual-TLS alias (RFC 8705 §5) names that URL as its proof's htu
// (RFC 9449 §4.2) and gets a DPoP-bound token; a proof for another URL of
// the alias is still refused. Failed before: the endpoint took only the
// issuer's /oauth/token as htu, so every DPoP request at the alias was 400
// invalid_dpop_proof.
func TestDPoPAtMTLSEndpointAlias(t *testing.T) {
	alias := testutil.FreeAddr(t)
	e := startMTLS(t, func(c *config.Config) { c.MTLSAddr = alias })
	s := newProofSigner(t, newDPoPKey(t))
	aliasToken := "https://" + alias + "/oauth/token"
	proof, err := s.Proof("POST", aliasToken, "", "")
	if err != nil {
		t.Fatal(err)
	}
	status, body := e.token("https://"+alias, nil, e.bearerID, e.bearerSecret, map[string]string{"DPoP": proof})
	if status != 200 || body["token_type"] != "DPoP" || cnf(t, body["access_token"])["jkt"] != s.JKT() {
		t.Fatalf("a proof for the alias at the alias: %d %v", status, body)
	}
	other, err := s.Proof("POST", "https://"+alias+"/oauth/revoke", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if status, body := e.token("https://"+alias, nil, e.bearerID, e.bearerSecret, map[string]string{"DPoP": other}); status != 400 || body["error"] != "invalid_dpop_proof" {
		t.Fatalf("a proof for another URL at the alias: %d %v", status, body)
	}
}

// TestClientCertHeader: behind a proxy, the certificate comes from
// --client-cert-header only when the peer is in --trusted-proxies; from
// any other peer the header is ignored.
func TestClientCertHeader(t *testing.T) {
	a := testutil.NewCA(t, "x").Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "a"}})
	tests := []struct {
		name    string
		trusted string
		header  string
		value   string
		status  int
		x5t     string
	}{
		{"nginx header from a trusted proxy", "127.0.0.1/32", "X-SSL-Client-Cert", escapedPEM(a), 200, verify.Thumbprint(a.Leaf)},
		{"Envoy's XFCC from a trusted proxy", "127.0.0.1/32", verify.HeaderXFCC, "Cert=" + escapedPEM(a), 200, verify.Thumbprint(a.Leaf)},
		{"header from an untrusted peer ignored", "10.0.0.0/8", "X-SSL-Client-Cert", escapedPEM(a), 400, ""},
		{"malformed header from a trusted proxy", "127.0.0.1/32", "X-SSL-Client-Cert", "junk", 400, ""},
		{"two XFCC elements from a trusted proxy", "127.0.0.1/32", verify.HeaderXFCC, "Cert=" + escapedPEM(a) + ",Cert=" + escapedPEM(a), 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := startMTLS(t, func(c *config.Config) {
				c.TrustedProxies, c.ClientCertHeader, c.TLSClientCA = tc.trusted, tc.header, ""
			})
			status, body := e.token(e.url, nil, e.boundID, e.boundSecret, map[string]string{tc.header: tc.value})
			if status != tc.status {
				t.Fatalf("%d %v, want %d", status, body, tc.status)
			}
			if tc.x5t != "" && cnf(t, body["access_token"])["x5t#S256"] != tc.x5t {
				t.Fatalf("cnf %v", cnf(t, body["access_token"]))
			}
		})
	}
}

// TestBoundTokenAtTheAPI: a certificate-bound token from the server is
// accepted by package verify at an API over mutual TLS with its
// certificate, and refused without one or with another (RFC 8705 §3).
func TestBoundTokenAtTheAPI(t *testing.T) {
	e := startMTLS(t)
	a := e.ca.Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "a"}})
	b := e.ca.Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "b"}})
	_, body := e.token(e.url, &a, e.boundID, e.boundSecret, nil)
	tok := fmt.Sprint(body["access_token"])
	v, err := verify.New(verify.Config{Issuer: e.url, Audience: mtlsAudience,
		HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.roots}}}})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewUnstartedServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })))
	api.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	api.StartTLS()
	defer api.Close()
	apiRoots := x509.NewCertPool()
	apiRoots.AddCert(api.Certificate())
	call := func(cert *tls.Certificate) int {
		tc := &tls.Config{RootCAs: apiRoots}
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
		req, _ := http.NewRequest(http.MethodGet, api.URL, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := call(&a); got != 204 {
		t.Fatalf("with its certificate: %d", got)
	}
	if got := call(nil); got != 401 {
		t.Fatalf("without a certificate: %d", got)
	}
	if got := call(&b); got != 401 {
		t.Fatalf("with another certificate: %d", got)
	}
}

// TestTLSClientAuth: a client registered for tls_client_auth (RFC 8705
// §2.1, here by a URI SAN) authenticates with a certificate of the client
// CA that holds it, sending client_id alone; every other certificate, none,
// its secret, and an unknown client_id are the same invalid_client.
func TestTLSClientAuth(t *testing.T) {
	e := startMTLS(t)
	spiffe, _ := url.Parse("spiffe://example.org/ns/prod/sa/orders")
	other, _ := url.Parse("spiffe://example.org/ns/prod/sa/billing")
	c, sec, err := e.admin.CreateClient(e.ctx, admin.ClientInput{Name: "mtls", CertificateBoundTokens: true,
		TLSClientAuthSAN: storage.SAN{Kind: storage.SANURI, Value: spiffe.String()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.CreateGrant(e.ctx, c.ClientID, mtlsAudience, []string{"read"}); err != nil {
		t.Fatal(err)
	}
	e.sync()
	good := e.ca.Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "orders"}, URIs: []*url.URL{spiffe}})
	selfSigned := (*testutil.CA)(nil).Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "orders"}, URIs: []*url.URL{spiffe}})
	otherSAN := e.ca.Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "orders"}, URIs: []*url.URL{other}})
	foreign := testutil.NewCA(t, "another CA").Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "orders"}, URIs: []*url.URL{spiffe}})

	status, body := e.token(e.url, &good, c.ClientID, "", nil)
	if status != 200 || cnf(t, body["access_token"])["x5t#S256"] != verify.Thumbprint(good.Leaf) {
		t.Fatalf("the registered certificate: %d %v", status, body)
	}
	for _, tc := range []struct {
		name   string
		cert   *tls.Certificate
		id     string
		secret string
		desc   string
	}{
		{"a certificate not from the CA", &selfSigned, c.ClientID, "", "client authentication failed"},
		{"another CA's certificate", &foreign, c.ClientID, "", "client authentication failed"},
		{"a CA-issued certificate with another SAN", &otherSAN, c.ClientID, "", "client authentication failed"},
		{"no certificate", nil, c.ClientID, "", "client authentication is required"},
		{"its secret instead", nil, c.ClientID, sec.Plain, "client authentication failed"},
		{"its secret beside the certificate", &good, c.ClientID, sec.Plain, "client authentication failed"},
		{"an unknown client with a certificate", &good, "no-such-client", "", "client authentication failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.token(e.url, tc.cert, tc.id, tc.secret, nil)
			if status != 401 || body["error"] != "invalid_client" || !strings.HasPrefix(fmt.Sprint(body["error_description"]), tc.desc) {
				t.Fatalf("%d %v", status, body)
			}
		})
	}
	// Disabled: refused with the right certificate.
	if _, err := e.admin.SetClientDisabled(e.ctx, c.ClientID, true); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if status, body := e.token(e.url, &good, c.ClientID, "", nil); status != 401 {
		t.Fatalf("disabled: %d %v", status, body)
	}
	_, data := e.metadata(e.url)
	if !strings.Contains(string(data), `"tls_client_auth"`) {
		t.Errorf("metadata lacks tls_client_auth: %s", data)
	}
}

// TestCertificateCredentials: Auth0-shaped credentials authenticate by
// certificate (RFC 8705 §2): a cert_subject_dn credential (tls_client_auth)
// a certificate of the client CA whose subject is that DN, compared as a
// name; an x509_cert credential (self_signed_tls_client_auth) that very
// certificate. Another subject, another CA, a self-signed certificate with
// the right DN, an unregistered self-signed certificate and none are the
// same invalid_client.
func TestCertificateCredentials(t *testing.T) {
	e := startMTLS(t)
	registered := (*testutil.CA)(nil).Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "self"}})
	unregistered := (*testutil.CA)(nil).Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "self"}})
	newClient := func(name string, in clientcred.Input) string {
		c, _, err := e.admin.CreateClient(e.ctx, admin.ClientInput{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.admin.AddCredential(e.ctx, c.ClientID, in, true); err != nil {
			t.Fatal(err)
		}
		if _, err := e.admin.CreateGrant(e.ctx, c.ClientID, mtlsAudience, []string{"read"}); err != nil {
			t.Fatal(err)
		}
		return c.ClientID
	}
	byDN := newClient("by-dn", clientcred.Input{Type: storage.CredentialCertSubjectDN, SubjectDN: "cn=Orders, o=Example\\, Inc."})
	bySelf := newClient("self-signed", clientcred.Input{Type: storage.CredentialX509Cert,
		PEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: registered.Certificate[0]}))})
	e.sync()
	subject := pkix.Name{CommonName: "orders", Organization: []string{"Example, Inc."}}
	good := e.ca.Issue(t, x509.Certificate{Subject: subject})
	otherSubject := e.ca.Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "billing", Organization: []string{"Example, Inc."}}})
	selfWithDN := (*testutil.CA)(nil).Issue(t, x509.Certificate{Subject: subject})
	for _, tc := range []struct {
		name   string
		id     string
		cert   *tls.Certificate
		status int
	}{
		{"tls_client_auth: the CA's certificate with the DN", byDN, &good, 200},
		{"tls_client_auth: a CA-issued certificate with another subject", byDN, &otherSubject, 401},
		{"tls_client_auth: a self-signed certificate with the DN", byDN, &selfWithDN, 401},
		{"tls_client_auth: no certificate", byDN, nil, 401},
		{"self_signed_tls_client_auth: the registered certificate", bySelf, &registered, 200},
		{"self_signed_tls_client_auth: an unregistered self-signed certificate", bySelf, &unregistered, 401},
		{"self_signed_tls_client_auth: a CA-issued certificate", bySelf, &good, 401},
		{"self_signed_tls_client_auth: no certificate", bySelf, nil, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.token(e.url, tc.cert, tc.id, "", nil)
			if status != tc.status || status == 401 && body["error"] != "invalid_client" {
				t.Fatalf("%d %v, want %d", status, body, tc.status)
			}
		})
	}
	_, data := e.metadata(e.url)
	if !strings.Contains(string(data), `"self_signed_tls_client_auth"`) {
		t.Errorf("metadata lacks self_signed_tls_client_auth: %s", data)
	}
}

// TestAssertionForMTLSEndpointAlias: a client assertion may name the
// token endpoint's mutual-TLS alias as its audience (RFC 7523 §3: the token
// endpoint URL), as package client does when it presents a certificate and
// knows no issuer; another URL of the alias is still refused.
func TestAssertionForMTLSEndpointAlias(t *testing.T) {
	alias := testutil.FreeAddr(t)
	e := startMTLS(t, func(c *config.Config) { c.MTLSAddr = alias })
	k := newSigningKey(t, "ES256")
	c, _, err := e.admin.CreateClient(e.ctx, admin.ClientInput{Name: "keyed", TokenEndpointAuthMethod: storage.AuthMethodPrivateKeyJWT})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.CreateGrant(e.ctx, c.ClientID, mtlsAudience, []string{"read"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.AddCredential(e.ctx, c.ClientID, clientcred.Input{Type: storage.CredentialPublicKey, Name: "k",
		PEM: publicPEM(t, k.priv.Public()), Alg: k.alg}, true); err != nil {
		t.Fatal(err)
	}
	e.sync()
	for _, tc := range []struct {
		aud    string
		status int
	}{
		{"https://" + alias + "/oauth/token", http.StatusOK},
		{"https://" + alias + "/oauth/revoke", http.StatusUnauthorized},
		{"https://" + alias, http.StatusUnauthorized},
	} {
		a := k.sign(t, claimsFor(c.ClientID, tc.aud, time.Now()), "", "")
		status, body := e.tokenForm("https://"+alias, nil, url.Values{"grant_type": {"client_credentials"}, "audience": {mtlsAudience},
			"client_assertion_type": {jwtBearer}, "client_assertion": {a}}, nil)
		if status != tc.status {
			t.Errorf("assertion with aud %s at the alias: %d %v, want %d", tc.aud, status, body, tc.status)
		}
	}
}

// TestLoginTokensAtMTLS: a login client with certificate-bound tokens gets
// its access token bound to the certificate it presents at the mutual-TLS
// endpoint (RFC 8705 §3), and /userinfo answers that token only with that
// certificate: another certificate, or none on the main listener, is
// invalid_token. Before, login grants ignored the client's setting and
// /userinfo ignored cnf x5t#S256, so a stolen login token read the person's
// claims anywhere.
func TestLoginTokensAtMTLS(t *testing.T) {
	alias := testutil.FreeAddr(t)
	e := startMTLS(t, func(c *config.Config) { c.MTLSAddr = alias })
	now := time.Now()
	plain, digest, hint, err := secret.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	web := storage.Client{ClientID: "web-bound", Name: "web", AppType: storage.AppTypeRegularWeb, CertificateBoundTokens: true,
		GrantTypes: []string{storage.GrantAuthorizationCode, storage.GrantRefreshToken}, RedirectURIs: []string{"https://app.test/cb"},
		CreatedAt: now, UpdatedAt: now}
	if err := e.store.CreateClient(e.ctx, web, storage.Secret{ID: "sec_web", ClientID: web.ClientID, Hash: digest, Hint: hint, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateUser(e.ctx, storage.User{UserID: "u_bound", Email: "bound@example.com", EmailVerified: true, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, rt := range []string{"rt-without", "rt-with"} {
		fam := storage.RefreshFamily{ID: "rtf_" + rt, ClientID: web.ClientID, UserID: "u_bound", Scope: []string{"openid", "email", "offline_access"},
			AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := e.store.CreateRefreshFamily(e.ctx, fam, storage.RefreshToken{ID: token.Digest(rt), FamilyID: fam.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	e.sync()
	cert := e.ca.Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "web"}})
	other := e.ca.Issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "other"}})
	refresh := func(base string, cert *tls.Certificate, rt string) (int, map[string]any) {
		return e.tokenForm(base, cert, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
			"client_id": {web.ClientID}, "client_secret": {plain}}, nil)
	}
	if status, body := refresh(e.url, nil, "rt-without"); status != http.StatusBadRequest || body["error"] != "invalid_request" {
		t.Fatalf("refresh without a certificate: %d %v, want 400 invalid_request", status, body)
	}
	status, body := refresh("https://"+alias, &cert, "rt-with")
	if status != http.StatusOK || cnf(t, body["access_token"])["x5t#S256"] != verify.Thumbprint(cert.Leaf) {
		t.Fatalf("refresh at the mTLS endpoint: %d %v, want a token bound to the certificate", status, body)
	}
	at := body["access_token"].(string)
	userinfo := func(base string, cert *tls.Certificate) int {
		tc := &tls.Config{RootCAs: e.roots}
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
		req, _ := http.NewRequest(http.MethodGet, base+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+at)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name   string
		base   string
		cert   *tls.Certificate
		status int
	}{
		{"its certificate", "https://" + alias, &cert, http.StatusOK},
		{"another certificate", "https://" + alias, &other, http.StatusUnauthorized},
		{"no certificate", e.url, nil, http.StatusUnauthorized},
	} {
		if got := userinfo(tc.base, tc.cert); got != tc.status {
			t.Errorf("/userinfo with %s: %d, want %d", tc.name, got, tc.status)
		}
	}
}
