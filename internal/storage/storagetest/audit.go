package storagetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// testAudit checks the audit trail: events round-trip with every field
// (times to the microsecond, in UTC, whatever zone they were given in),
// come back newest first with ties in append order, are filtered by client
// (actor or target), by a half-open time range given in any zone and by a
// limit that keeps the newest; bad events are refused with nothing stored;
// retention deletes exactly the older events; and none of it touches the
// change feed.
func testAudit(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	seq := latest(t, ctx, s)
	if v := get[[]storage.AuditEvent](t, "ListAudit on an empty store")(s.ListAudit(ctx, storage.AuditFilter{})); len(v) != 0 {
		t.Fatalf("ListAudit of an empty store = %v, want none", v)
	}
	must(t, "AppendAudit()", s.AppendAudit(ctx))
	ev := func(min int, actor, action, target string) storage.AuditEvent {
		return storage.AuditEvent{Time: at(min), Actor: actor, Action: action, Target: target,
			Outcome: storage.OutcomeSuccess, RemoteAddr: "192.0.2.7", RequestID: "req-" + action}
	}
	issued := ev(0, "c1", storage.AuditTokenIssued, "https://api.example.com/")
	issued.Details = map[string]string{"client_id": "c1", "audience": "https://api.example.com/", "scope": "read:things", "jti": "j1", "ünïcode": "✓ \"quoted\""}
	failed := ev(0, "c2", storage.AuditAuthFailed, "c2") // same time as issued: append order breaks the tie
	failed.Outcome, failed.Details = storage.OutcomeFailure, map[string]string{"reason": "invalid_secret"}
	created := ev(2, storage.ActorCLI, storage.AuditClientCreated, "c1")
	rotated := ev(3, storage.ActorSystem, storage.AuditKeyRotated, "RS256")
	rotated.RemoteAddr, rotated.RequestID = "", ""
	must(t, "AppendAudit(4 events)", s.AppendAudit(ctx, issued, failed, created))
	must(t, "AppendAudit(1 event)", s.AppendAudit(ctx, rotated))

	all := get[[]storage.AuditEvent](t, "ListAudit")(s.ListAudit(ctx, storage.AuditFilter{}))
	want := []storage.AuditEvent{rotated, created, failed, issued}
	if len(all) != len(want) {
		t.Fatalf("ListAudit = %d events, want %d: %+v", len(all), len(want), all)
	}
	for i, got := range all {
		if got.ID == 0 {
			t.Errorf("event %d (%s) has no ID", i, got.Action)
		}
		if i > 0 && got.ID >= all[i-1].ID {
			t.Errorf("IDs not decreasing newest first: %d after %d", got.ID, all[i-1].ID)
		}
		w := want[i]
		w.ID = got.ID
		w.Time = w.Time.Truncate(time.Microsecond).UTC()
		if !reflect.DeepEqual(got, w) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got, w)
		}
		if got.Time.Location() != time.UTC {
			t.Errorf("event %d time in %v, want UTC", i, got.Time.Location())
		}
	}

	ids := func(es []storage.AuditEvent) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Action)
		}
		return out
	}
	other := time.FixedZone("UTC-08:00", -8*3600)
	filters := []struct {
		name string
		f    storage.AuditFilter
		want []string
	}{
		{"client as actor or target", storage.AuditFilter{ClientID: "c1"}, []string{storage.AuditClientCreated, storage.AuditTokenIssued}},
		{"client as actor only", storage.AuditFilter{ClientID: "c2"}, []string{storage.AuditAuthFailed}},
		{"unknown client", storage.AuditFilter{ClientID: "nobody"}, nil},
		{"since is inclusive", storage.AuditFilter{Since: at(2)}, []string{storage.AuditKeyRotated, storage.AuditClientCreated}},
		{"since in another zone", storage.AuditFilter{Since: at(2).In(other)}, []string{storage.AuditKeyRotated, storage.AuditClientCreated}},
		{"since a microsecond later", storage.AuditFilter{Since: at(2).Add(time.Microsecond)}, []string{storage.AuditKeyRotated}},
		{"until is exclusive", storage.AuditFilter{Until: at(2).Truncate(time.Microsecond)}, []string{storage.AuditAuthFailed, storage.AuditTokenIssued}},
		{"a range in another zone", storage.AuditFilter{Since: at(1).In(other), Until: at(3).In(time.UTC)}, []string{storage.AuditClientCreated}},
		{"limit keeps the newest", storage.AuditFilter{Limit: 2}, []string{storage.AuditKeyRotated, storage.AuditClientCreated}},
		{"all filters", storage.AuditFilter{ClientID: "c1", Since: at(-1), Until: at(5), Limit: 1}, []string{storage.AuditClientCreated}},
		{"actor", storage.AuditFilter{Actor: storage.ActorCLI}, []string{storage.AuditClientCreated}},
		{"actor is not the target", storage.AuditFilter{Actor: "RS256"}, nil},
		{"action", storage.AuditFilter{Action: storage.AuditAuthFailed}, []string{storage.AuditAuthFailed}},
		{"actor and action", storage.AuditFilter{Actor: "c1", Action: storage.AuditAuthFailed}, nil},
		{"offset skips the newest", storage.AuditFilter{Limit: 2, Offset: 1}, []string{storage.AuditClientCreated, storage.AuditAuthFailed}},
		{"offset past the end", storage.AuditFilter{Limit: 2, Offset: 4}, nil},
	}
	for _, tc := range filters {
		got := ids(get[[]storage.AuditEvent](t, "ListAudit "+tc.name)(s.ListAudit(ctx, tc.f)))
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ListAudit(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}

	bad := []struct {
		name string
		e    storage.AuditEvent
	}{
		{"zero time", storage.AuditEvent{Actor: "a", Action: "x", Outcome: storage.OutcomeSuccess}},
		{"no actor", storage.AuditEvent{Time: at(9), Action: "x", Outcome: storage.OutcomeSuccess}},
		{"no action", storage.AuditEvent{Time: at(9), Actor: "a", Outcome: storage.OutcomeSuccess}},
		{"no outcome", storage.AuditEvent{Time: at(9), Actor: "a", Action: "x"}},
	}
	for _, tc := range bad {
		if err := s.AppendAudit(ctx, ev(9, "a", "fine", ""), tc.e); err == nil {
			t.Errorf("AppendAudit with an event of %s: no error", tc.name)
		}
	}
	// A bad event late in a large batch, after the backend may have
	// written rows of it: still nothing of the batch is stored.
	late := make([]storage.AuditEvent, 300)
	for i := range late {
		late[i] = ev(9, "a", "fine", fmt.Sprint(i))
	}
	late[len(late)-1].Actor = ""
	if err := s.AppendAudit(ctx, late...); err == nil {
		t.Error("AppendAudit with a bad 300th event: no error")
	}
	if n := len(get[[]storage.AuditEvent](t, "ListAudit")(s.ListAudit(ctx, storage.AuditFilter{}))); n != 4 {
		t.Errorf("after refused appends: %d events, want 4 (all or none)", n)
	}

	n := get[int64](t, "DeleteAuditBefore(at(2))")(s.DeleteAuditBefore(ctx, at(2).In(other)))
	if n != 2 {
		t.Errorf("DeleteAuditBefore(at(2)) deleted %d, want 2", n)
	}
	got := ids(get[[]storage.AuditEvent](t, "ListAudit")(s.ListAudit(ctx, storage.AuditFilter{})))
	if w := []string{storage.AuditKeyRotated, storage.AuditClientCreated}; !reflect.DeepEqual(got, w) {
		t.Errorf("after retention: %v, want %v", got, w)
	}
	if n := get[int64](t, "DeleteAuditBefore again")(s.DeleteAuditBefore(ctx, at(2))); n != 0 {
		t.Errorf("DeleteAuditBefore again deleted %d, want 0", n)
	}
	// A large batch (the background writer's) keeps its order.
	big := make([]storage.AuditEvent, 450)
	for i := range big {
		big[i] = ev(10, "c3", storage.AuditTokenIssued, fmt.Sprint(i))
	}
	must(t, "AppendAudit(450 events)", s.AppendAudit(ctx, big...))
	got = nil
	for _, e := range get[[]storage.AuditEvent](t, "ListAudit c3")(s.ListAudit(ctx, storage.AuditFilter{ClientID: "c3"})) {
		got = append(got, e.Target)
	}
	if len(got) != 450 || got[0] != "449" || got[449] != "0" {
		t.Errorf("a batch of 450 came back as %d events, first %v", len(got), got[:min(3, len(got))])
	}
	if after := latest(t, ctx, s); after != seq {
		t.Errorf("the audit trail appended to the change feed: %d -> %d", seq, after)
	}
}
