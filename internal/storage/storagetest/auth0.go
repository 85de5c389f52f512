package storagetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// testExtras: the Auth0 settings an API and a client keep without acting
// on them round trip through create, get, list and update, and the zero
// value stays the zero value.
func testExtras(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	api := newAPI(apiA)
	api.Extras = storage.APIExtras{TokenLifetimeForWeb: 60 * time.Second}
	must(t, "CreateAPI", s.CreateAPI(ctx, api))
	must(t, "CreateAPI(zero)", s.CreateAPI(ctx, newAPI(apiB)))
	if got := get[storage.API](t, "GetAPI")(s.GetAPI(ctx, apiA)); got.Extras != api.Extras {
		t.Errorf("GetAPI extras = %+v, want %+v", got.Extras, api.Extras)
	}
	if got := get[storage.API](t, "GetAPI")(s.GetAPI(ctx, apiB)); got.Extras != (storage.APIExtras{}) {
		t.Errorf("GetAPI zero extras = %+v", got.Extras)
	}
	api.Extras.TokenLifetimeForWeb = 0
	must(t, "UpdateAPI", s.UpdateAPI(ctx, api))
	if got := get[storage.API](t, "GetAPI")(s.GetAPI(ctx, apiA)); got.Extras != (storage.APIExtras{}) {
		t.Errorf("GetAPI extras after clearing = %+v", got.Extras)
	}

	c := newClient("c1", at(0))
	c.Extras = storage.ClientExtras{LogoURI: "https://logo.example.com/l.png", ClientAliases: []string{"urn:alias", "https://alias.example.com"},
		AllowedClients: []string{"c2"}, ThirdParty: true}
	must(t, "CreateClient", s.CreateClient(ctx, c))
	must(t, "CreateClient(zero)", s.CreateClient(ctx, newClient("c2", at(1))))
	if got := get[storage.Client](t, "GetClient")(s.GetClient(ctx, "c1")); !reflect.DeepEqual(got.Extras, c.Extras) {
		t.Errorf("GetClient extras = %+v, want %+v", got.Extras, c.Extras)
	}
	list := get[[]storage.Client](t, "ListClients")(s.ListClients(ctx))
	if len(list) != 2 || !reflect.DeepEqual(list[0].Extras, c.Extras) || !reflect.DeepEqual(list[1].Extras, storage.ClientExtras{}) {
		t.Errorf("ListClients extras = %+v", list)
	}
	c.Extras = storage.ClientExtras{LogoURI: "https://logo.example.com/2.png"}
	c.UpdatedAt = at(5)
	must(t, "UpdateClient", s.UpdateClient(ctx, c))
	if got := get[storage.Client](t, "GetClient")(s.GetClient(ctx, "c1")); !reflect.DeepEqual(got.Extras, c.Extras) {
		t.Errorf("GetClient extras after update = %+v, want %+v", got.Extras, c.Extras)
	}
}

// testUpdateAPIPrunesGrants: a scope an API stops defining leaves every
// grant for it in the same write, each such client's change is in the feed,
// and grants for other APIs keep theirs.
func testUpdateAPIPrunesGrants(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	api := newAPI(apiA)
	api.Scopes = []storage.Scope{{Value: "a"}, {Value: "b"}, {Value: "c"}}
	other := newAPI(apiB)
	other.Scopes = []storage.Scope{{Value: "b"}}
	must(t, "CreateAPI", s.CreateAPI(ctx, api))
	must(t, "CreateAPI", s.CreateAPI(ctx, other))
	for i, id := range []string{"c1", "c2", "c3"} {
		must(t, "CreateClient", s.CreateClient(ctx, newClient(id, at(i))))
	}
	grant := func(id, client, aud string, scope ...string) {
		g := newGrant(id, client, aud, at(10))
		g.Scope = scope
		must(t, "CreateGrant", s.CreateGrant(ctx, g))
	}
	grant("g1", "c1", apiA, "a", "b")
	grant("g2", "c2", apiA, "c")
	grant("g3", "c3", apiB, "b")
	seq := get[int64](t, "LatestChange")(s.LatestChange(ctx))

	api.Scopes = []storage.Scope{{Value: "a"}, {Value: "c"}}
	must(t, "UpdateAPI", s.UpdateAPI(ctx, api))
	for id, want := range map[string][]string{"g1": {"a"}, "g2": {"c"}, "g3": {"b"}} {
		if got := get[storage.Grant](t, "GetGrant")(s.GetGrant(ctx, id)); !slices.Equal(got.Scope, want) {
			t.Errorf("grant %s scope = %q, want %q", id, got.Scope, want)
		}
	}
	changes := get[[]storage.Change](t, "ChangesSince")(s.ChangesSince(ctx, seq, 100))
	var clients []string
	apiChanged := false
	for _, ch := range changes {
		switch ch.Entity {
		case storage.EntityClient:
			clients = append(clients, ch.ID)
		case storage.EntityAPI:
			apiChanged = apiChanged || ch.ID == apiA
		}
	}
	if !apiChanged || !slices.Equal(clients, []string{"c1"}) {
		t.Errorf("changes after pruning: %+v, want the API and client c1 only", changes)
	}

	// An update that fails changes no grant.
	api.Identifier, api.Scopes = "https://missing.example.com", nil
	wantErr(t, "UpdateAPI/missing", s.UpdateAPI(ctx, api), storage.ErrNotFound)
	if got := get[storage.Grant](t, "GetGrant")(s.GetGrant(ctx, "g1")); !slices.Equal(got.Scope, []string{"a"}) {
		t.Errorf("grant g1 after a failed update = %q", got.Scope)
	}
}

// testDeleteUser: a user is deleted with its logins, once; others stay.
func testDeleteUser(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	seedLogin(t, ctx, s)
	must(t, "CreateUser", s.CreateUser(ctx, newUser("u2", "u2@example.com", 1)))
	must(t, "CreateSession", s.CreateSession(ctx, storage.LoginSession{ID: "s1", UserID: "u1", ExpiresAt: at(60)}))
	must(t, "CreateSession", s.CreateSession(ctx, storage.LoginSession{ID: "s2", UserID: "u2", ExpiresAt: at(60)}))
	must(t, "PutConsent", s.PutConsent(ctx, storage.Consent{UserID: "u1", ClientID: "cW", Scope: []string{"openid"}, CreatedAt: at(1), UpdatedAt: at(1)}))
	seq := get[int64](t, "LatestChange")(s.LatestChange(ctx))

	must(t, "DeleteUser", s.DeleteUser(ctx, "u1"))
	_, err := s.GetUser(ctx, "u1")
	wantErr(t, "GetUser after delete", err, storage.ErrNotFound)
	_, err = s.GetSession(ctx, "s1")
	wantErr(t, "GetSession of the deleted user", err, storage.ErrNotFound)
	_, err = s.GetConsent(ctx, "u1", "cW", "")
	wantErr(t, "GetConsent of the deleted user", err, storage.ErrNotFound)
	wantErr(t, "DeleteUser again", s.DeleteUser(ctx, "u1"), storage.ErrNotFound)
	if _, err := s.GetSession(ctx, "s2"); err != nil {
		t.Errorf("another user's session: %v", err)
	}
	must(t, "CreateUser with the freed email", s.CreateUser(ctx, newUser("u3", "U1@example.com", 2)))
	if got := get[int64](t, "LatestChange")(s.LatestChange(ctx)); got != seq {
		t.Errorf("DeleteUser appended to the change feed (%d -> %d)", seq, got)
	}
}
