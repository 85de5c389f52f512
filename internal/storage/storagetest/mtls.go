package storagetest

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// testCertificateBoundTokens: a client's certificate binding (RFC 8705
// §3.4) and tls_client_auth SAN (§2.1.2) round trip through create, update
// and list, are off by default, and are left alone by SetClientDisabled.
func testCertificateBoundTokens(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	bound := newClient("cB", at(1))
	bound.CertificateBoundTokens = true
	bound.TLSClientAuthSAN = storage.SAN{Kind: storage.SANURI, Value: "spiffe://example.org/orders"}
	plain := newClient("cP", at(2))
	for _, c := range []storage.Client{bound, plain} {
		must(t, "CreateClient("+c.ClientID+")", s.CreateClient(ctx, c))
	}
	sameClients(t, "ListClients", get[[]storage.Client](t, "ListClients")(s.ListClients(ctx)), bound, plain)
	if got := get[storage.Client](t, "GetClient")(s.GetClient(ctx, "cB")); !got.CertificateBoundTokens || got.TLSClientAuthSAN != bound.TLSClientAuthSAN {
		t.Errorf("CertificateBoundTokens or TLSClientAuthSAN lost on create: %v %v", got.CertificateBoundTokens, got.TLSClientAuthSAN)
	}
	must(t, "SetClientDisabled", s.SetClientDisabled(ctx, "cB", true, at(3)))
	if got := get[storage.Client](t, "GetClient")(s.GetClient(ctx, "cB")); !got.CertificateBoundTokens {
		t.Error("CertificateBoundTokens lost by SetClientDisabled")
	}
	upd := plain
	upd.CertificateBoundTokens, upd.UpdatedAt = true, at(4)
	upd.TLSClientAuthSAN = storage.SAN{Kind: storage.SANIP, Value: "192.0.2.7"}
	must(t, "UpdateClient", s.UpdateClient(ctx, upd))
	sameClients(t, "GetClient after UpdateClient", []storage.Client{get[storage.Client](t, "GetClient")(s.GetClient(ctx, "cP"))}, upd)
	upd.CertificateBoundTokens, upd.UpdatedAt = false, at(5)
	upd.TLSClientAuthSAN = storage.SAN{}
	must(t, "UpdateClient off", s.UpdateClient(ctx, upd))
	sameClients(t, "GetClient after turning it off", []storage.Client{get[storage.Client](t, "GetClient")(s.GetClient(ctx, "cP"))}, upd)
}
