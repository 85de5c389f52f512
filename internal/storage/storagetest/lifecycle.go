package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func testDeleteClientCascades(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	must(t, "CreateAPI", s.CreateAPI(ctx, newAPI(apiA)))
	must(t, "CreateAPI", s.CreateAPI(ctx, newAPI(apiB)))
	must(t, "CreateClient", s.CreateClient(ctx, newClient("c1", at(1)), newSecret("s1", "c1", at(1))))
	must(t, "AddSecret", s.AddSecret(ctx, newSecret("s2", "c1", at(2))))
	must(t, "CreateClient", s.CreateClient(ctx, newClient("c2", at(3)), newSecret("s3", "c2", at(3))))
	g3 := newGrant("g3", "c2", apiA, at(6))
	for _, g := range []storage.Grant{newGrant("g1", "c1", apiA, at(4)), newGrant("g2", "c1", apiB, at(5)), g3} {
		must(t, "CreateGrant", s.CreateGrant(ctx, g))
	}
	seq := latest(t, ctx, s)

	must(t, "DeleteClient", s.DeleteClient(ctx, "c1"))
	wantChanges(t, ctx, s, "DeleteClient", seq, clientChange("c1"))

	_, err := s.ListSecrets(ctx, "c1")
	wantErr(t, "ListSecrets after DeleteClient", err, storage.ErrNotFound)
	for _, id := range []string{"g1", "g2"} {
		_, err := s.GetGrant(ctx, id)
		wantErr(t, "GetGrant("+id+") after DeleteClient", err, storage.ErrNotFound)
	}
	sameGrants(t, "ListGrants(client c1) after DeleteClient",
		get[[]storage.Grant](t, "ListGrants")(s.ListGrants(ctx, storage.GrantFilter{ClientID: "c1"})))
	sameGrants(t, "ListGrants after DeleteClient",
		get[[]storage.Grant](t, "ListGrants")(s.ListGrants(ctx, storage.GrantFilter{})), g3)
	sameSecrets(t, "ListSecrets(c2) after DeleteClient(c1)",
		get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, "c2")), newSecret("s3", "c2", at(3)))
	sameSecrets(t, "ListAllSecrets after DeleteClient(c1)",
		get[[]storage.Secret](t, "ListAllSecrets")(s.ListAllSecrets(ctx)), newSecret("s3", "c2", at(3)))

	// No rows survive: a client recreated with the same ID starts empty, and
	// the IDs of the deleted secrets and grants are free again.
	must(t, "CreateClient again", s.CreateClient(ctx, newClient("c1", at(7))))
	sameSecrets(t, "ListSecrets of the recreated client",
		get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, "c1")))
	sameGrants(t, "ListGrants of the recreated client",
		get[[]storage.Grant](t, "ListGrants")(s.ListGrants(ctx, storage.GrantFilter{ClientID: "c1"})))
	must(t, "AddSecret with a deleted secret's ID", s.AddSecret(ctx, newSecret("s1", "c2", at(8))))
	must(t, "CreateGrant with a deleted grant's ID", s.CreateGrant(ctx, newGrant("g1", "c2", apiB, at(9))))
}

func testSecrets(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	must(t, "CreateClient", s.CreateClient(ctx, newClient("c1", at(0)), newSecret("s0", "c1", at(0))))
	must(t, "CreateClient", s.CreateClient(ctx, newClient("c2", at(0))))
	seq := latest(t, ctx, s)

	s0 := newSecret("s0", "c1", at(0))
	full := newSecret("s-full", "c1", at(20)) // every time set, in a zone
	full.NotBefore, full.ExpiresAt, full.LastUsedAt = at(25), at(60*24*90), at(21)
	early := newSecret("s-early", "c1", at(10)) // added later, created earlier
	bare := storage.Secret{ID: "s-bare", ClientID: "c2", HashAlg: storage.SecretHashSHA256, Hash: []byte{0}}
	other := newSecret("s-other", "c2", at(5))

	for _, sec := range []storage.Secret{full, early, bare, other} {
		must(t, "AddSecret", s.AddSecret(ctx, sec))
	}
	seq = wantChanges(t, ctx, s, "AddSecret", seq,
		clientChange("c1"), clientChange("c1"), clientChange("c2"), clientChange("c2"))

	sameSecrets(t, "ListSecrets(c1) (by creation time)",
		get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, "c1")), s0, early, full)
	// bare has a zero creation time: only check it round-trips.
	got := get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, "c2"))
	var gotBare []storage.Secret
	for _, sec := range got {
		if sec.ID == bare.ID {
			gotBare = append(gotBare, sec)
		}
	}
	sameSecrets(t, "ListSecrets(c2): the secret without times", gotBare, bare)
	if len(got) != 2 {
		t.Errorf("ListSecrets(c2): %d secrets, want 2", len(got))
	}

	must(t, "DeleteSecret", s.DeleteSecret(ctx, "c1", "s-early"))
	wantChanges(t, ctx, s, "DeleteSecret", seq, clientChange("c1"))
	sameSecrets(t, "ListSecrets(c1) after DeleteSecret",
		get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, "c1")), s0, full)
	wantErr(t, "DeleteSecret again", s.DeleteSecret(ctx, "c1", "s-early"), storage.ErrNotFound)

	// ListAllSecrets: every client's, grouped by client ID in order, each
	// client's by creation time (bare's zero time may sort either end).
	all := get[[]storage.Secret](t, "ListAllSecrets")(s.ListAllSecrets(ctx))
	byClient := map[string][]storage.Secret{}
	for i, sec := range all {
		if i > 0 && sec.ClientID < all[i-1].ClientID {
			t.Errorf("ListAllSecrets: client %q after %q", sec.ClientID, all[i-1].ClientID)
		}
		byClient[sec.ClientID] = append(byClient[sec.ClientID], sec)
	}
	sameSecrets(t, "ListAllSecrets: c1's", byClient["c1"], s0, full)
	c2 := byClient["c2"]
	if len(c2) == 2 && c2[0].ID == bare.ID {
		c2 = []storage.Secret{c2[1], c2[0]}
	}
	sameSecrets(t, "ListAllSecrets: c2's", c2, other, bare)
	if len(byClient) != 2 {
		t.Errorf("ListAllSecrets: secrets of %d clients, want 2", len(byClient))
	}
}

func testRotateSecret(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	capAt := at(60)

	open := newSecret("s-open", "c1", at(1)) // no expiry: capped
	later := newSecret("s-later", "c1", at(2))
	later.ExpiresAt = at(120) // expires after the cap: capped
	earlier := newSecret("s-earlier", "c1", at(3))
	earlier.ExpiresAt = at(30) // expires before the cap: kept
	equal := newSecret("s-equal", "c1", at(4))
	equal.ExpiresAt = capAt // expires at the cap: kept
	pending := newSecret("s-pending", "c1", at(5))
	pending.NotBefore = at(180)                    // not active yet, no expiry: capped
	foreign := newSecret("s-foreign", "c2", at(6)) // another client's: kept

	must(t, "CreateClient", s.CreateClient(ctx, newClient("c1", at(0)), open, later, earlier, equal, pending))
	must(t, "CreateClient", s.CreateClient(ctx, newClient("c2", at(0)), foreign))
	seq := latest(t, ctx, s)

	// The new secret itself keeps its own expiry, later than the cap.
	fresh := newSecret("s-fresh", "c1", at(10))
	fresh.ExpiresAt = at(60 * 24 * 365)
	must(t, "RotateSecret", s.RotateSecret(ctx, fresh, capAt.In(time.UTC)))
	wantChanges(t, ctx, s, "RotateSecret", seq, clientChange("c1"))

	capped := func(sec storage.Secret) storage.Secret { sec.ExpiresAt = capAt; return sec }
	sameSecrets(t, "ListSecrets(c1) after RotateSecret",
		get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, "c1")),
		capped(open), capped(later), earlier, equal, capped(pending), fresh)
	sameSecrets(t, "ListSecrets(c2) after RotateSecret(c1)",
		get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, "c2")), foreign)

	// A second rotation caps the first one's secret.
	fresh2 := newSecret("s-fresh2", "c1", at(70))
	must(t, "RotateSecret again", s.RotateSecret(ctx, fresh2, at(90)))
	sameSecrets(t, "ListSecrets(c1) after the second RotateSecret",
		get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, "c1")),
		capped(open), capped(later), earlier, equal, capped(pending),
		func() storage.Secret { f := fresh; f.ExpiresAt = at(90); return f }(), fresh2)
}

func testTouchSecrets(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	s1, s2 := newSecret("s1", "c1", at(0)), newSecret("s2", "c1", at(1))
	must(t, "CreateClient", s.CreateClient(ctx, newClient("c1", at(0)), s1, s2))
	seq := latest(t, ctx, s)

	steps := []struct {
		name  string
		touch map[string]time.Time
		want  time.Time // s1's LastUsedAt afterwards
	}{
		{"first use, with an unknown ID", map[string]time.Time{"s1": at(10), "unknown": at(10)}, at(10)},
		{"a later use", map[string]time.Time{"s1": at(20)}, at(20)},
		{"an earlier use does not go back", map[string]time.Time{"s1": at(15)}, at(20)},
		{"a zero time is ignored", map[string]time.Time{"s1": {}}, at(20)},
		{"only unknown IDs", map[string]time.Time{"nope": at(99)}, at(20)},
		{"nothing", map[string]time.Time{}, at(20)},
	}
	for _, st := range steps {
		must(t, "TouchSecrets: "+st.name, s.TouchSecrets(ctx, st.touch))
		w1 := s1
		w1.LastUsedAt = st.want
		sameSecrets(t, "ListSecrets after TouchSecrets: "+st.name,
			get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, "c1")), w1, s2)
	}
	wantChanges(t, ctx, s, "TouchSecrets appends no change", seq)

	// A large batch (backends may split it), over secrets of which half
	// were used later than the batch says: those keep their time.
	const n = 1234
	many := make([]storage.Secret, n)
	touch := map[string]time.Time{"unknown": at(50)}
	for i := range many {
		many[i] = newSecret(fmt.Sprintf("m%04d", i), "c2", at(1))
		if i%2 == 1 {
			many[i].LastUsedAt = at(60)
		}
		touch[many[i].ID] = at(30 + i%7)
	}
	must(t, "CreateClient with many secrets", s.CreateClient(ctx, newClient("c2", at(0)), many...))
	must(t, "TouchSecrets: a large batch", s.TouchSecrets(ctx, touch))
	want := make([]storage.Secret, n)
	for i, sec := range many {
		if i%2 == 0 {
			sec.LastUsedAt = at(30 + i%7)
		}
		want[i] = sec
	}
	got := get[[]storage.Secret](t, "ListSecrets")(s.ListSecrets(ctx, "c2"))
	slices.SortFunc(got, func(a, b storage.Secret) int { return strings.Compare(a.ID, b.ID) })
	sameSecrets(t, "ListSecrets after a large TouchSecrets", got, want...)
}

func testGrants(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	must(t, "CreateAPI", s.CreateAPI(ctx, newAPI(apiA)))
	must(t, "CreateAPI", s.CreateAPI(ctx, newAPI(apiB)))
	must(t, "CreateClient", s.CreateClient(ctx, newClient("c1", at(0))))
	must(t, "CreateClient", s.CreateClient(ctx, newClient("c2", at(0))))
	seq := latest(t, ctx, s)

	g1 := newGrant("g1", "c1", apiA, at(3))
	g1.Scope = []string{"read:things", "write:things"}
	g2 := newGrant("g2", "c1", apiB, at(1))
	g2.Scope = nil // a grant without scopes
	g3 := newGrant("g3", "c2", apiA, at(2))
	for _, g := range []storage.Grant{g1, g2, g3} {
		must(t, "CreateGrant", s.CreateGrant(ctx, g))
	}
	seq = wantChanges(t, ctx, s, "CreateGrant", seq, clientChange("c1"), clientChange("c1"), clientChange("c2"))

	for _, g := range []storage.Grant{g1, g2, g3} {
		got := get[storage.Grant](t, "GetGrant")(s.GetGrant(ctx, g.ID))
		sameGrants(t, "GetGrant("+g.ID+")", []storage.Grant{got}, g)
	}
	filters := []struct {
		f    storage.GrantFilter
		want []storage.Grant
	}{
		{storage.GrantFilter{}, []storage.Grant{g2, g3, g1}},
		{storage.GrantFilter{ClientID: "c1"}, []storage.Grant{g2, g1}},
		{storage.GrantFilter{Audience: apiA}, []storage.Grant{g3, g1}},
		{storage.GrantFilter{ClientID: "c1", Audience: apiA}, []storage.Grant{g1}},
		{storage.GrantFilter{ClientID: "c2", Audience: apiB}, nil},
		{storage.GrantFilter{ClientID: "nobody"}, nil},
	}
	for _, tc := range filters {
		got := get[[]storage.Grant](t, "ListGrants")(s.ListGrants(ctx, tc.f))
		sameGrants(t, "ListGrants("+tc.f.ClientID+"|"+tc.f.Audience+")", got, tc.want...)
	}

	// Update replaces the scope only.
	must(t, "UpdateGrant", s.UpdateGrant(ctx, "g3", []string{"only"}))
	seq = wantChanges(t, ctx, s, "UpdateGrant", seq, clientChange("c2"))
	g3.Scope = []string{"only"}
	sameGrants(t, "GetGrant after UpdateGrant", []storage.Grant{get[storage.Grant](t, "GetGrant")(s.GetGrant(ctx, "g3"))}, g3)
	must(t, "UpdateGrant(none)", s.UpdateGrant(ctx, "g3", nil))
	seq = wantChanges(t, ctx, s, "UpdateGrant(none)", seq, clientChange("c2"))
	g3.Scope = nil
	sameGrants(t, "GetGrant after UpdateGrant(none)", []storage.Grant{get[storage.Grant](t, "GetGrant")(s.GetGrant(ctx, "g3"))}, g3)

	must(t, "DeleteGrant", s.DeleteGrant(ctx, "g1"))
	wantChanges(t, ctx, s, "DeleteGrant", seq, clientChange("c1"))
	_, err := s.GetGrant(ctx, "g1")
	wantErr(t, "GetGrant after DeleteGrant", err, storage.ErrNotFound)
	wantErr(t, "DeleteGrant again", s.DeleteGrant(ctx, "g1"), storage.ErrNotFound)
	sameGrants(t, "ListGrants(c1) after DeleteGrant",
		get[[]storage.Grant](t, "ListGrants")(s.ListGrants(ctx, storage.GrantFilter{ClientID: "c1"})), g2)
	// The client may be granted the API again.
	must(t, "CreateGrant after DeleteGrant", s.CreateGrant(ctx, newGrant("g4", "c1", apiA, at(4))))
}

func testKeys(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	rsCur := newKey("rs-cur", "RS256", storage.KeyCurrent, at(0))
	rsNext := newKey("rs-next", "RS256", storage.KeyNext, at(10))
	rsPrev1 := newKey("rs-prev1", "RS256", storage.KeyPrevious, at(-10))
	rsPrev2 := newKey("rs-prev2", "RS256", storage.KeyPrevious, at(-5)) // several previous keys are fine
	rsOld := newKey("rs-old", "RS256", storage.KeyRetired, at(-20))
	esCur := newKey("es-cur", "ES256", storage.KeyCurrent, at(1)) // one current per algorithm
	esNext := newKey("es-next", "ES256", storage.KeyNext, at(11))
	edCur := newKey("ed-cur", "EdDSA", storage.KeyCurrent, at(2))
	edCur.PrivateKey = nil // may be empty

	seq := latest(t, ctx, s)
	must(t, "SaveKeys", s.SaveKeys(ctx, []storage.SigningKey{rsCur, rsNext, rsPrev1, rsPrev2, rsOld, esCur, esNext, edCur}, nil))
	wantChanges(t, ctx, s, "SaveKeys", seq,
		keyChange("rs-cur"), keyChange("rs-next"), keyChange("rs-prev1"), keyChange("rs-prev2"),
		keyChange("rs-old"), keyChange("es-cur"), keyChange("es-next"), keyChange("ed-cur"))
	sameKeys(t, "ListKeys (by creation time)", get[[]storage.SigningKey](t, "ListKeys")(s.ListKeys(ctx)),
		rsOld, rsPrev1, rsPrev2, rsCur, esCur, edCur, rsNext, esNext)
}

func testKeyRotation(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	type K = []storage.SigningKey
	ctx := t.Context()
	s := newStore(t)
	cur := newKey("k-cur", "RS256", storage.KeyCurrent, at(0))
	next := newKey("k-next", "RS256", storage.KeyNext, at(10))
	es := newKey("k-es", "ES256", storage.KeyCurrent, at(5))
	must(t, "SaveKeys", s.SaveKeys(ctx, K{cur, next, es}, nil))
	seq := latest(t, ctx, s)

	// A rotation as gatehouse does it: next → current, current → previous,
	// and a new next. The updates are listed promotion first: the backend
	// must not depend on their order.
	rotate := func(newKID string) (create, update K) {
		promoted := next
		promoted.State, promoted.ActivatedAt = storage.KeyCurrent, at(100)
		demoted := cur
		demoted.State, demoted.RetireAt = storage.KeyPrevious, at(100+24*60)
		return K{newKey(newKID, "RS256", storage.KeyNext, at(100))}, K{promoted, demoted}
	}
	create, update := rotate("k-new")
	must(t, "SaveKeys(rotation)", s.SaveKeys(ctx, create, update))
	seq = wantChanges(t, ctx, s, "SaveKeys(rotation)", seq, keyChange("k-cur"), keyChange("k-next"), keyChange("k-new"))
	after := get[[]storage.SigningKey](t, "ListKeys")(s.ListKeys(ctx))
	sameKeys(t, "ListKeys after the rotation", after, update[1], es, update[0], create[0])

	// Another process computed the same rotation from the same state and
	// commits second: it must lose, and change nothing.
	create, update = rotate("k-racer")
	err := s.SaveKeys(ctx, create, update)
	if !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("SaveKeys(the losing rotation): error %v, want %v", err, storage.ErrAlreadyExists)
	}
	wantChanges(t, ctx, s, "SaveKeys(the losing rotation)", seq)
	sameKeys(t, "ListKeys after the losing rotation",
		get[[]storage.SigningKey](t, "ListKeys")(s.ListKeys(ctx)), after...)

	// Retiring a previous key.
	retired := update[1]
	retired.State = storage.KeyRetired
	must(t, "SaveKeys(retire)", s.SaveKeys(ctx, nil, K{retired}))
	wantChanges(t, ctx, s, "SaveKeys(retire)", seq, keyChange("k-cur"))
}
