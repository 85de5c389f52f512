package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// testTokenRetention checks the split of the token trail: the per-token
// events (token.issued, auth.failed) are deleted after their short
// retention while admin events of the same age stay, and newer token
// events stay.
func testTokenRetention(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	ev := func(min int, actor, action, target string) storage.AuditEvent {
		return storage.AuditEvent{Time: at(min), Actor: actor, Action: action, Target: target, Outcome: storage.OutcomeSuccess}
	}
	old := []storage.AuditEvent{
		ev(0, "c1", storage.AuditTokenIssued, apiA), ev(1, "unknown", storage.AuditAuthFailed, "unknown"),
		ev(2, storage.ActorCLI, storage.AuditClientCreated, "c1"), ev(3, storage.ActorSystem, storage.AuditKeyRotated, "RS256"),
	}
	recent := []storage.AuditEvent{ev(10, "c1", storage.AuditTokenIssued, apiA), ev(11, "c2", storage.AuditAuthFailed, "c2")}
	must(t, "AppendAudit", s.AppendAudit(ctx, append(old, recent...)...))
	n := get[int64](t, "DeleteTokenEventsBefore")(s.DeleteTokenEventsBefore(ctx, at(10)))
	if n != 2 {
		t.Errorf("DeleteTokenEventsBefore = %d, want the 2 older token events", n)
	}
	var left []string
	for _, e := range get[[]storage.AuditEvent](t, "ListAudit")(s.ListAudit(ctx, storage.AuditFilter{})) {
		left = append(left, e.Action+"@"+e.Time.Sub(t0).Round(time.Minute).String())
	}
	want := []string{"auth.failed@11m0s", "token.issued@10m0s", "key.rotated@3m0s", "client.created@2m0s"}
	if !slices.Equal(left, want) {
		t.Errorf("after the token retention: %v, want %v", left, want)
	}
}

// testTokenCounts checks the hourly token counts: adds accumulate per hour,
// client and audience, across calls and within one; the list filters by
// client, audience and a half-open range of hours, newest first; a bad
// count stores nothing of its batch; old hours are deleted; and none of it
// touches the change feed.
func testTokenCounts(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	seq := latest(t, ctx, s)
	h0 := t0.UTC().Truncate(time.Hour)
	h := func(n int) time.Time { return h0.Add(time.Duration(n) * time.Hour) }
	tc := func(hour int, client, aud string, issued, reused, refused int64) storage.TokenCount {
		return storage.TokenCount{Hour: h(hour), ClientID: client, Audience: aud, Issued: issued, Reused: reused, Refused: refused}
	}
	must(t, "AddTokenCounts()", s.AddTokenCounts(ctx))
	must(t, "AddTokenCounts", s.AddTokenCounts(ctx, tc(0, "c1", apiA, 10, 2, 0), tc(0, "c1", apiB, 1, 0, 0), tc(0, "unknown", "", 0, 0, 7)))
	must(t, "AddTokenCounts again", s.AddTokenCounts(ctx, tc(0, "c1", apiA, 5, 1, 0), tc(1, "c1", apiA, 3, 0, 0), tc(1, "c1", apiA, 4, 4, 0)))
	list := func(f storage.TokenCountFilter) []storage.TokenCount {
		t.Helper()
		got := get[[]storage.TokenCount](t, "ListTokenCounts")(s.ListTokenCounts(ctx, f))
		for _, c := range got {
			checkUTC(t, "token count hour", c.Hour)
		}
		return got
	}
	tests := []struct {
		name string
		f    storage.TokenCountFilter
		want []storage.TokenCount
	}{
		{"all", storage.TokenCountFilter{}, []storage.TokenCount{tc(1, "c1", apiA, 7, 4, 0), tc(0, "c1", apiA, 15, 3, 0), tc(0, "c1", apiB, 1, 0, 0), tc(0, "unknown", "", 0, 0, 7)}},
		{"client", storage.TokenCountFilter{ClientID: "unknown"}, []storage.TokenCount{tc(0, "unknown", "", 0, 0, 7)}},
		{"audience", storage.TokenCountFilter{Audience: apiB}, []storage.TokenCount{tc(0, "c1", apiB, 1, 0, 0)}},
		{"since, in another zone", storage.TokenCountFilter{Since: h(1).In(zone)}, []storage.TokenCount{tc(1, "c1", apiA, 7, 4, 0)}},
		{"until", storage.TokenCountFilter{ClientID: "c1", Until: h(1)}, []storage.TokenCount{tc(0, "c1", apiA, 15, 3, 0), tc(0, "c1", apiB, 1, 0, 0)}},
	}
	for _, tt := range tests {
		if got := list(tt.f); !slices.Equal(got, tt.want) {
			t.Errorf("ListTokenCounts(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
	for _, bad := range []storage.TokenCount{tc(2, "", apiA, 1, 0, 0), tc(2, "c1", apiA, 1, 2, 0), tc(2, "c1", apiA, -1, 0, 0),
		{Hour: h(2).Add(time.Minute), ClientID: "c1", Audience: apiA, Issued: 1}} {
		if err := s.AddTokenCounts(ctx, tc(2, "c1", apiA, 1, 0, 0), bad); err == nil {
			t.Errorf("AddTokenCounts with %+v: no error", bad)
		}
	}
	if got := list(storage.TokenCountFilter{Since: h(2)}); len(got) != 0 {
		t.Errorf("a refused batch stored %v", got)
	}
	if n := get[int64](t, "DeleteTokenCountsBefore")(s.DeleteTokenCountsBefore(ctx, h(1))); n != 3 {
		t.Errorf("DeleteTokenCountsBefore(hour 1) = %d, want 3", n)
	}
	if got := list(storage.TokenCountFilter{}); !slices.Equal(got, []storage.TokenCount{tc(1, "c1", apiA, 7, 4, 0)}) {
		t.Errorf("after deleting hour 0: %v", got)
	}
	if l := latest(t, ctx, s); l != seq {
		t.Errorf("token counts appended to the change feed: %d -> %d", seq, l)
	}
}
