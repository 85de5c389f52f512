package storagetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const (
	apiA = "https://a.example.com/"
	apiB = "https://b.example.com/"
)

// seed fills s with two APIs, two clients with a secret each, a grant of
// each client for apiA, and a current and a next RS256 key.
func seed(t *testing.T, ctx context.Context, s storage.Storage) {
	t.Helper()
	must(t, "CreateAPI", s.CreateAPI(ctx, newAPI(apiA)))
	must(t, "CreateAPI", s.CreateAPI(ctx, newAPI(apiB)))
	must(t, "CreateClient", s.CreateClient(ctx, newClient("c1", at(1)), newSecret("s1", "c1", at(1))))
	must(t, "CreateClient", s.CreateClient(ctx, newClient("c2", at(2)), newSecret("s2", "c2", at(2))))
	must(t, "CreateGrant", s.CreateGrant(ctx, newGrant("g1", "c1", apiA, at(3))))
	must(t, "CreateGrant", s.CreateGrant(ctx, newGrant("g2", "c2", apiA, at(4))))
	must(t, "SaveKeys", s.SaveKeys(ctx, []storage.SigningKey{
		newKey("k1", "RS256", storage.KeyCurrent, at(0)),
		newKey("k2", "RS256", storage.KeyNext, at(5)),
	}, nil))
}

func testEmpty(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	must(t, "Ping", s.Ping(ctx))
	if n := latest(t, ctx, s); n != 0 {
		t.Errorf("LatestChange of an empty store = %d, want 0", n)
	}
	if cs := changesSince(t, ctx, s, 0); len(cs) != 0 {
		t.Errorf("ChangesSince(0) of an empty store = %v, want none", cs)
	}
	if v := get[[]storage.API](t, "ListAPIs")(s.ListAPIs(ctx)); len(v) != 0 {
		t.Errorf("ListAPIs = %v, want none", v)
	}
	if v := get[[]storage.Client](t, "ListClients")(s.ListClients(ctx)); len(v) != 0 {
		t.Errorf("ListClients = %v, want none", v)
	}
	if v := get[[]storage.Grant](t, "ListGrants")(s.ListGrants(ctx, storage.GrantFilter{})); len(v) != 0 {
		t.Errorf("ListGrants = %v, want none", v)
	}
	if v := get[[]storage.Secret](t, "ListAllSecrets")(s.ListAllSecrets(ctx)); len(v) != 0 {
		t.Errorf("ListAllSecrets = %v, want none", v)
	}
	if v := get[[]storage.SigningKey](t, "ListKeys")(s.ListKeys(ctx)); len(v) != 0 {
		t.Errorf("ListKeys = %v, want none", v)
	}
	must(t, "SaveKeys(nil, nil)", s.SaveKeys(ctx, nil, nil))
	must(t, "TouchSecrets(nil)", s.TouchSecrets(ctx, nil))
	if n := latest(t, ctx, s); n != 0 {
		t.Errorf("LatestChange after no-op writes = %d, want 0", n)
	}
}

// testErrors checks every method's sentinel errors on a seeded store, and
// that a failed write changes nothing: no change row and (for the writes
// that could partly succeed) no trace of the write.
func testErrors(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	type S = storage.Storage
	type K = []storage.SigningKey
	tests := []struct {
		name string
		call func(ctx context.Context, s S) error
		want error
		// after checks that nothing of the failed call persisted.
		after func(t *testing.T, ctx context.Context, s S)
	}{
		{"CreateAPI/taken", func(ctx context.Context, s S) error {
			a := newAPI(apiA)
			a.Name = "other"
			return s.CreateAPI(ctx, a)
		}, storage.ErrAlreadyExists, func(t *testing.T, ctx context.Context, s S) {
			a := get[storage.API](t, "GetAPI")(s.GetAPI(ctx, apiA))
			sameAPIs(t, "GetAPI", []storage.API{a}, newAPI(apiA))
		}},
		{"GetAPI/missing", func(ctx context.Context, s S) error {
			_, err := s.GetAPI(ctx, "https://missing.example.com/")
			return err
		}, storage.ErrNotFound, nil},
		{"UpdateAPI/missing", func(ctx context.Context, s S) error {
			return s.UpdateAPI(ctx, newAPI("https://missing.example.com/"))
		}, storage.ErrNotFound, nil},
		{"UpdateGrant/missing", func(ctx context.Context, s S) error {
			return s.UpdateGrant(ctx, "g9", []string{"x"})
		}, storage.ErrNotFound, nil},
		{"DeleteAPI/missing", func(ctx context.Context, s S) error {
			return s.DeleteAPI(ctx, "https://missing.example.com/")
		}, storage.ErrNotFound, nil},

		{"CreateClient/taken", func(ctx context.Context, s S) error {
			return s.CreateClient(ctx, newClient("c1", at(9)), newSecret("s9", "c1", at(9)))
		}, storage.ErrAlreadyExists, func(t *testing.T, ctx context.Context, s S) {
			got := get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, "c1"))
			sameSecrets(t, "ListSecrets(c1)", got, newSecret("s1", "c1", at(1)))
		}},
		{"CreateClient/secret ID taken", func(ctx context.Context, s S) error {
			return s.CreateClient(ctx, newClient("c9", at(9)), newSecret("s9", "c9", at(9)), newSecret("s1", "c9", at(9)))
		}, storage.ErrAlreadyExists, func(t *testing.T, ctx context.Context, s S) {
			_, err := s.GetClient(ctx, "c9")
			wantErr(t, "GetClient of the client whose creation failed", err, storage.ErrNotFound)
			_, err = s.ListSecrets(ctx, "c9")
			wantErr(t, "ListSecrets of the client whose creation failed", err, storage.ErrNotFound)
		}},
		{"GetClient/missing", func(ctx context.Context, s S) error {
			_, err := s.GetClient(ctx, "c9")
			return err
		}, storage.ErrNotFound, nil},
		{"SetClientDisabled/missing", func(ctx context.Context, s S) error {
			return s.SetClientDisabled(ctx, "c9", true, at(9))
		}, storage.ErrNotFound, nil},
		{"UpdateClient/missing", func(ctx context.Context, s S) error {
			return s.UpdateClient(ctx, newClient("c9", at(9)))
		}, storage.ErrNotFound, nil},
		{"DeleteClient/missing", func(ctx context.Context, s S) error {
			return s.DeleteClient(ctx, "c9")
		}, storage.ErrNotFound, nil},

		{"AddSecret/missing client", func(ctx context.Context, s S) error {
			return s.AddSecret(ctx, newSecret("s9", "c9", at(9)))
		}, storage.ErrNotFound, nil},
		{"AddSecret/ID taken", func(ctx context.Context, s S) error {
			return s.AddSecret(ctx, newSecret("s2", "c1", at(9)))
		}, storage.ErrAlreadyExists, func(t *testing.T, ctx context.Context, s S) {
			got := get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, "c1"))
			sameSecrets(t, "ListSecrets(c1)", got, newSecret("s1", "c1", at(1)))
		}},
		{"RotateSecret/missing client", func(ctx context.Context, s S) error {
			return s.RotateSecret(ctx, newSecret("s9", "c9", at(9)), at(60))
		}, storage.ErrNotFound, nil},
		{"RotateSecret/ID taken", func(ctx context.Context, s S) error {
			return s.RotateSecret(ctx, newSecret("s2", "c1", at(9)), at(60))
		}, storage.ErrAlreadyExists, func(t *testing.T, ctx context.Context, s S) {
			// The cap on the other secrets must be rolled back too.
			got := get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, "c1"))
			sameSecrets(t, "ListSecrets(c1)", got, newSecret("s1", "c1", at(1)))
		}},
		{"ListSecrets/missing client", func(ctx context.Context, s S) error {
			_, err := s.ListSecrets(ctx, "c9")
			return err
		}, storage.ErrNotFound, nil},
		{"DeleteSecret/missing", func(ctx context.Context, s S) error {
			return s.DeleteSecret(ctx, "c1", "s9")
		}, storage.ErrNotFound, nil},
		{"DeleteSecret/other client's", func(ctx context.Context, s S) error {
			return s.DeleteSecret(ctx, "c1", "s2")
		}, storage.ErrNotFound, func(t *testing.T, ctx context.Context, s S) {
			got := get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, "c2"))
			sameSecrets(t, "ListSecrets(c2)", got, newSecret("s2", "c2", at(2)))
		}},
		{"DeleteSecret/missing client", func(ctx context.Context, s S) error {
			return s.DeleteSecret(ctx, "c9", "s1")
		}, storage.ErrNotFound, nil},

		{"CreateGrant/missing client", func(ctx context.Context, s S) error {
			return s.CreateGrant(ctx, newGrant("g9", "c9", apiB, at(9)))
		}, storage.ErrNotFound, nil},
		{"CreateGrant/missing API", func(ctx context.Context, s S) error {
			return s.CreateGrant(ctx, newGrant("g9", "c1", "https://missing.example.com/", at(9)))
		}, storage.ErrNotFound, nil},
		{"CreateGrant/client already granted", func(ctx context.Context, s S) error {
			return s.CreateGrant(ctx, newGrant("g9", "c1", apiA, at(9)))
		}, storage.ErrAlreadyExists, func(t *testing.T, ctx context.Context, s S) {
			_, err := s.GetGrant(ctx, "g9")
			wantErr(t, "GetGrant(g9)", err, storage.ErrNotFound)
		}},
		{"CreateGrant/ID taken", func(ctx context.Context, s S) error {
			return s.CreateGrant(ctx, newGrant("g1", "c1", apiB, at(9)))
		}, storage.ErrAlreadyExists, func(t *testing.T, ctx context.Context, s S) {
			got := get[[]storage.Grant](t, "ListGrants")(s.ListGrants(ctx, storage.GrantFilter{Audience: apiB}))
			sameGrants(t, "ListGrants(apiB)", got)
		}},
		{"GetGrant/missing", func(ctx context.Context, s S) error {
			_, err := s.GetGrant(ctx, "g9")
			return err
		}, storage.ErrNotFound, nil},
		{"DeleteGrant/missing", func(ctx context.Context, s S) error {
			return s.DeleteGrant(ctx, "g9")
		}, storage.ErrNotFound, nil},

		{"SaveKeys/kid taken", func(ctx context.Context, s S) error {
			return s.SaveKeys(ctx, K{newKey("k1", "ES256", storage.KeyNext, at(9))}, nil)
		}, storage.ErrAlreadyExists, nil},
		{"SaveKeys/second next", func(ctx context.Context, s S) error {
			return s.SaveKeys(ctx, K{newKey("k9", "RS256", storage.KeyNext, at(9))}, nil)
		}, storage.ErrAlreadyExists, nil},
		{"SaveKeys/second current", func(ctx context.Context, s S) error {
			return s.SaveKeys(ctx, K{newKey("k9", "RS256", storage.KeyCurrent, at(9))}, nil)
		}, storage.ErrAlreadyExists, nil},
		{"SaveKeys/promote next without demoting current", func(ctx context.Context, s S) error {
			k2 := newKey("k2", "RS256", storage.KeyCurrent, at(5))
			return s.SaveKeys(ctx, nil, K{k2})
		}, storage.ErrAlreadyExists, nil},
		{"SaveKeys/update missing", func(ctx context.Context, s S) error {
			return s.SaveKeys(ctx, K{newKey("k9", "ES256", storage.KeyNext, at(9))},
				K{newKey("k8", "RS256", storage.KeyRetired, at(9))})
		}, storage.ErrNotFound, nil},
		{"SaveKeys/valid parts with a second next", func(ctx context.Context, s S) error {
			k1 := newKey("k1", "RS256", storage.KeyCurrent, at(0))
			k1.RetireAt = at(99)
			return s.SaveKeys(ctx, K{
				newKey("k9", "ES256", storage.KeyNext, at(9)),
				newKey("k8", "RS256", storage.KeyNext, at(9)),
			}, K{k1})
		}, storage.ErrAlreadyExists, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			s := newStore(t)
			seed(t, ctx, s)
			keys := get[[]storage.SigningKey](t, "ListKeys")(s.ListKeys(ctx))
			seq := latest(t, ctx, s)

			err := tc.call(ctx, s)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			wantChanges(t, ctx, s, "after the failed call", seq)
			// Keys are checked after every case: SaveKeys must be atomic.
			sameKeys(t, "ListKeys after the failed call",
				get[[]storage.SigningKey](t, "ListKeys")(s.ListKeys(ctx)), keys...)
			if tc.after != nil {
				tc.after(t, ctx, s)
			}
		})
	}
}

func testAPIs(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)

	full := newAPI("https://z.example.com/v1")
	full.SigningAlg = "ES256"
	full.TokenDialect = storage.DialectAuth0
	full.TokenLifetime = 30 * 24 * time.Hour
	bare := storage.API{ // no scopes, zero time
		Identifier:    "https://a.example.com/",
		TokenLifetime: time.Second,
		SigningAlg:    "RS256",
		TokenDialect:  storage.DialectRFC9068,
	}
	mid := newAPI("urn:m:api")
	mid.CreatedAt = at(-60)

	seq := latest(t, ctx, s)
	for _, a := range []storage.API{full, bare, mid} {
		must(t, "CreateAPI", s.CreateAPI(ctx, a))
	}
	seq = wantChanges(t, ctx, s, "CreateAPI", seq, apiChange(full.Identifier), apiChange(bare.Identifier), apiChange(mid.Identifier))

	for _, a := range []storage.API{full, bare, mid} {
		got := get[storage.API](t, "GetAPI")(s.GetAPI(ctx, a.Identifier))
		sameAPIs(t, "GetAPI("+a.Identifier+")", []storage.API{got}, a)
	}
	sameAPIs(t, "ListAPIs (by identifier)",
		get[[]storage.API](t, "ListAPIs")(s.ListAPIs(ctx)), bare, full, mid)

	// Update replaces every field but the identifier and the creation time.
	upd := storage.API{Identifier: mid.Identifier, Name: "renamed", Scopes: []storage.Scope{{Value: "new", Description: "d"}},
		TokenLifetime: time.Hour, SigningAlg: "EdDSA", TokenDialect: storage.DialectAuth0, CreatedAt: at(99)}
	must(t, "UpdateAPI", s.UpdateAPI(ctx, upd))
	seq = wantChanges(t, ctx, s, "UpdateAPI", seq, apiChange(mid.Identifier))
	want := upd
	want.CreatedAt = mid.CreatedAt
	sameAPIs(t, "GetAPI after UpdateAPI", []storage.API{get[storage.API](t, "GetAPI")(s.GetAPI(ctx, mid.Identifier))}, want)
	upd.Scopes = nil // to none
	must(t, "UpdateAPI(no scopes)", s.UpdateAPI(ctx, upd))
	seq = wantChanges(t, ctx, s, "UpdateAPI(no scopes)", seq, apiChange(mid.Identifier))
	want.Scopes = nil
	sameAPIs(t, "GetAPI after UpdateAPI(no scopes)", []storage.API{get[storage.API](t, "GetAPI")(s.GetAPI(ctx, mid.Identifier))}, want)
	mid = want

	must(t, "DeleteAPI", s.DeleteAPI(ctx, full.Identifier))
	seq = wantChanges(t, ctx, s, "DeleteAPI", seq, apiChange(full.Identifier))
	_, err := s.GetAPI(ctx, full.Identifier)
	wantErr(t, "GetAPI after DeleteAPI", err, storage.ErrNotFound)
	wantErr(t, "DeleteAPI again", s.DeleteAPI(ctx, full.Identifier), storage.ErrNotFound)
	sameAPIs(t, "ListAPIs after DeleteAPI", get[[]storage.API](t, "ListAPIs")(s.ListAPIs(ctx)), bare, mid)

	// The identifier is free again.
	must(t, "CreateAPI after DeleteAPI", s.CreateAPI(ctx, full))
	wantChanges(t, ctx, s, "CreateAPI again", seq, apiChange(full.Identifier))
}

func testDeleteAPICascades(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	must(t, "CreateAPI", s.CreateAPI(ctx, newAPI(apiA)))
	must(t, "CreateAPI", s.CreateAPI(ctx, newAPI(apiB)))
	for i, id := range []string{"c1", "c2", "c3"} {
		must(t, "CreateClient", s.CreateClient(ctx, newClient(id, at(i))))
	}
	gA1 := newGrant("gA1", "c1", apiA, at(10))
	gA2 := newGrant("gA2", "c2", apiA, at(11))
	gB1 := newGrant("gB1", "c1", apiB, at(12))
	gB3 := newGrant("gB3", "c3", apiB, at(13))
	for _, g := range []storage.Grant{gA1, gA2, gB1, gB3} {
		must(t, "CreateGrant", s.CreateGrant(ctx, g))
	}
	seq := latest(t, ctx, s)

	must(t, "DeleteAPI", s.DeleteAPI(ctx, apiA))
	wantChanges(t, ctx, s, "DeleteAPI", seq, apiChange(apiA), clientChange("c1"), clientChange("c2"))

	for _, id := range []string{"gA1", "gA2"} {
		_, err := s.GetGrant(ctx, id)
		wantErr(t, "GetGrant("+id+") after DeleteAPI", err, storage.ErrNotFound)
	}
	sameGrants(t, "ListGrants(audience A) after DeleteAPI",
		get[[]storage.Grant](t, "ListGrants")(s.ListGrants(ctx, storage.GrantFilter{Audience: apiA})))
	sameGrants(t, "ListGrants after DeleteAPI",
		get[[]storage.Grant](t, "ListGrants")(s.ListGrants(ctx, storage.GrantFilter{})), gB1, gB3)
	// The clients stay.
	if cs := get[[]storage.Client](t, "ListClients")(s.ListClients(ctx)); len(cs) != 3 {
		t.Errorf("ListClients after DeleteAPI: %d clients, want 3", len(cs))
	}
	// A recreated API has no grants, and a grant for it can be created again.
	must(t, "CreateAPI again", s.CreateAPI(ctx, newAPI(apiA)))
	sameGrants(t, "ListGrants(audience A) after recreating the API",
		get[[]storage.Grant](t, "ListGrants")(s.ListGrants(ctx, storage.GrantFilter{Audience: apiA})))
	must(t, "CreateGrant again", s.CreateGrant(ctx, gA1))
}

func testClients(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)

	full := newClient("cB", at(2))
	full.GrantTypes = []string{storage.GrantClientCredentials, "authorization_code"}
	full.Disabled = true
	full.UpdatedAt = at(3)
	full.Metadata = map[string]string{"team": "payments", "empty": "", "ünï": "çødé \"quoted\""}
	full.TokenEndpointAuthMethod = storage.AuthMethodClientSecretBasic
	bare := storage.Client{ClientID: "cZ", AppType: storage.AppTypeNonInteractive} // zero times, no grant types
	first := newClient("cA", at(1))
	last := newClient("c0", at(5))
	sec := newSecret("sA", "cA", at(1))
	sec.NotBefore, sec.ExpiresAt = at(10), at(20)
	sec2 := newSecret("sA2", "cA", at(1).Add(time.Second))

	seq := latest(t, ctx, s)
	must(t, "CreateClient", s.CreateClient(ctx, full))
	must(t, "CreateClient", s.CreateClient(ctx, first, sec, sec2))
	must(t, "CreateClient", s.CreateClient(ctx, last))
	seq = wantChanges(t, ctx, s, "CreateClient", seq, clientChange("cB"), clientChange("cA"), clientChange("c0"))

	for _, c := range []storage.Client{full, first, last} {
		got := get[storage.Client](t, "GetClient")(s.GetClient(ctx, c.ClientID))
		sameClients(t, "GetClient("+c.ClientID+")", []storage.Client{got}, c)
	}
	sameClients(t, "ListClients (by creation time)",
		get[[]storage.Client](t, "ListClients")(s.ListClients(ctx)), first, full, last)
	sameSecrets(t, "ListSecrets of a client created with secrets",
		get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, "cA")), sec, sec2)

	// A client without times or lists. Where a zero creation time sorts in
	// ListClients is not pinned down: listClients leaves it out.
	must(t, "CreateClient(bare)", s.CreateClient(ctx, bare))
	seq = wantChanges(t, ctx, s, "CreateClient(bare)", seq, clientChange(bare.ClientID))
	got := get[storage.Client](t, "GetClient")(s.GetClient(ctx, bare.ClientID))
	sameClients(t, "GetClient(bare)", []storage.Client{got}, bare)
	sameSecrets(t, "ListSecrets of a client without secrets",
		get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, bare.ClientID)))
	listClients := func() []storage.Client {
		t.Helper()
		all := get[[]storage.Client](t, "ListClients")(s.ListClients(ctx))
		if !slices.ContainsFunc(all, func(c storage.Client) bool { return c.ClientID == bare.ClientID }) {
			t.Errorf("ListClients does not list the client %s", bare.ClientID)
		}
		return slices.DeleteFunc(all, func(c storage.Client) bool { return c.ClientID == bare.ClientID })
	}
	sameClients(t, "ListClients with a zero creation time", listClients(), first, full, last)

	// Disable and enable.
	must(t, "SetClientDisabled(true)", s.SetClientDisabled(ctx, "cA", true, at(30)))
	want := first
	want.Disabled, want.UpdatedAt = true, at(30)
	got = get[storage.Client](t, "GetClient")(s.GetClient(ctx, "cA"))
	sameClients(t, "GetClient after disable", []storage.Client{got}, want)
	seq = wantChanges(t, ctx, s, "SetClientDisabled(true)", seq, clientChange("cA"))

	must(t, "SetClientDisabled(false)", s.SetClientDisabled(ctx, "cA", false, at(31)))
	want.Disabled, want.UpdatedAt = false, at(31)
	got = get[storage.Client](t, "GetClient")(s.GetClient(ctx, "cA"))
	sameClients(t, "GetClient after enable", []storage.Client{got}, want)
	seq = wantChanges(t, ctx, s, "SetClientDisabled(false)", seq, clientChange("cA"))

	// Update replaces every field but the ID and the creation time, and
	// leaves the client's secrets alone.
	upd := storage.Client{
		ClientID: "cA", Name: "renamed", Description: "", AppType: "regular_web",
		GrantTypes: []string{"authorization_code"}, Metadata: map[string]string{"k": "v"},
		TokenEndpointAuthMethod: storage.AuthMethodClientSecretBasic, Disabled: true,
		CreatedAt: at(99), UpdatedAt: at(32),
	}
	must(t, "UpdateClient", s.UpdateClient(ctx, upd))
	want = upd
	want.CreatedAt = first.CreatedAt
	got = get[storage.Client](t, "GetClient")(s.GetClient(ctx, "cA"))
	sameClients(t, "GetClient after UpdateClient", []storage.Client{got}, want)
	seq = wantChanges(t, ctx, s, "UpdateClient", seq, clientChange("cA"))
	sameSecrets(t, "ListSecrets after UpdateClient",
		get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, "cA")), sec, sec2)
	// And back: no metadata, the default method.
	back := want
	back.Metadata, back.TokenEndpointAuthMethod, back.UpdatedAt = nil, "", at(33)
	must(t, "UpdateClient(back)", s.UpdateClient(ctx, back))
	got = get[storage.Client](t, "GetClient")(s.GetClient(ctx, "cA"))
	if got.Metadata != nil || got.TokenEndpointAuthMethod != storage.AuthMethodClientSecretPost {
		t.Errorf("GetClient after clearing: metadata %v, method %q; want none and %q", got.Metadata, got.TokenEndpointAuthMethod, storage.AuthMethodClientSecretPost)
	}
	want = back
	seq = wantChanges(t, ctx, s, "UpdateClient(back)", seq, clientChange("cA"))

	// Delete.
	must(t, "DeleteClient", s.DeleteClient(ctx, "cB"))
	wantChanges(t, ctx, s, "DeleteClient", seq, clientChange("cB"))
	_, err := s.GetClient(ctx, "cB")
	wantErr(t, "GetClient after DeleteClient", err, storage.ErrNotFound)
	wantErr(t, "DeleteClient again", s.DeleteClient(ctx, "cB"), storage.ErrNotFound)
	sameClients(t, "ListClients after DeleteClient", listClients(), want, last)
}
