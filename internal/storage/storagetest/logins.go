package storagetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// seedLogin stores a user u1 and a login client cW for the login tests.
func seedLogin(t *testing.T, ctx context.Context, s storage.Storage) {
	t.Helper()
	must(t, "CreateUser", s.CreateUser(ctx, newUser("u1", "u1@example.com", 0)))
	c := newClient("cW", at(0))
	c.AppType, c.GrantTypes, c.RedirectURIs = storage.AppTypeRegularWeb, []string{storage.GrantAuthorizationCode}, []string{"https://app.example.com/cb"}
	must(t, "CreateClient", s.CreateClient(ctx, c))
}

func normSession(s storage.LoginSession) storage.LoginSession {
	s.AuthTime, s.CreatedAt, s.ExpiresAt = normTime(s.AuthTime), normTime(s.CreatedAt), normTime(s.ExpiresAt)
	return s
}

func normCode(c storage.AuthCode) storage.AuthCode {
	c.AuthTime, c.CreatedAt, c.ExpiresAt, c.UsedAt = normTime(c.AuthTime), normTime(c.CreatedAt), normTime(c.ExpiresAt), normTime(c.UsedAt)
	c.Scope = nilIfEmpty(c.Scope)
	return c
}

func normConsent(c storage.Consent) storage.Consent {
	c.CreatedAt, c.UpdatedAt = normTime(c.CreatedAt), normTime(c.UpdatedAt)
	c.Scope = nilIfEmpty(c.Scope)
	return c
}

func normFamily(f storage.RefreshFamily) storage.RefreshFamily {
	f.AuthTime, f.CreatedAt, f.ExpiresAt, f.RevokedAt = normTime(f.AuthTime), normTime(f.CreatedAt), normTime(f.ExpiresAt), normTime(f.RevokedAt)
	f.Scope = nilIfEmpty(f.Scope)
	return f
}

func normRefresh(r storage.RefreshToken) storage.RefreshToken {
	r.CreatedAt, r.ExpiresAt, r.UsedAt = normTime(r.CreatedAt), normTime(r.ExpiresAt), normTime(r.UsedAt)
	return r
}

func noTimes[T any](T) []time.Time { return nil }

func sameOne[T any](t *testing.T, what string, got, want T, norm func(T) T) {
	t.Helper()
	same(t, what, []T{got}, []T{want}, norm, noTimes[T])
}

// testLoginSessions: sessions round trip, need their user, are deleted
// once, and stay out of the change feed.
func testLoginSessions(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	seedLogin(t, ctx, s)
	seq := latest(t, ctx, s)

	ls := storage.LoginSession{ID: "sess-digest", UserID: "u1", AuthTime: at(1), CreatedAt: at(1), ExpiresAt: at(60)}
	must(t, "CreateSession", s.CreateSession(ctx, ls))
	sameOne(t, "GetSession", get[storage.LoginSession](t, "GetSession")(s.GetSession(ctx, ls.ID)), ls, normSession)
	wantErr(t, "CreateSession/taken", s.CreateSession(ctx, ls), storage.ErrAlreadyExists)
	wantErr(t, "CreateSession/no user", s.CreateSession(ctx, storage.LoginSession{ID: "x", UserID: "u9"}), storage.ErrNotFound)
	must(t, "DeleteSession", s.DeleteSession(ctx, ls.ID))
	_, err := s.GetSession(ctx, ls.ID)
	wantErr(t, "GetSession after delete", err, storage.ErrNotFound)
	wantErr(t, "DeleteSession again", s.DeleteSession(ctx, ls.ID), storage.ErrNotFound)
	if n := latest(t, ctx, s); n != seq {
		t.Errorf("LatestChange after session writes = %d, want %d", n, seq)
	}
}

// testAuthCodes: a code is redeemed once; later redemptions see
// ErrConsumed with the family the first one recorded; of concurrent
// redemptions exactly one wins.
func testAuthCodes(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	seedLogin(t, ctx, s)

	c := storage.AuthCode{
		ID: "code-digest", ClientID: "cW", UserID: "u1", RedirectURI: "https://app.example.com/cb?a=1",
		Scope: []string{"openid", "profile", "read:things"}, Audience: apiA, Nonce: "n-0S6_WzA2Mj",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", AuthTime: at(1), CreatedAt: at(2), ExpiresAt: at(3),
	}
	must(t, "CreateAuthCode", s.CreateAuthCode(ctx, c))
	wantErr(t, "CreateAuthCode/taken", s.CreateAuthCode(ctx, c), storage.ErrAlreadyExists)
	bad := c
	bad.ID, bad.ClientID = "other", "c9"
	wantErr(t, "CreateAuthCode/no client", s.CreateAuthCode(ctx, bad), storage.ErrNotFound)

	got, err := s.RedeemAuthCode(ctx, c.ID, "fam-1", "jti-1", at(2))
	must(t, "RedeemAuthCode", err)
	sameOne(t, "RedeemAuthCode returns the unused code", got, c, normCode)
	got, err = s.RedeemAuthCode(ctx, c.ID, "fam-2", "jti-2", at(4))
	wantErr(t, "RedeemAuthCode again", err, storage.ErrConsumed)
	want := c
	want.UsedAt, want.FamilyID, want.AccessJTI = at(2), "fam-1", "jti-1"
	sameOne(t, "RedeemAuthCode again returns the code as used", got, want, normCode)
	_, err = s.RedeemAuthCode(ctx, "missing", "", "", at(2))
	wantErr(t, "RedeemAuthCode/missing", err, storage.ErrNotFound)

	// A code without audience, scope or nonce.
	bare := storage.AuthCode{ID: "bare", ClientID: "cW", UserID: "u1", RedirectURI: "https://app.example.com/cb", CodeChallenge: "x"}
	must(t, "CreateAuthCode(bare)", s.CreateAuthCode(ctx, bare))
	got, err = s.RedeemAuthCode(ctx, "bare", "", "", at(1))
	must(t, "RedeemAuthCode(bare)", err)
	sameOne(t, "RedeemAuthCode(bare)", got, bare, normCode)

	// Concurrent redemptions: exactly one wins.
	race := c
	race.ID = "race"
	must(t, "CreateAuthCode(race)", s.CreateAuthCode(ctx, race))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.RedeemAuthCode(ctx, "race", "", "", at(2))
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, storage.ErrConsumed):
			t.Errorf("concurrent RedeemAuthCode: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d concurrent redemptions won, want 1", wins, n)
	}
}

// testConsents: a consent is stored per user, client and audience, and
// replaced keeping its creation time.
func testConsents(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	seedLogin(t, ctx, s)

	_, err := s.GetConsent(ctx, "u1", "cW", "")
	wantErr(t, "GetConsent/missing", err, storage.ErrNotFound)
	oidc := storage.Consent{UserID: "u1", ClientID: "cW", Audience: "", Scope: []string{"openid", "email"}, CreatedAt: at(1), UpdatedAt: at(1)}
	api := storage.Consent{UserID: "u1", ClientID: "cW", Audience: apiA, Scope: []string{"read:things"}, CreatedAt: at(2), UpdatedAt: at(2)}
	must(t, "PutConsent", s.PutConsent(ctx, oidc))
	must(t, "PutConsent", s.PutConsent(ctx, api))
	sameOne(t, "GetConsent(oidc)", get[storage.Consent](t, "GetConsent")(s.GetConsent(ctx, "u1", "cW", "")), oidc, normConsent)
	sameOne(t, "GetConsent(api)", get[storage.Consent](t, "GetConsent")(s.GetConsent(ctx, "u1", "cW", apiA)), api, normConsent)

	upd := oidc
	upd.Scope, upd.CreatedAt, upd.UpdatedAt = []string{"openid", "email", "profile"}, at(9), at(9)
	must(t, "PutConsent(replace)", s.PutConsent(ctx, upd))
	want := upd
	want.CreatedAt = oidc.CreatedAt
	sameOne(t, "GetConsent after replace", get[storage.Consent](t, "GetConsent")(s.GetConsent(ctx, "u1", "cW", "")), want, normConsent)
	wantErr(t, "PutConsent/no user", s.PutConsent(ctx, storage.Consent{UserID: "u9", ClientID: "cW"}), storage.ErrNotFound)

	// Deleting the client deletes its consents.
	must(t, "DeleteClient", s.DeleteClient(ctx, "cW"))
	_, err = s.GetConsent(ctx, "u1", "cW", "")
	wantErr(t, "GetConsent after DeleteClient", err, storage.ErrNotFound)
}

// testRefreshTokens: rotation, reuse detection revoking the family,
// revoked families, and concurrent rotations of one token.
func testRefreshTokens(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	seedLogin(t, ctx, s)

	f := storage.RefreshFamily{ID: "fam", ClientID: "cW", UserID: "u1", Audience: apiA, Scope: []string{"openid", "offline_access"},
		AuthTime: at(0), CreatedAt: at(1), ExpiresAt: at(1000)}
	r1 := storage.RefreshToken{ID: "r1", CreatedAt: at(1), ExpiresAt: at(100)}
	must(t, "CreateRefreshFamily", s.CreateRefreshFamily(ctx, f, r1))
	r1.FamilyID = "fam"
	gt, gf, err := s.GetRefreshToken(ctx, "r1")
	must(t, "GetRefreshToken", err)
	sameOne(t, "GetRefreshToken token", gt, r1, normRefresh)
	sameOne(t, "GetRefreshToken family", gf, f, normFamily)
	_, _, err = s.GetRefreshToken(ctx, "missing")
	wantErr(t, "GetRefreshToken/missing", err, storage.ErrNotFound)
	wantErr(t, "CreateRefreshFamily/taken", s.CreateRefreshFamily(ctx, f, storage.RefreshToken{ID: "r9"}), storage.ErrAlreadyExists)

	r2 := storage.RefreshToken{ID: "r2", CreatedAt: at(5), ExpiresAt: at(105)}
	gf, err = s.RotateRefreshToken(ctx, "r1", r2, at(5))
	must(t, "RotateRefreshToken", err)
	sameOne(t, "RotateRefreshToken family", gf, f, normFamily)
	gt, _, _ = s.GetRefreshToken(ctx, "r1")
	if !normTime(gt.UsedAt).Equal(normTime(at(5))) {
		t.Errorf("rotated token UsedAt = %v, want %v", gt.UsedAt, at(5))
	}
	gt, _, err = s.GetRefreshToken(ctx, "r2")
	must(t, "GetRefreshToken(r2)", err)
	r2.FamilyID = "fam"
	sameOne(t, "the next token", gt, r2, normRefresh)

	// Reusing r1 revokes the family: r2 is dead too.
	_, err = s.RotateRefreshToken(ctx, "r1", storage.RefreshToken{ID: "r3"}, at(6))
	wantErr(t, "RotateRefreshToken of a used token", err, storage.ErrConsumed)
	_, gf, _ = s.GetRefreshToken(ctx, "r2")
	if !normTime(gf.RevokedAt).Equal(normTime(at(6))) {
		t.Errorf("family RevokedAt after reuse = %v, want %v", gf.RevokedAt, at(6))
	}
	_, _, err = s.GetRefreshToken(ctx, "r3")
	wantErr(t, "the token of a refused rotation", err, storage.ErrNotFound)
	_, err = s.RotateRefreshToken(ctx, "r2", storage.RefreshToken{ID: "r4"}, at(7))
	wantErr(t, "RotateRefreshToken in a revoked family", err, storage.ErrRevoked)
	must(t, "RevokeRefreshFamily again", s.RevokeRefreshFamily(ctx, "fam", at(8)))
	_, gf, _ = s.GetRefreshToken(ctx, "r2")
	if !normTime(gf.RevokedAt).Equal(normTime(at(6))) {
		t.Errorf("a second revocation moved RevokedAt to %v", gf.RevokedAt)
	}
	wantErr(t, "RevokeRefreshFamily/missing", s.RevokeRefreshFamily(ctx, "nofam", at(8)), storage.ErrNotFound)

	// Concurrent rotations of one token: one wins, the rest revoke.
	g := f
	g.ID = "fam2"
	must(t, "CreateRefreshFamily(fam2)", s.CreateRefreshFamily(ctx, g, storage.RefreshToken{ID: "q1", CreatedAt: at(1), ExpiresAt: at(100)}))
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.RotateRefreshToken(ctx, "q1", storage.RefreshToken{ID: "q2-" + string(rune('a'+i)), CreatedAt: at(2)}, at(2))
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, storage.ErrConsumed) && !errors.Is(err, storage.ErrRevoked):
			t.Errorf("concurrent RotateRefreshToken: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d concurrent rotations won, want 1", wins, n)
	}
	if _, gf, _ := s.GetRefreshToken(ctx, "q1"); gf.RevokedAt.IsZero() {
		t.Error("concurrent reuse did not revoke the family")
	}

	// Deleting the user deletes nothing else here, but deleting the client
	// takes its families and tokens with it.
	must(t, "DeleteClient", s.DeleteClient(ctx, "cW"))
	_, _, err = s.GetRefreshToken(ctx, "r2")
	wantErr(t, "GetRefreshToken after DeleteClient", err, storage.ErrNotFound)
}

// testDeleteExpiredLogins: expired sessions, codes and families go, with
// the families' tokens and revoked families; live ones and consents stay.
func testDeleteExpiredLogins(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	seedLogin(t, ctx, s)
	must(t, "CreateSession", s.CreateSession(ctx, storage.LoginSession{ID: "old", UserID: "u1", ExpiresAt: at(10)}))
	must(t, "CreateSession", s.CreateSession(ctx, storage.LoginSession{ID: "live", UserID: "u1", ExpiresAt: at(30)}))
	code := func(id string, exp int) storage.AuthCode {
		return storage.AuthCode{ID: id, ClientID: "cW", UserID: "u1", RedirectURI: "x", CodeChallenge: "c", ExpiresAt: at(exp)}
	}
	must(t, "CreateAuthCode", s.CreateAuthCode(ctx, code("old", 10)))
	must(t, "CreateAuthCode", s.CreateAuthCode(ctx, code("live", 30)))
	fam := func(id string, exp int) storage.RefreshFamily {
		return storage.RefreshFamily{ID: id, ClientID: "cW", UserID: "u1", ExpiresAt: at(exp)}
	}
	must(t, "CreateRefreshFamily", s.CreateRefreshFamily(ctx, fam("old", 10), storage.RefreshToken{ID: "t-old", ExpiresAt: at(10)}))
	must(t, "CreateRefreshFamily", s.CreateRefreshFamily(ctx, fam("revoked", 90), storage.RefreshToken{ID: "t-revoked", ExpiresAt: at(90)}))
	must(t, "RevokeRefreshFamily", s.RevokeRefreshFamily(ctx, "revoked", at(5)))
	must(t, "CreateRefreshFamily", s.CreateRefreshFamily(ctx, fam("live", 90), storage.RefreshToken{ID: "t-live", ExpiresAt: at(90)}))
	must(t, "PutConsent", s.PutConsent(ctx, storage.Consent{UserID: "u1", ClientID: "cW", Scope: []string{"openid"}}))

	n, err := s.DeleteExpiredLogins(ctx, at(20))
	must(t, "DeleteExpiredLogins", err)
	if n != 4 {
		t.Errorf("DeleteExpiredLogins = %d, want 4 (a session, a code, two families)", n)
	}
	_, err = s.GetSession(ctx, "old")
	wantErr(t, "the expired session", err, storage.ErrNotFound)
	_, err = s.GetSession(ctx, "live")
	must(t, "the live session", err)
	_, err = s.RedeemAuthCode(ctx, "old", "", "", at(1))
	wantErr(t, "the expired code", err, storage.ErrNotFound)
	_, err = s.RedeemAuthCode(ctx, "live", "", "", at(1))
	must(t, "the live code", err)
	for _, id := range []string{"t-old", "t-revoked"} {
		_, _, err = s.GetRefreshToken(ctx, id)
		wantErr(t, "token of a deleted family "+id, err, storage.ErrNotFound)
	}
	_, _, err = s.GetRefreshToken(ctx, "t-live")
	must(t, "the live family's token", err)
	_, err = s.GetConsent(ctx, "u1", "cW", "")
	must(t, "the consent", err)
	if n, _ := s.DeleteExpiredLogins(ctx, at(20)); n != 0 {
		t.Errorf("a second DeleteExpiredLogins deleted %d", n)
	}
}

// testEndUserLogins: a user's sessions go and refresh families are
// revoked; another user's stay, and an earlier revocation is kept.
func testEndUserLogins(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	seedLogin(t, ctx, s)
	must(t, "CreateUser", s.CreateUser(ctx, newUser("u2", "u2@example.com", 0)))
	for _, u := range []string{"u1", "u2"} {
		must(t, "CreateSession", s.CreateSession(ctx, storage.LoginSession{ID: "s-" + u, UserID: u, ExpiresAt: at(60)}))
		must(t, "CreateRefreshFamily", s.CreateRefreshFamily(ctx, storage.RefreshFamily{ID: "f-" + u, ClientID: "cW", UserID: u, ExpiresAt: at(60)},
			storage.RefreshToken{ID: "t-" + u, ExpiresAt: at(60)}))
	}
	must(t, "CreateRefreshFamily", s.CreateRefreshFamily(ctx, storage.RefreshFamily{ID: "f-old", ClientID: "cW", UserID: "u1", ExpiresAt: at(60)},
		storage.RefreshToken{ID: "t-old", ExpiresAt: at(60)}))
	must(t, "RevokeRefreshFamily", s.RevokeRefreshFamily(ctx, "f-old", at(1)))

	must(t, "EndUserLogins", s.EndUserLogins(ctx, "u1", at(5)))
	_, err := s.GetSession(ctx, "s-u1")
	wantErr(t, "u1's session", err, storage.ErrNotFound)
	if _, err := s.GetSession(ctx, "s-u2"); err != nil {
		t.Errorf("u2's session: %v", err)
	}
	for id, want := range map[string]time.Time{"t-u1": at(5), "t-old": at(1), "t-u2": {}} {
		_, f, err := s.GetRefreshToken(ctx, id)
		must(t, "GetRefreshToken", err)
		if !normTime(f.RevokedAt).Equal(normTime(want)) {
			t.Errorf("family of %s revoked at %v, want %v", id, f.RevokedAt, want)
		}
	}
	must(t, "EndUserLogins of an unknown user", s.EndUserLogins(ctx, "nobody", at(5)))
}

// testFamilyDenylist: revoking a refresh token family, or reusing one of its
// tokens, puts the access tokens issued with its refresh tokens on the
// denylist until they expire (RFC 7009 §2.1), each with its change in the
// feed; those already expired are left out.
func testFamilyDenylist(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	seedLogin(t, ctx, s)
	listed := func(jti string, want time.Time) {
		t.Helper()
		r, err := s.GetRevocation(ctx, storage.RevokeToken, jti)
		if want.IsZero() {
			wantErr(t, "GetRevocation("+jti+")", err, storage.ErrNotFound)
			return
		}
		must(t, "GetRevocation("+jti+")", err)
		if !normTime(r.ExpiresAt).Equal(normTime(want)) {
			t.Errorf("the denylist entry of %s expires at %v, want %v (the token's expiry)", jti, r.ExpiresAt, want)
		}
	}

	f := storage.RefreshFamily{ID: "fam", ClientID: "cW", UserID: "u1", Audience: apiA, Scope: []string{"openid", "offline_access"},
		AuthTime: at(0), CreatedAt: at(1), ExpiresAt: at(1000)}
	r1 := storage.RefreshToken{ID: "r1", CreatedAt: at(1), ExpiresAt: at(100), AccessJTI: "a1", AccessExpiresAt: at(50)}
	must(t, "CreateRefreshFamily", s.CreateRefreshFamily(ctx, f, r1))
	gt, _, err := s.GetRefreshToken(ctx, "r1")
	must(t, "GetRefreshToken", err)
	r1.FamilyID = "fam"
	sameOne(t, "GetRefreshToken with its access token", gt, r1, func(r storage.RefreshToken) storage.RefreshToken {
		r = normRefresh(r)
		r.AccessExpiresAt = normTime(r.AccessExpiresAt)
		return r
	})
	_, err = s.RotateRefreshToken(ctx, "r1", storage.RefreshToken{ID: "r2", CreatedAt: at(2), ExpiresAt: at(102), AccessJTI: "a2", AccessExpiresAt: at(60)}, at(2))
	must(t, "RotateRefreshToken", err)
	listed("a2", time.Time{})
	before, err := s.ChangesSince(ctx, 0, 10000)
	must(t, "ChangesSince", err)
	var seq int64
	if len(before) > 0 {
		seq = before[len(before)-1].Seq
	}

	must(t, "RevokeRefreshFamily", s.RevokeRefreshFamily(ctx, "fam", at(55)))
	listed("a1", time.Time{}) // expired at 50, before the revocation
	listed("a2", at(60))
	cs, err := s.ChangesSince(ctx, seq, 100)
	must(t, "ChangesSince", err)
	if !slices.ContainsFunc(cs, func(c storage.Change) bool { return c.Entity == storage.EntityRevocation && c.ID == "jti:a2" }) {
		t.Errorf("changes after the family's revocation %v, want the denylist entry of a2", cs)
	}

	// A reused refresh token revokes its family the same way.
	g := f
	g.ID = "fam2"
	must(t, "CreateRefreshFamily(fam2)", s.CreateRefreshFamily(ctx, g, storage.RefreshToken{ID: "q1", CreatedAt: at(1), ExpiresAt: at(100), AccessJTI: "b1", AccessExpiresAt: at(500)}))
	_, err = s.RotateRefreshToken(ctx, "q1", storage.RefreshToken{ID: "q2", CreatedAt: at(3), ExpiresAt: at(103), AccessJTI: "b2", AccessExpiresAt: at(503)}, at(3))
	must(t, "RotateRefreshToken(q1)", err)
	_, err = s.RotateRefreshToken(ctx, "q1", storage.RefreshToken{ID: "q3", CreatedAt: at(4)}, at(4))
	wantErr(t, "RotateRefreshToken of a used token", err, storage.ErrConsumed)
	listed("b1", at(500))
	listed("b2", at(503))
}
