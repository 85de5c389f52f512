package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func newUser(id, email string, created int) storage.User {
	return storage.User{
		UserID:       id,
		Email:        email,
		Name:         "User " + id,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$" + id,
		CreatedAt:    at(created),
		UpdatedAt:    at(created),
	}
}

func normUser(u storage.User) storage.User {
	u.CreatedAt, u.UpdatedAt = normTime(u.CreatedAt), normTime(u.UpdatedAt)
	return u
}

func sameUsers(t *testing.T, what string, got []storage.User, want ...storage.User) {
	t.Helper()
	same(t, what, got, want, normUser, func(u storage.User) []time.Time { return []time.Time{u.CreatedAt, u.UpdatedAt} })
}

// testUsers checks the user store: round trips, case-insensitive unique
// emails, order, updates, the sentinels, and that user writes stay out of
// the change feed.
func testUsers(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)

	if v := get[[]storage.User](t, "ListUsers")(s.ListUsers(ctx)); len(v) != 0 {
		t.Errorf("ListUsers of an empty store = %v, want none", v)
	}
	_, err := s.GetUser(ctx, "u1")
	wantErr(t, "GetUser of a missing user", err, storage.ErrNotFound)
	_, err = s.GetUserByEmail(ctx, "nobody@example.com")
	wantErr(t, "GetUserByEmail of a missing email", err, storage.ErrNotFound)
	wantErr(t, "UpdateUser of a missing user", s.UpdateUser(ctx, newUser("u1", "a@example.com", 1)), storage.ErrNotFound)

	seq := latest(t, ctx, s)
	alice := newUser("u2", "Alice@Example.com", 1)
	alice.EmailVerified = true
	bob := newUser("u1", "bob@example.com", 2)
	bob.Disabled = true
	anne := newUser("u3", "ÄNNE@Example.com", 3)
	anne.Name = "Änne \"quoted\" <b>"
	for _, u := range []storage.User{alice, bob, anne} {
		must(t, "CreateUser("+u.UserID+")", s.CreateUser(ctx, u))
	}
	if n := latest(t, ctx, s); n != seq {
		t.Errorf("LatestChange after CreateUser = %d, want %d: user writes are not in the change feed", n, seq)
	}
	for _, u := range []storage.User{alice, bob, anne} {
		sameUsers(t, "GetUser("+u.UserID+")", []storage.User{get[storage.User](t, "GetUser")(s.GetUser(ctx, u.UserID))}, u)
	}
	for _, tc := range []struct {
		email string
		want  storage.User
	}{
		{"Alice@Example.com", alice},
		{"alice@example.com", alice},
		{"ALICE@EXAMPLE.COM", alice},
		{"BOB@example.com", bob},
		{"änne@example.com", anne},
	} {
		got := get[storage.User](t, "GetUserByEmail("+tc.email+")")(s.GetUserByEmail(ctx, tc.email))
		sameUsers(t, "GetUserByEmail("+tc.email+")", []storage.User{got}, tc.want)
	}
	_, err = s.GetUserByEmail(ctx, "alice@example.co")
	wantErr(t, "GetUserByEmail of a prefix", err, storage.ErrNotFound)
	sameUsers(t, "ListUsers (by creation time)", get[[]storage.User](t, "ListUsers")(s.ListUsers(ctx)), alice, bob, anne)

	// Taken IDs and emails, whatever their case, are refused and change nothing.
	for _, tc := range []struct {
		name string
		u    storage.User
	}{
		{"ID taken", newUser("u1", "carol@example.com", 4)},
		{"email taken", newUser("u9", "Alice@Example.com", 4)},
		{"email taken in another case", newUser("u9", "aLiCe@eXaMpLe.CoM", 4)},
	} {
		wantErr(t, "CreateUser/"+tc.name, s.CreateUser(ctx, tc.u), storage.ErrAlreadyExists)
	}
	sameUsers(t, "ListUsers after refused creations", get[[]storage.User](t, "ListUsers")(s.ListUsers(ctx)), alice, bob, anne)

	// Update replaces every field but the ID and the creation time.
	upd := storage.User{
		UserID: "u2", Email: "alice.new@example.com", Name: "Alice N.", PasswordHash: "$argon2id$new",
		EmailVerified: false, Disabled: true, CreatedAt: at(99), UpdatedAt: at(10),
	}
	must(t, "UpdateUser", s.UpdateUser(ctx, upd))
	want := upd
	want.CreatedAt = alice.CreatedAt
	sameUsers(t, "GetUser after UpdateUser", []storage.User{get[storage.User](t, "GetUser")(s.GetUser(ctx, "u2"))}, want)
	_, err = s.GetUserByEmail(ctx, "alice@example.com")
	wantErr(t, "GetUserByEmail of the old email", err, storage.ErrNotFound)
	sameUsers(t, "GetUserByEmail of the new email",
		[]storage.User{get[storage.User](t, "GetUserByEmail")(s.GetUserByEmail(ctx, "ALICE.NEW@example.com"))}, want)
	// The old email is free again; a user may change the case of its own.
	must(t, "CreateUser with a freed email", s.CreateUser(ctx, newUser("u4", "alice@example.com", 5)))
	self := want
	self.Email, self.UpdatedAt = "Alice.New@Example.com", at(11)
	must(t, "UpdateUser to its own email in another case", s.UpdateUser(ctx, self))
	// Another user's email is refused, and nothing changes.
	steal := self
	steal.Email, steal.Name = "BOB@EXAMPLE.COM", "thief"
	wantErr(t, "UpdateUser to another user's email", s.UpdateUser(ctx, steal), storage.ErrAlreadyExists)
	sameUsers(t, "GetUser after a refused update", []storage.User{get[storage.User](t, "GetUser")(s.GetUser(ctx, "u2"))}, self)
	if n := latest(t, ctx, s); n != seq {
		t.Errorf("LatestChange after UpdateUser = %d, want %d", n, seq)
	}
}

// testLoginClients checks the login settings of a client: redirect URIs
// and logout URLs keep their order and exact spelling, and the first-party
// flag round trips through create and update.
func testLoginClients(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)

	web := newClient("cW", at(1))
	web.AppType = storage.AppTypeRegularWeb
	web.GrantTypes = []string{storage.GrantAuthorizationCode, storage.GrantRefreshToken}
	web.RedirectURIs = []string{"https://app.example.com/callback", "http://127.0.0.1:8081/cb?x=1&y=%20", "com.example.app:/oauth"}
	web.AllowedLogoutURLs = []string{"https://app.example.com/", "https://app.example.com/bye"}
	web.FirstParty = true
	spa := newClient("cS", at(2))
	spa.AppType = storage.AppTypeSPA
	spa.TokenEndpointAuthMethod = storage.AuthMethodNone
	spa.RedirectURIs = []string{"https://spa.example.com/"}
	m2m := newClient("cM", at(3)) // no login settings at all

	for _, c := range []storage.Client{web, spa, m2m} {
		must(t, "CreateClient("+c.ClientID+")", s.CreateClient(ctx, c))
		sameClients(t, "GetClient("+c.ClientID+")", []storage.Client{get[storage.Client](t, "GetClient")(s.GetClient(ctx, c.ClientID))}, c)
	}
	sameClients(t, "ListClients", get[[]storage.Client](t, "ListClients")(s.ListClients(ctx)), web, spa, m2m)

	upd := web
	upd.RedirectURIs = []string{"https://app.example.com/callback2"}
	upd.AllowedLogoutURLs = nil
	upd.FirstParty = false
	upd.UpdatedAt = at(9)
	must(t, "UpdateClient", s.UpdateClient(ctx, upd))
	sameClients(t, "GetClient after UpdateClient", []storage.Client{get[storage.Client](t, "GetClient")(s.GetClient(ctx, "cW"))}, upd)
	// SetClientDisabled leaves the login settings alone.
	must(t, "SetClientDisabled", s.SetClientDisabled(ctx, "cS", true, at(10)))
	spa.Disabled, spa.UpdatedAt = true, at(10)
	sameClients(t, "GetClient after SetClientDisabled", []storage.Client{get[storage.Client](t, "GetClient")(s.GetClient(ctx, "cS"))}, spa)
}

// testAPIFlags: each of an API's switches (allow_offline_access,
// token_reuse) round trips through create, update and list on its own, and
// defaults to false.
func testAPIFlags(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	for _, flag := range []struct {
		name string
		set  func(*storage.API, bool)
	}{
		{"allow_offline_access", func(a *storage.API, v bool) { a.AllowOfflineAccess = v }},
		{"token_reuse", func(a *storage.API, v bool) { a.TokenReuse = v }},
	} {
		t.Run(flag.name, func(t *testing.T) {
			ctx := t.Context()
			s := newStore(t)
			on, off := newAPI(apiA), newAPI(apiB)
			flag.set(&on, true)
			must(t, "CreateAPI", s.CreateAPI(ctx, on))
			must(t, "CreateAPI", s.CreateAPI(ctx, off))
			sameAPIs(t, "ListAPIs", get[[]storage.API](t, "ListAPIs")(s.ListAPIs(ctx)), on, off)
			flag.set(&on, false)
			flag.set(&off, true)
			must(t, "UpdateAPI", s.UpdateAPI(ctx, on))
			must(t, "UpdateAPI", s.UpdateAPI(ctx, off))
			sameAPIs(t, "GetAPI after update", []storage.API{get[storage.API](t, "GetAPI")(s.GetAPI(ctx, apiA))}, on)
			sameAPIs(t, "GetAPI after update", []storage.API{get[storage.API](t, "GetAPI")(s.GetAPI(ctx, apiB))}, off)
		})
	}
}

// testClientWebOrigins: a client's web origins (CORS) round trip through
// create, update and list, are nil when none were given, and are left alone
// by SetClientDisabled.
func testClientWebOrigins(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	spa := newClient("cO", at(1))
	spa.AppType = storage.AppTypeSPA
	spa.TokenEndpointAuthMethod = storage.AuthMethodNone
	spa.RedirectURIs = []string{"https://spa.example.com/cb"}
	spa.WebOrigins = []string{"https://spa.example.com", "http://127.0.0.1:5173"}
	none := newClient("cN", at(2))
	for _, c := range []storage.Client{spa, none} {
		must(t, "CreateClient("+c.ClientID+")", s.CreateClient(ctx, c))
	}
	got := get[storage.Client](t, "GetClient")(s.GetClient(ctx, "cO"))
	if !slices.Equal(got.WebOrigins, spa.WebOrigins) {
		t.Errorf("web origins %q, want %q", got.WebOrigins, spa.WebOrigins)
	}
	if got := get[storage.Client](t, "GetClient")(s.GetClient(ctx, "cN")); len(got.WebOrigins) != 0 {
		t.Errorf("a client created without web origins has %q", got.WebOrigins)
	}
	sameClients(t, "ListClients", get[[]storage.Client](t, "ListClients")(s.ListClients(ctx)), spa, none)
	upd := spa
	upd.WebOrigins, upd.UpdatedAt = []string{"https://new.example.com:8443"}, at(5)
	must(t, "UpdateClient", s.UpdateClient(ctx, upd))
	must(t, "SetClientDisabled", s.SetClientDisabled(ctx, "cO", true, at(6)))
	upd.Disabled, upd.UpdatedAt = true, at(6)
	sameClients(t, "GetClient after UpdateClient and SetClientDisabled", []storage.Client{get[storage.Client](t, "GetClient")(s.GetClient(ctx, "cO"))}, upd)
	upd.WebOrigins = nil
	must(t, "UpdateClient to none", s.UpdateClient(ctx, upd))
	if got := get[storage.Client](t, "GetClient")(s.GetClient(ctx, "cO")); len(got.WebOrigins) != 0 {
		t.Errorf("web origins after clearing them: %q", got.WebOrigins)
	}
}
