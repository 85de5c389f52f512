package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func normRevocation(r storage.Revocation) storage.Revocation {
	r.Before, r.ExpiresAt = normTime(r.Before), normTime(r.ExpiresAt)
	return r
}

func revocationTimes(r storage.Revocation) []time.Time { return []time.Time{r.Before, r.ExpiresAt} }

// testRevocations: denylist entries round trip, a second revocation of the
// same kind and value only ever raises the times, each write is one change
// named by the entry's key, a bad entry is refused without a change, and
// expired entries are listed no more and deleted.
func testRevocations(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	seq := latest(t, ctx, s)

	jti := storage.Revocation{Kind: storage.RevokeToken, Value: "jti-1", Before: at(1), ExpiresAt: at(10)}
	client := storage.Revocation{Kind: storage.RevokeClient, Value: "c1", Before: at(2), ExpiresAt: at(60)}
	must(t, "Revoke(jti)", s.Revoke(ctx, jti))
	must(t, "Revoke(client)", s.Revoke(ctx, client))
	sameOne(t, "GetRevocation", get[storage.Revocation](t, "GetRevocation")(s.GetRevocation(ctx, storage.RevokeToken, "jti-1")), jti, normRevocation)
	_, err := s.GetRevocation(ctx, storage.RevokeSubject, "c1")
	wantErr(t, "GetRevocation of another kind", err, storage.ErrNotFound)

	// Later times win, earlier ones do not lower them.
	must(t, "Revoke(client, later)", s.Revoke(ctx, storage.Revocation{Kind: storage.RevokeClient, Value: "c1", Before: at(5), ExpiresAt: at(65)}))
	must(t, "Revoke(client, earlier)", s.Revoke(ctx, storage.Revocation{Kind: storage.RevokeClient, Value: "c1", Before: at(3), ExpiresAt: at(61)}))
	client.Before, client.ExpiresAt = at(5), at(65)
	sameOne(t, "GetRevocation after raising", get[storage.Revocation](t, "GetRevocation")(s.GetRevocation(ctx, storage.RevokeClient, "c1")), client, normRevocation)

	for _, bad := range []storage.Revocation{
		{Kind: "family", Value: "x", Before: at(1), ExpiresAt: at(2)},
		{Kind: storage.RevokeToken, Before: at(1), ExpiresAt: at(2)},
		{Kind: storage.RevokeToken, Value: "x", ExpiresAt: at(2)},
	} {
		if err := s.Revoke(ctx, bad); err == nil {
			t.Errorf("Revoke(%+v) succeeded", bad)
		}
	}
	var keys []string
	for _, c := range changesSince(t, ctx, s, seq) {
		if c.Entity != storage.EntityRevocation {
			t.Errorf("change %+v, want entity %s", c, storage.EntityRevocation)
		}
		keys = append(keys, c.ID)
	}
	if want := []string{"jti:jti-1", "client:c1", "client:c1", "client:c1"}; !slices.Equal(keys, want) {
		t.Errorf("changes %v, want %v", keys, want)
	}

	same(t, "ListRevocations", get[[]storage.Revocation](t, "ListRevocations")(s.ListRevocations(ctx, at(0))),
		[]storage.Revocation{client, jti}, normRevocation, revocationTimes)
	same(t, "ListRevocations after the jti's expiry", get[[]storage.Revocation](t, "ListRevocations")(s.ListRevocations(ctx, at(10))),
		[]storage.Revocation{client}, normRevocation, revocationTimes)
	if n := get[int64](t, "DeleteExpiredRevocations")(s.DeleteExpiredRevocations(ctx, at(11))); n != 1 {
		t.Errorf("DeleteExpiredRevocations deleted %d, want 1", n)
	}
	_, err = s.GetRevocation(ctx, storage.RevokeToken, "jti-1")
	wantErr(t, "GetRevocation after delete", err, storage.ErrNotFound)
	if k, v, ok := storage.ParseRevocationKey(client.Key()); !ok || k != storage.RevokeClient || v != "c1" {
		t.Errorf("ParseRevocationKey(%q) = %q, %q, %v", client.Key(), k, v, ok)
	}
}

// testRevokeRefreshFamilies: a client's or a user's families are revoked,
// an earlier revocation stays, others' are untouched.
func testRevokeRefreshFamilies(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	seedLogin(t, ctx, s)
	must(t, "CreateUser", s.CreateUser(ctx, newUser("u2", "u2@example.com", 0)))
	c := newClient("cX", at(0))
	c.GrantTypes = []string{storage.GrantAuthorizationCode}
	must(t, "CreateClient", s.CreateClient(ctx, c))
	for _, f := range []storage.RefreshFamily{
		{ID: "f-w1", ClientID: "cW", UserID: "u1"}, {ID: "f-w2", ClientID: "cW", UserID: "u2"},
		{ID: "f-x1", ClientID: "cX", UserID: "u1"}, {ID: "f-x2", ClientID: "cX", UserID: "u2"}, {ID: "f-old", ClientID: "cW", UserID: "u2"},
	} {
		f.ExpiresAt = at(60)
		must(t, "CreateRefreshFamily", s.CreateRefreshFamily(ctx, f, storage.RefreshToken{ID: "t" + f.ID[1:], ExpiresAt: at(60)}))
	}
	must(t, "RevokeRefreshFamily", s.RevokeRefreshFamily(ctx, "f-old", at(1)))
	if n := get[int64](t, "RevokeRefreshFamilies(client)")(s.RevokeRefreshFamilies(ctx, "cW", "", at(5))); n != 2 {
		t.Errorf("RevokeRefreshFamilies(cW) revoked %d, want 2", n)
	}
	if n := get[int64](t, "RevokeRefreshFamilies(user)")(s.RevokeRefreshFamilies(ctx, "", "u1", at(6))); n != 1 {
		t.Errorf("RevokeRefreshFamilies(u1) revoked %d, want 1", n)
	}
	if _, err := s.RevokeRefreshFamilies(ctx, "", "", at(7)); err == nil {
		t.Error("RevokeRefreshFamilies of nobody succeeded")
	}
	for id, want := range map[string]time.Time{"t-w1": at(5), "t-w2": at(5), "t-x1": at(6), "t-x2": {}, "t-old": at(1)} {
		_, f, err := s.GetRefreshToken(ctx, id)
		must(t, "GetRefreshToken", err)
		if !normTime(f.RevokedAt).Equal(normTime(want)) {
			t.Errorf("family of %s revoked at %v, want %v", id, f.RevokedAt, want)
		}
	}
}

// testIntrospectors: rights need their API and client, are granted once,
// each write is a change of the API, and they go with the API or client.
func testIntrospectors(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	seed(t, ctx, s)
	seq := latest(t, ctx, s)
	a1 := storage.Introspector{Audience: apiA, ClientID: "c1", CreatedAt: at(7)}
	a2 := storage.Introspector{Audience: apiA, ClientID: "c2", CreatedAt: at(8)}
	b2 := storage.Introspector{Audience: apiB, ClientID: "c2", CreatedAt: at(9)}
	for _, in := range []storage.Introspector{a2, a1, b2} {
		must(t, "AddIntrospector", s.AddIntrospector(ctx, in))
	}
	wantErr(t, "AddIntrospector again", s.AddIntrospector(ctx, a1), storage.ErrAlreadyExists)
	wantErr(t, "AddIntrospector/no api", s.AddIntrospector(ctx, storage.Introspector{Audience: "https://none/", ClientID: "c1"}), storage.ErrNotFound)
	wantErr(t, "AddIntrospector/no client", s.AddIntrospector(ctx, storage.Introspector{Audience: apiA, ClientID: "c9"}), storage.ErrNotFound)
	norm := func(in storage.Introspector) storage.Introspector { in.CreatedAt = normTime(in.CreatedAt); return in }
	times := func(in storage.Introspector) []time.Time { return []time.Time{in.CreatedAt} }
	same(t, "ListIntrospectors(all)", get[[]storage.Introspector](t, "ListIntrospectors")(s.ListIntrospectors(ctx, "")), []storage.Introspector{a1, a2, b2}, norm, times)
	same(t, "ListIntrospectors(apiB)", get[[]storage.Introspector](t, "ListIntrospectors")(s.ListIntrospectors(ctx, apiB)), []storage.Introspector{b2}, norm, times)

	must(t, "RemoveIntrospector", s.RemoveIntrospector(ctx, apiA, "c2"))
	wantErr(t, "RemoveIntrospector again", s.RemoveIntrospector(ctx, apiA, "c2"), storage.ErrNotFound)
	var ids []string
	for _, c := range changesSince(t, ctx, s, seq) {
		if c.Entity != storage.EntityIntrospection {
			t.Errorf("change %+v, want entity %s", c, storage.EntityIntrospection)
		}
		ids = append(ids, c.ID)
	}
	if want := []string{apiA, apiA, apiB, apiA}; !slices.Equal(ids, want) {
		t.Errorf("changes %v, want %v", ids, want)
	}
	must(t, "DeleteClient", s.DeleteClient(ctx, "c1"))
	must(t, "DeleteAPI", s.DeleteAPI(ctx, apiB))
	if got := get[[]storage.Introspector](t, "ListIntrospectors")(s.ListIntrospectors(ctx, "")); len(got) != 0 {
		t.Errorf("rights after their client and API were deleted: %v", got)
	}
}
