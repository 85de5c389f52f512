package storagetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Run runs the conformance suite against the backend that newStore opens.
// Every subtest calls newStore once, with its own t, and expects a new, empty
// store; newStore closes it when that test ends (t.Cleanup). The subtests
// run one after another, so newStore may reuse one database by emptying it.
func Run(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, newStore func(t *testing.T) storage.Storage)
	}{
		{"Empty", testEmpty},
		{"Errors", testErrors},
		{"APIs", testAPIs},
		{"DeleteAPICascades", testDeleteAPICascades},
		{"Clients", testClients},
		{"DeleteClientCascades", testDeleteClientCascades},
		{"Secrets", testSecrets},
		{"RotateSecret", testRotateSecret},
		{"TouchSecrets", testTouchSecrets},
		{"Grants", testGrants},
		{"Keys", testKeys},
		{"KeyRotation", testKeyRotation},
		{"ChangeFeed", testChangeFeed},
		{"ChangeFeedPaging", testChangeFeedPaging},
		{"FeedPruning", testFeedPruning},
		{"Concurrent", testConcurrent},
		{"Leases", testLeases},
		{"LeaseRace", testLeaseRace},
		{"Users", testUsers},
		{"LoginClients", testLoginClients},
		{"APIFlags", testAPIFlags},
		{"LoginSessions", testLoginSessions},
		{"AuthCodes", testAuthCodes},
		{"Consents", testConsents},
		{"RefreshTokens", testRefreshTokens},
		{"FamilyDenylist", testFamilyDenylist},
		{"DeleteExpiredLogins", testDeleteExpiredLogins},
		{"EndUserLogins", testEndUserLogins},
		{"Audit", testAudit},
		{"APIPolicies", testAPIPolicies},
		{"GrantSubjectTypes", testGrantSubjectTypes},
		{"Roles", testRoles},
		{"Permissions", testPermissions},
		{"Instances", testInstances},
		{"TokenRetention", testTokenRetention},
		{"TokenCounts", testTokenCounts},
		{"ProofOfPossession", testProofOfPossession},
		{"Extras", testExtras},
		{"UpdateAPIPrunesGrants", testUpdateAPIPrunesGrants},
		{"DeleteUser", testDeleteUser},
		{"ClientWebOrigins", testClientWebOrigins},
		{"CertificateBoundTokens", testCertificateBoundTokens},
		{"Credentials", testCredentials},
		{"CredentialAuthMethods", testCredentialAuthMethods},
		{"AssertionIDs", testAssertionIDs},
		{"Revocations", testRevocations},
		{"RevokeRefreshFamilies", testRevokeRefreshFamilies},
		{"Introspectors", testIntrospectors},
		{"FederatedCredentials", testFederatedCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore) })
	}
}

// t0 is the suite's "now": a time with nanoseconds, in a zone east of UTC,
// so that every round trip checks instant, precision and zone handling.
var (
	zone = time.FixedZone("UTC+05:30", 5*3600+30*60)
	t0   = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC).In(zone)
)

// at returns t0 plus n minutes.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

func newAPI(id string) storage.API {
	return storage.API{
		Identifier:    id,
		Name:          "API " + id,
		Scopes:        []storage.Scope{{Value: "read:things", Description: "Read things"}, {Value: "write:things"}},
		TokenLifetime: 90 * time.Second,
		SigningAlg:    "RS256",
		TokenDialect:  storage.DialectRFC9068,
		CreatedAt:     t0,
	}
}

func newClient(id string, created time.Time) storage.Client {
	return storage.Client{
		ClientID:    id,
		Name:        "Client " + id,
		Description: "the " + id + " service",
		AppType:     storage.AppTypeNonInteractive,
		GrantTypes:  []string{storage.GrantClientCredentials},
		CreatedAt:   created,
		UpdatedAt:   created,
	}
}

func newSecret(id, clientID string, created time.Time) storage.Secret {
	return storage.Secret{
		ID:        id,
		ClientID:  clientID,
		HashAlg:   storage.SecretHashSHA256,
		Hash:      []byte("digest-of-" + id + "\x00\xff"),
		Hint:      "gh_" + id[:min(len(id), 2)],
		CreatedAt: created,
	}
}

func newGrant(id, clientID, audience string, created time.Time) storage.Grant {
	return storage.Grant{
		ID:        id,
		ClientID:  clientID,
		Audience:  audience,
		Scope:     []string{"read:things"},
		CreatedAt: created,
	}
}

func newKey(kid, alg, state string, created time.Time) storage.SigningKey {
	k := storage.SigningKey{
		KID:        kid,
		Alg:        alg,
		State:      state,
		PrivateKey: []byte("sealed-private-key-" + kid + "\x00\x01\xfe"),
		PublicJWK:  []byte(`{"kty":"RSA","kid":"` + kid + `","n":"AQAB","e":"AQAB"}`),
		CreatedAt:  created,
	}
	if state != storage.KeyNext {
		k.ActivatedAt = created.Add(time.Hour)
	}
	if state == storage.KeyPrevious || state == storage.KeyRetired {
		k.RetireAt = created.Add(48 * time.Hour)
	}
	return k
}

// normTime is how a backend returns t: the same instant, truncated to the
// microsecond, in UTC; the zero time stays zero.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Microsecond).UTC()
}

// nilIfEmpty lets an empty list and a nil list compare equal.
func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

func normAPI(a storage.API) storage.API {
	a.CreatedAt = normTime(a.CreatedAt)
	a.Scopes = nilIfEmpty(a.Scopes)
	if a.UserPolicy == "" { // stored as the default
		a.UserPolicy = storage.PolicyRequireClientGrant
	}
	if a.ClientPolicy == "" {
		a.ClientPolicy = storage.PolicyRequireClientGrant
	}
	return a
}

func normClient(c storage.Client) storage.Client {
	c.CreatedAt, c.UpdatedAt = normTime(c.CreatedAt), normTime(c.UpdatedAt)
	c.GrantTypes = nilIfEmpty(c.GrantTypes)
	c.RedirectURIs, c.AllowedLogoutURLs = nilIfEmpty(c.RedirectURIs), nilIfEmpty(c.AllowedLogoutURLs)
	c.WebOrigins = nilIfEmpty(c.WebOrigins)
	m := &c.AuthMethods
	m.PrivateKeyJWT, m.TLSClientAuth, m.SelfSignedTLSClientAuth = nilIfEmpty(m.PrivateKeyJWT), nilIfEmpty(m.TLSClientAuth), nilIfEmpty(m.SelfSignedTLSClientAuth)
	if len(c.Metadata) == 0 {
		c.Metadata = nil
	}
	if c.TokenEndpointAuthMethod == "" { // stored as the default
		c.TokenEndpointAuthMethod = storage.AuthMethodClientSecretPost
	}
	return c
}

func normSecret(s storage.Secret) storage.Secret {
	s.CreatedAt, s.NotBefore = normTime(s.CreatedAt), normTime(s.NotBefore)
	s.ExpiresAt, s.LastUsedAt = normTime(s.ExpiresAt), normTime(s.LastUsedAt)
	s.Hash = nilIfEmpty(s.Hash)
	return s
}

func normGrant(g storage.Grant) storage.Grant {
	g.CreatedAt = normTime(g.CreatedAt)
	g.Scope = nilIfEmpty(g.Scope)
	if g.SubjectType == "" { // stored as the default
		g.SubjectType = storage.SubjectClient
	}
	return g
}

func normKey(k storage.SigningKey) storage.SigningKey {
	k.CreatedAt, k.ActivatedAt, k.RetireAt = normTime(k.CreatedAt), normTime(k.ActivatedAt), normTime(k.RetireAt)
	k.PrivateKey, k.PublicJWK = nilIfEmpty(k.PrivateKey), nilIfEmpty(k.PublicJWK)
	return k
}

// checkUTC reports a non-zero time that the backend did not return in UTC.
func checkUTC(t *testing.T, what string, times ...time.Time) {
	t.Helper()
	for i, tm := range times {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s: time #%d %v is in %v, want UTC", what, i, tm, tm.Location())
		}
	}
}

// same compares got with want after normalizing both with norm; got's times
// must be UTC.
func same[T any](t *testing.T, what string, got, want []T, norm func(T) T, times func(T) []time.Time) {
	t.Helper()
	for _, g := range got {
		checkUTC(t, what, times(g)...)
	}
	g, w := mapSlice(got, norm), mapSlice(want, norm)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, show(g), show(w))
	}
}

func mapSlice[T any](s []T, f func(T) T) []T {
	out := make([]T, 0, len(s))
	for _, v := range s {
		out = append(out, f(v))
	}
	return out
}

func show[T any](s []T) string {
	var b strings.Builder
	for i, v := range s {
		if i > 0 {
			b.WriteString("\n     ")
		}
		fmt.Fprintf(&b, "%+v", v)
	}
	if len(s) == 0 {
		return "(none)"
	}
	return b.String()
}

func apiTimes(a storage.API) []time.Time       { return []time.Time{a.CreatedAt} }
func clientTimes(c storage.Client) []time.Time { return []time.Time{c.CreatedAt, c.UpdatedAt} }
func grantTimes(g storage.Grant) []time.Time   { return []time.Time{g.CreatedAt} }
func secretTimes(s storage.Secret) []time.Time {
	return []time.Time{s.CreatedAt, s.NotBefore, s.ExpiresAt, s.LastUsedAt}
}
func keyTimes(k storage.SigningKey) []time.Time {
	return []time.Time{k.CreatedAt, k.ActivatedAt, k.RetireAt}
}

func sameAPIs(t *testing.T, what string, got []storage.API, want ...storage.API) {
	t.Helper()
	same(t, what, got, want, normAPI, apiTimes)
}

func sameClients(t *testing.T, what string, got []storage.Client, want ...storage.Client) {
	t.Helper()
	same(t, what, got, want, normClient, clientTimes)
}

func sameSecrets(t *testing.T, what string, got []storage.Secret, want ...storage.Secret) {
	t.Helper()
	same(t, what, got, want, normSecret, secretTimes)
}

func sameGrants(t *testing.T, what string, got []storage.Grant, want ...storage.Grant) {
	t.Helper()
	same(t, what, got, want, normGrant, grantTimes)
}

func sameKeys(t *testing.T, what string, got []storage.SigningKey, want ...storage.SigningKey) {
	t.Helper()
	same(t, what, got, want, normKey, keyTimes)
}

// must fails the test now if err is not nil.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get fails the test now if err is not nil, and returns v.
func get[T any](t *testing.T, what string) func(v T, err error) T {
	t.Helper()
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// wantErr checks that err wraps want.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

// latest returns the newest change sequence number.
func latest(t *testing.T, ctx context.Context, s storage.Storage) int64 {
	t.Helper()
	return get[int64](t, "LatestChange")(s.LatestChange(ctx))
}

// changesSince returns every change after seq, checking that sequence
// numbers increase strictly.
func changesSince(t *testing.T, ctx context.Context, s storage.Storage, seq int64) []storage.Change {
	t.Helper()
	cs := get[[]storage.Change](t, "ChangesSince")(s.ChangesSince(ctx, seq, 1_000_000))
	prev := seq
	for _, c := range cs {
		if c.Seq <= prev {
			t.Errorf("ChangesSince(%d): seq %d follows %d", seq, c.Seq, prev)
		}
		prev = c.Seq
	}
	return cs
}

// change is a change without its sequence number.
type change struct{ entity, id string }

func (c change) String() string { return c.entity + ":" + c.id }

// changeSet returns the entity and ID of each change, sorted: the order of
// the changes of one write is unspecified.
func changeSet(cs []storage.Change) []change {
	out := make([]change, 0, len(cs))
	for _, c := range cs {
		out = append(out, change{c.Entity, c.ID})
	}
	slices.SortFunc(out, func(a, b change) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// wantChanges checks that the changes after seq are exactly want, in any
// order, and returns the newest sequence number.
func wantChanges(t *testing.T, ctx context.Context, s storage.Storage, what string, seq int64, want ...change) int64 {
	t.Helper()
	cs := changesSince(t, ctx, s, seq)
	got := changeSet(cs)
	w := changeSet(nil)
	w = append(w, want...)
	slices.SortFunc(w, func(a, b change) int { return strings.Compare(a.String(), b.String()) })
	if !slices.Equal(got, w) {
		t.Errorf("%s: changes %v, want %v", what, got, w)
	}
	if len(cs) > 0 {
		seq = cs[len(cs)-1].Seq
	}
	if l := latest(t, ctx, s); l != seq {
		t.Errorf("%s: LatestChange = %d, want %d", what, l, seq)
	}
	return seq
}

func apiChange(id string) change    { return change{storage.EntityAPI, id} }
func clientChange(id string) change { return change{storage.EntityClient, id} }
func keyChange(id string) change    { return change{storage.EntityKey, id} }
