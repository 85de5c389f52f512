package storagetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func newCredential(id, clientID, typ string, created time.Time) storage.Credential {
	c := storage.Credential{ID: id, ClientID: clientID, Type: typ, Name: "credential " + id, CreatedAt: created, UpdatedAt: created}
	switch typ {
	case storage.CredentialPublicKey:
		c.KeyID, c.Alg, c.PEM = "kid-"+id, "RS256", "-----BEGIN PUBLIC KEY-----\n"+id+"\n-----END PUBLIC KEY-----\n"
	case storage.CredentialCertSubjectDN:
		c.SubjectDN = "CN=" + id + ",O=Example"
	case storage.CredentialX509Cert:
		c.PEM, c.ThumbprintSHA256 = "-----BEGIN CERTIFICATE-----\n"+id+"\n-----END CERTIFICATE-----\n", "thumb-"+id
	}
	return c
}

func normCredential(c storage.Credential) storage.Credential {
	c.CreatedAt, c.UpdatedAt, c.ExpiresAt = normTime(c.CreatedAt), normTime(c.UpdatedAt), normTime(c.ExpiresAt)
	return c
}

func credentialTimes(c storage.Credential) []time.Time {
	return []time.Time{c.CreatedAt, c.UpdatedAt, c.ExpiresAt}
}

func sameCredentials(t *testing.T, what string, got []storage.Credential, want ...storage.Credential) {
	t.Helper()
	same(t, what, got, want, normCredential, credentialTimes)
}

// testCredentials: each of Auth0's three credential types round trips;
// list orders, update touches only name and expiry, delete and the client's
// deletion remove, every write is a change of the client, and IDs and a
// client's key IDs are unique.
func testCredentials(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	must(t, "CreateClient", s.CreateClient(ctx, newClient("c1", at(0))))
	must(t, "CreateClient", s.CreateClient(ctx, newClient("c2", at(0))))
	seq := latest(t, ctx, s)

	pk := newCredential("cred_pk", "c1", storage.CredentialPublicKey, at(1))
	pk.ExpiresAt = at(60)
	dn := newCredential("cred_dn", "c1", storage.CredentialCertSubjectDN, at(2))
	x5 := newCredential("cred_x5", "c2", storage.CredentialX509Cert, at(3))
	for _, c := range []storage.Credential{pk, dn, x5} {
		must(t, "AddCredential "+c.ID, s.AddCredential(ctx, c, false))
	}
	seq = wantChanges(t, ctx, s, "AddCredential", seq, clientChange("c1"), clientChange("c1"), clientChange("c2"))

	sameCredentials(t, "ListCredentials(c1)", get[[]storage.Credential](t, "ListCredentials")(s.ListCredentials(ctx, "c1")), pk, dn)
	sameCredentials(t, "ListAllCredentials", get[[]storage.Credential](t, "ListAllCredentials")(s.ListAllCredentials(ctx)), pk, dn, x5)
	got := get[storage.Credential](t, "GetCredential")(s.GetCredential(ctx, "c2", "cred_x5"))
	sameCredentials(t, "GetCredential", []storage.Credential{got}, x5)
	if c := get[storage.Client](t, "GetClient")(s.GetClient(ctx, "c1")); !c.AuthMethods.IsZero() {
		t.Errorf("AddCredential without attach changed the methods: %+v", c.AuthMethods)
	}

	wantErr(t, "GetCredential(other client)", func() error { _, err := s.GetCredential(ctx, "c1", "cred_x5"); return err }(), storage.ErrNotFound)
	wantErr(t, "ListCredentials(missing)", func() error { _, err := s.ListCredentials(ctx, "nope"); return err }(), storage.ErrNotFound)
	wantErr(t, "AddCredential(missing client)", s.AddCredential(ctx, newCredential("cred_z", "nope", storage.CredentialPublicKey, at(4)), false), storage.ErrNotFound)
	wantErr(t, "AddCredential(taken id)", s.AddCredential(ctx, newCredential("cred_pk", "c2", storage.CredentialCertSubjectDN, at(4)), false), storage.ErrAlreadyExists)
	samekid := newCredential("cred_pk2", "c1", storage.CredentialPublicKey, at(4))
	samekid.KeyID = pk.KeyID
	wantErr(t, "AddCredential(taken kid)", s.AddCredential(ctx, samekid, false), storage.ErrAlreadyExists)
	otherClient := samekid
	otherClient.ClientID = "c2"
	must(t, "AddCredential(same kid, other client)", s.AddCredential(ctx, otherClient, false))
	seq = wantChanges(t, ctx, s, "failed AddCredential", seq, clientChange("c2"))

	upd := pk
	upd.Name, upd.ExpiresAt, upd.UpdatedAt = "renamed", time.Time{}, at(9)
	upd.PEM, upd.KeyID, upd.Alg = "ignored", "ignored", "ignored"
	must(t, "UpdateCredential", s.UpdateCredential(ctx, upd))
	want := pk
	want.Name, want.ExpiresAt, want.UpdatedAt = "renamed", time.Time{}, at(9)
	got = get[storage.Credential](t, "GetCredential")(s.GetCredential(ctx, "c1", "cred_pk"))
	sameCredentials(t, "UpdateCredential", []storage.Credential{got}, want)
	upd.ClientID = "c2"
	wantErr(t, "UpdateCredential(other client)", s.UpdateCredential(ctx, upd), storage.ErrNotFound)
	seq = wantChanges(t, ctx, s, "UpdateCredential", seq, clientChange("c1"))

	must(t, "DeleteCredential", s.DeleteCredential(ctx, "c1", "cred_dn"))
	wantErr(t, "DeleteCredential(again)", s.DeleteCredential(ctx, "c1", "cred_dn"), storage.ErrNotFound)
	wantErr(t, "DeleteCredential(other client)", s.DeleteCredential(ctx, "c1", "cred_x5"), storage.ErrNotFound)
	seq = wantChanges(t, ctx, s, "DeleteCredential", seq, clientChange("c1"))

	must(t, "DeleteClient", s.DeleteClient(ctx, "c2"))
	sameCredentials(t, "ListAllCredentials after DeleteClient", get[[]storage.Credential](t, "ListAllCredentials")(s.ListAllCredentials(ctx)), want)
	wantChanges(t, ctx, s, "DeleteClient", seq, clientChange("c2"))
}

// testCredentialAuthMethods: a client's authentication methods name its
// own credentials of the method's type, attach adds to them, update
// replaces them (and jwks_uri) and refuses another client's or another
// type's credential, and deleting a credential detaches it.
func testCredentialAuthMethods(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	c := newClient("c1", at(0))
	c.JWKSURI = "https://c1.example.com/jwks.json"
	must(t, "CreateClient", s.CreateClient(ctx, c))
	must(t, "CreateClient", s.CreateClient(ctx, newClient("c2", at(0))))
	bad := newClient("c3", at(0))
	bad.AuthMethods.PrivateKeyJWT = []string{"cred_a"}
	wantErr(t, "CreateClient(with methods)", s.CreateClient(ctx, bad), storage.ErrNotFound)

	must(t, "AddCredential(attach)", s.AddCredential(ctx, newCredential("cred_a", "c1", storage.CredentialPublicKey, at(1)), true))
	must(t, "AddCredential(attach)", s.AddCredential(ctx, newCredential("cred_b", "c1", storage.CredentialPublicKey, at(2)), true))
	must(t, "AddCredential", s.AddCredential(ctx, newCredential("cred_dn", "c1", storage.CredentialCertSubjectDN, at(3)), false))
	must(t, "AddCredential", s.AddCredential(ctx, newCredential("cred_other", "c2", storage.CredentialPublicKey, at(3)), false))
	got := get[storage.Client](t, "GetClient")(s.GetClient(ctx, "c1"))
	want := storage.ClientAuthMethods{PrivateKeyJWT: []string{"cred_a", "cred_b"}}
	if !reflect.DeepEqual(got.AuthMethods, want) || got.JWKSURI != c.JWKSURI {
		t.Fatalf("after attach: methods %+v jwks_uri %q", got.AuthMethods, got.JWKSURI)
	}

	got.AuthMethods = storage.ClientAuthMethods{PrivateKeyJWT: []string{"cred_b"}, TLSClientAuth: []string{"cred_dn"}}
	got.JWKSURI = ""
	must(t, "UpdateClient", s.UpdateClient(ctx, got))
	list := get[[]storage.Client](t, "ListClients")(s.ListClients(ctx))
	sameClients(t, "ListClients", list, got, newClient("c2", at(0)))

	for name, m := range map[string]storage.ClientAuthMethods{
		"another client's":  {PrivateKeyJWT: []string{"cred_other"}},
		"another type's":    {SelfSignedTLSClientAuth: []string{"cred_dn"}},
		"a missing one":     {PrivateKeyJWT: []string{"cred_nope"}},
		"a key for mTLS":    {TLSClientAuth: []string{"cred_b"}},
		"one of the others": {PrivateKeyJWT: []string{"cred_b", "cred_other"}},
	} {
		upd := got
		upd.AuthMethods = m
		wantErr(t, "UpdateClient naming "+name, s.UpdateClient(ctx, upd), storage.ErrNotFound)
	}
	sameClients(t, "after refused updates", []storage.Client{get[storage.Client](t, "GetClient")(s.GetClient(ctx, "c1"))}, got)

	seq := latest(t, ctx, s)
	must(t, "DeleteCredential", s.DeleteCredential(ctx, "c1", "cred_b"))
	after := get[storage.Client](t, "GetClient")(s.GetClient(ctx, "c1"))
	if want := (storage.ClientAuthMethods{TLSClientAuth: []string{"cred_dn"}}); !reflect.DeepEqual(after.AuthMethods, want) {
		t.Errorf("DeleteCredential left methods %+v, want %+v", after.AuthMethods, want)
	}
	wantChanges(t, ctx, s, "DeleteCredential", seq, clientChange("c1"))
}

// testAssertionIDs: a client assertion's JWT ID is used once per client,
// another client may use the same value, and expired IDs are pruned
// without touching the change feed.
func testAssertionIDs(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	seq := latest(t, ctx, s)
	must(t, "UseAssertionID", s.UseAssertionID(ctx, "c1", "j1", at(1)))
	wantErr(t, "UseAssertionID(replay)", s.UseAssertionID(ctx, "c1", "j1", at(2)), storage.ErrAlreadyExists)
	must(t, "UseAssertionID(other client)", s.UseAssertionID(ctx, "c2", "j1", at(1)))
	must(t, "UseAssertionID(later)", s.UseAssertionID(ctx, "c1", "j2", at(10)))
	if n := get[int64](t, "DeleteAssertionIDsBefore")(s.DeleteAssertionIDsBefore(ctx, at(5))); n != 2 {
		t.Errorf("DeleteAssertionIDsBefore deleted %d, want 2", n)
	}
	must(t, "UseAssertionID(after pruning)", s.UseAssertionID(ctx, "c1", "j1", at(11)))
	wantErr(t, "UseAssertionID(kept)", s.UseAssertionID(ctx, "c1", "j2", at(11)), storage.ErrAlreadyExists)
	wantChanges(t, ctx, s, "assertion IDs", seq)
}
