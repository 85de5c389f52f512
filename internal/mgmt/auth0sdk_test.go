package mgmt_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"

	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
)

// sdk returns Auth0's Go SDK (go-auth0) pointed at the fixture's server
// with the admin token.
func (e *env) sdk() *management.Management {
	e.t.Helper()
	m, err := management.New(e.http.Listener.Addr().String(), management.WithInsecure(), management.WithStaticToken(e.admin),
		management.WithNoRetries(), management.WithClient(e.http.Client()))
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// noDrift fails for each field of sent that got does not have, with the
// same value: what Terraform's plan after an apply checks. Fields sent
// but write-only are named in skip.
func noDrift(t *testing.T, what string, sent, got any, skip ...string) {
	t.Helper()
	var s, g map[string]any
	for _, x := range []struct {
		v   any
		dst *map[string]any
	}{{sent, &s}, {got, &g}} {
		b, err := json.Marshal(x.v)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, x.dst); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range s {
		if contains(skip, k) {
			continue
		}
		if !reflect.DeepEqual(g[k], v) {
			t.Errorf("%s: %s drifted: sent %s, read back %s", what, k, jsonBody(v), jsonBody(g[k]))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// wantStatus fails unless err is the management API's answer with status.
func wantStatus(t *testing.T, what string, err error, status int, msg string) {
	t.Helper()
	var me management.Error
	if !errors.As(err, &me) || me.Status() != status || !strings.Contains(me.Error(), msg) {
		t.Errorf("%s: %v, want %d containing %q", what, err, status, msg)
	}
}

// TestAuth0GoSDKDrift drives Auth0's Go SDK through every route it has for
// resource servers, clients, client credentials and client grants, sending
// Auth0's fields that configurations carry, and checks that each comes back
// as it was sent, after create and after an update that sends back the
// object as it was read (id, client_id and all).
func TestAuth0GoSDKDrift(t *testing.T) {
	e := newEnv(t)
	m := e.sdk()
	ctx := e.ctx

	// Resource servers.
	rs := &management.ResourceServer{
		Name: auth0.String("Orders"), Identifier: auth0.String("https://orders.sdk.test/"),
		Scopes:           &[]management.ResourceServerScope{{Value: auth0.String("read:orders"), Description: auth0.String("Read orders")}},
		SigningAlgorithm: auth0.String("RS256"), AllowOfflineAccess: auth0.Bool(true), TokenLifetime: auth0.Int(3600),
		TokenLifetimeForWeb: auth0.Int(1800), SkipConsentForVerifiableFirstPartyClients: auth0.Bool(true),
		EnforcePolicies: auth0.Bool(false), TokenDialect: auth0.String("access_token"),
	}
	sent := *rs
	if err := m.ResourceServer.Create(ctx, rs); err != nil {
		t.Fatalf("create resource server: %v", err)
	}
	if rs.GetID() != mgmt.ResourceServerID(sent.GetIdentifier()) {
		t.Errorf("resource server id %q", rs.GetID())
	}
	// By id, and by identifier as the SDK escapes it (and as Terraform
	// escapes it again).
	for _, key := range []string{rs.GetID(), sent.GetIdentifier(), "https:%2F%2Forders.sdk.test%2F"} {
		got, err := m.ResourceServer.Read(ctx, key)
		if err != nil {
			t.Fatalf("read resource server by %s: %v", key, err)
		}
		noDrift(t, "resource server read by "+key, sent, got)
	}
	got, _ := m.ResourceServer.Read(ctx, rs.GetID())
	got.Name = auth0.String("Orders v2")
	got.TokenLifetime, got.TokenLifetimeForWeb = auth0.Int(7200), auth0.Int(600)
	updated := *got
	if err := m.ResourceServer.Update(ctx, rs.GetID(), got); err != nil {
		t.Fatalf("update resource server with the object read: %v", err)
	}
	got, _ = m.ResourceServer.Read(ctx, rs.GetID())
	noDrift(t, "resource server after update", updated, got)
	rl, err := m.ResourceServer.List(ctx)
	if err != nil || len(rl.ResourceServers) != 3 || rl.Total != 3 || rl.HasNext() {
		t.Errorf("list resource servers: %v %+v", err, rl)
	}
	wantStatus(t, "HS256", m.ResourceServer.Create(ctx, &management.ResourceServer{Identifier: auth0.String("urn:hs"),
		SigningAlgorithm: auth0.String("HS256"), SigningSecret: auth0.String("0123456789abcdef0123")}), 400, "signing_secret")

	// Clients: a machine client and a login client, with Auth0's fields.
	cl := &management.Client{
		Name: auth0.String("Reporting"), Description: auth0.String("nightly reports"), AppType: auth0.String("non_interactive"),
		GrantTypes: &[]string{"client_credentials"}, TokenEndpointAuthMethod: auth0.String("client_secret_basic"),
		ClientMetadata: &map[string]interface{}{"team": "finance"}, IsFirstParty: auth0.Bool(false), OIDCConformant: auth0.Bool(true),
		LogoURI: auth0.String("https://reports.test/logo.png"), ClientAliases: &[]string{"urn:reports"}, AllowedClients: &[]string{"portal"},
		JWTConfiguration: &management.ClientJWTConfiguration{Algorithm: auth0.String("RS256"), LifetimeInSeconds: auth0.Int(3600)},
		CrossOriginAuth:  auth0.Bool(false), SSODisabled: auth0.Bool(false), CustomLoginPageOn: auth0.Bool(true),
		IsTokenEndpointIPHeaderTrusted: auth0.Bool(false), OrganizationUsage: auth0.String("deny"),
		RefreshToken: &management.ClientRefreshToken{RotationType: auth0.String("rotating"), ExpirationType: auth0.String("expiring")},
		Callbacks:    &[]string{}, AllowedLogoutURLs: &[]string{},
	}
	sentClient := *cl
	if err := m.Client.Create(ctx, cl); err != nil {
		t.Fatalf("create client: %v", err)
	}
	if cl.GetClientID() == "" || cl.GetClientSecret() == "" {
		t.Fatalf("created client without id or secret: %+v", cl)
	}
	gotClient, err := m.Client.Read(ctx, cl.GetClientID())
	if err != nil {
		t.Fatal(err)
	}
	noDrift(t, "client", sentClient, gotClient)
	gotClient.Description, gotClient.IsFirstParty = auth0.String("hourly reports"), auth0.Bool(true)
	gotClient.ClientAliases = &[]string{}
	updatedClient := *gotClient
	if err := m.Client.Update(ctx, cl.GetClientID(), gotClient); err != nil {
		t.Fatalf("update client with the object read: %v", err)
	}
	gotClient, _ = m.Client.Read(ctx, cl.GetClientID())
	noDrift(t, "client after update", updatedClient, gotClient)

	web := &management.Client{Name: auth0.String("Portal"), AppType: auth0.String("regular_web"),
		Callbacks: &[]string{"https://portal.test/callback"}, AllowedLogoutURLs: &[]string{"https://portal.test/"}, IsFirstParty: auth0.Bool(false),
		GrantTypes: &[]string{"authorization_code", "refresh_token"}, OIDCConformant: auth0.Bool(true)}
	sentWeb := *web
	if err := m.Client.Create(ctx, web); err != nil {
		t.Fatalf("create login client: %v", err)
	}
	gotWeb, _ := m.Client.Read(ctx, web.GetClientID())
	noDrift(t, "login client", sentWeb, gotWeb)
	if err := m.Client.Update(ctx, web.GetClientID(), gotWeb); err != nil {
		t.Errorf("update login client with the object read: %v", err)
	}

	cs, err := m.Client.List(ctx, management.Parameter("app_type", "regular_web"))
	if err != nil || len(cs.Clients) != 1 || cs.Clients[0].GetClientID() != web.GetClientID() {
		t.Errorf("list clients by app_type: %v %+v", err, cs)
	}
	cs, err = m.Client.List(ctx, management.IncludeFields("client_id", "name"))
	if err != nil || len(cs.Clients) != 3 || cs.Clients[0].Description != nil || cs.Clients[0].GetName() == "" {
		t.Errorf("list clients with fields: %v %+v", err, cs)
	}

	rotated, err := m.Client.RotateSecret(ctx, cl.GetClientID())
	if err != nil || rotated.GetClientSecret() == "" || rotated.GetClientSecret() == cl.GetClientSecret() {
		t.Errorf("rotate secret: %v", err)
	}

	// Credentials, as go-auth0 v1.10.0 and Terraform's provider drive them:
	// create, attach through client_authentication_methods (the client then
	// reads back token_endpoint_auth_method null), read back, change the
	// expiry, refuse to delete while attached, detach, delete.
	creds, err := m.Client.ListCredentials(ctx, cl.GetClientID())
	if err != nil || creds == nil || len(creds) != 0 {
		t.Errorf("list credentials: %v %v", err, creds)
	}
	_, err = m.Client.GetCredential(ctx, cl.GetClientID(), "cred_missing")
	wantStatus(t, "get credential", err, 404, "not found")
	cred := &management.Credential{Name: auth0.String("ci key"), CredentialType: auth0.String("public_key"), PEM: auth0.String(testPublicKeyPEM(t)),
		Algorithm: auth0.String("ES256")}
	if err := m.Client.CreateCredential(ctx, cl.GetClientID(), cred); err != nil || cred.GetID() == "" || cred.GetKeyID() == "" {
		t.Fatalf("create credential: %v %+v", err, cred)
	}
	wantStatus(t, "create credential with a bad key", m.Client.CreateCredential(ctx, cl.GetClientID(), &management.Credential{
		CredentialType: auth0.String("public_key"), PEM: auth0.String("-----BEGIN PUBLIC KEY-----")}), 400, "PEM")
	attach := &management.Client{ClientAuthenticationMethods: &management.ClientAuthenticationMethods{
		PrivateKeyJWT: &management.PrivateKeyJWT{Credentials: &[]management.Credential{{ID: cred.ID}}}}}
	if err := m.Client.Update(ctx, cl.GetClientID(), attach); err != nil {
		t.Fatalf("attach: %v", err)
	}
	read, err := m.Client.Read(ctx, cl.GetClientID())
	if err != nil || read.TokenEndpointAuthMethod != nil || len(read.GetClientAuthenticationMethods().GetPrivateKeyJWT().GetCredentials()) != 1 ||
		read.GetClientAuthenticationMethods().GetPrivateKeyJWT().GetCredentials()[0].GetID() != cred.GetID() {
		t.Errorf("read attached client: %v %+v", err, read.GetClientAuthenticationMethods())
	}
	gotCred, err := m.Client.GetCredential(ctx, cl.GetClientID(), cred.GetID())
	if err != nil || gotCred.GetKeyID() != cred.GetKeyID() || gotCred.GetAlgorithm() != "ES256" || gotCred.GetCredentialType() != "public_key" || gotCred.PEM != nil {
		t.Errorf("get credential: %v %+v", err, gotCred)
	}
	exp := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	upd := &management.Credential{ExpiresAt: &exp}
	if err := m.Client.UpdateCredential(ctx, cl.GetClientID(), cred.GetID(), upd); err != nil || !upd.GetExpiresAt().Equal(exp) || upd.GetID() != cred.GetID() {
		t.Errorf("update credential: %v %+v", err, upd)
	}
	err = m.Client.DeleteCredential(ctx, cl.GetClientID(), cred.GetID())
	wantStatus(t, "delete an attached credential", err, 409, "still associated with a client")
	if err := m.Client.Update(ctx, cl.GetClientID(), &management.Client{TokenEndpointAuthMethod: auth0.String("client_secret_basic"),
		ClientAuthenticationMethods: &management.ClientAuthenticationMethods{}}); err == nil {
		t.Errorf("an empty client_authentication_methods with a token_endpoint_auth_method was accepted")
	}
	if err := m.Client.DeleteCredential(ctx, "missing", "cred_missing"); err != nil {
		t.Errorf("delete credential: %v", err)
	}
	_, err = m.Client.ListCredentials(ctx, "missing")
	wantStatus(t, "credentials of a missing client", err, 404, "not found")

	// Client grants: more than one checkpoint page.
	g := &management.ClientGrant{ClientID: cl.ClientID, Audience: rs.Identifier, Scope: &[]string{"read:orders"},
		AllowAnyOrganization: auth0.Bool(false), OrganizationUsage: auth0.String("deny")}
	sentGrant := *g
	if err := m.ClientGrant.Create(ctx, g); err != nil {
		t.Fatalf("create grant: %v", err)
	}
	gotGrant, err := m.ClientGrant.Read(ctx, g.GetID())
	if err != nil {
		t.Fatal(err)
	}
	noDrift(t, "grant", sentGrant, gotGrant)
	gotGrant.Scope = &[]string{}
	updatedGrant := *gotGrant
	if err := m.ClientGrant.Update(ctx, g.GetID(), gotGrant); err != nil {
		t.Fatalf("update grant with the object read: %v", err)
	}
	gotGrant, _ = m.ClientGrant.Read(ctx, g.GetID())
	noDrift(t, "grant after update", updatedGrant, gotGrant)
	for i := range 5 {
		c := &management.Client{Name: auth0.String(fmt.Sprintf("batch %d", i))}
		if err := m.Client.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := m.ClientGrant.Create(ctx, &management.ClientGrant{ClientID: c.ClientID, Audience: rs.Identifier, Scope: &[]string{}}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	var pages int
	for from := ""; pages < 20; pages++ {
		opts := []management.RequestOption{management.Take(2)}
		if from != "" {
			opts = append(opts, management.From(from))
		}
		l, err := m.ClientGrant.List(ctx, opts...)
		if err != nil {
			t.Fatal(err)
		}
		for _, gr := range l.ClientGrants {
			seen[gr.GetID()]++
		}
		if !l.HasNext() {
			break
		}
		from = l.Next
	}
	all, err := m.ClientGrant.List(ctx, management.PerPage(100))
	if err != nil {
		t.Fatal(err)
	}
	if len(all.ClientGrants) != 7 || len(seen) != 7 || pages != 3 { // the admin's, the one above and five
		t.Errorf("checkpoint walk: %d pages, %d grants seen of %d", pages+1, len(seen), len(all.ClientGrants))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("grant %s seen %d times", id, n)
		}
	}

	// Users: create, read, update, list, delete.
	u := &management.User{Connection: auth0.String(mgmt.Connection), Email: auth0.String("sdk@example.com"),
		Password: auth0.String("a long enough password"), Name: auth0.String("SDK"), EmailVerified: auth0.Bool(true)}
	if err := m.User.Create(ctx, u); err != nil {
		t.Fatalf("create user: %v", err)
	}
	gotUser, err := m.User.Read(ctx, u.GetID())
	if err != nil || gotUser.GetEmail() != "sdk@example.com" || gotUser.GetName() != "SDK" || !gotUser.GetEmailVerified() {
		t.Errorf("read user: %v %+v", err, gotUser)
	}
	if err := m.User.Update(ctx, u.GetID(), &management.User{Name: auth0.String("SDK 2"), Blocked: auth0.Bool(true)}); err != nil {
		t.Errorf("update user: %v", err)
	}
	if ul, err := m.User.List(ctx); err != nil || len(ul.Users) != 1 || ul.Users[0].GetName() != "SDK 2" || !ul.Users[0].GetBlocked() {
		t.Errorf("list users: %v %+v", err, ul)
	}
	if err := m.User.Delete(ctx, u.GetID()); err != nil {
		t.Errorf("delete user: %v", err)
	}
	_, err = m.User.Read(ctx, u.GetID())
	wantStatus(t, "deleted user", err, http.StatusNotFound, "not found")

	// Deletes, then each is gone.
	if err := m.ClientGrant.Delete(ctx, g.GetID()); err != nil {
		t.Error(err)
	}
	if err := m.Client.Delete(ctx, web.GetClientID()); err != nil {
		t.Error(err)
	}
	_, err = m.Client.Read(ctx, web.GetClientID())
	wantStatus(t, "deleted client", err, http.StatusNotFound, "not found")
	if err := m.ResourceServer.Delete(ctx, rs.GetID()); err != nil {
		t.Error(err)
	}
	_, err = m.ResourceServer.Read(ctx, rs.GetID())
	wantStatus(t, "deleted resource server", err, http.StatusNotFound, "not found")
}

// TestTerraformCredentialShapes: the credentials Terraform's
// auth0_client_credentials creates through go-auth0 are taken as Auth0
// takes them: a tls_client_auth cert_subject_dn given by the certificate's
// pem alone (the subject DN read from it, and read back), and a public key
// with parse_expiry_from_cert beside an explicit expires_at, which wins.
func TestTerraformCredentialShapes(t *testing.T) {
	e := newEnv(t)
	m, ctx := e.sdk(), e.ctx
	id, _ := e.client(demoAPI)

	dn := &management.Credential{CredentialType: auth0.String("cert_subject_dn"), Name: auth0.String("ca issued"), PEM: auth0.String(testCertPEM(t))}
	if err := m.Client.CreateCredential(ctx, id, dn); err != nil || dn.GetSubjectDN() != "CN=svc" {
		t.Fatalf("cert_subject_dn from pem: %v, subject_dn %q", err, dn.GetSubjectDN())
	}
	attach := `{"client_authentication_methods":{"tls_client_auth":{"credentials":[{"id":"` + dn.GetID() + `"}]}},"token_endpoint_auth_method":null}`
	e.must(200, "PATCH", "/api/v2/clients/"+id, attach)
	if got, err := m.Client.GetCredential(ctx, id, dn.GetID()); err != nil || got.GetSubjectDN() != "CN=svc" || got.GetCredentialType() != "cert_subject_dn" {
		t.Errorf("read back: %v %+v", err, got)
	}
	wantStatus(t, "cert_subject_dn with both", m.Client.CreateCredential(ctx, id, &management.Credential{CredentialType: auth0.String("cert_subject_dn"),
		PEM: auth0.String(testCertPEM(t)), SubjectDN: auth0.String("CN=svc")}), 400, "not both")

	exp := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	pk := &management.Credential{CredentialType: auth0.String("public_key"), PEM: auth0.String(testCertPEM(t)),
		ParseExpiryFromCert: auth0.Bool(true), ExpiresAt: &exp}
	if err := m.Client.CreateCredential(ctx, id, pk); err != nil || !pk.GetExpiresAt().Equal(exp) {
		t.Errorf("expires_at beside parse_expiry_from_cert: %v, expires_at %v, want %v", err, pk.GetExpiresAt(), exp)
	}
}
