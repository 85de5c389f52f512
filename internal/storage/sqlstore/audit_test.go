package sqlstore_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
)

// TestAuditAppendsAtTheEnd guards the audit table's write cost under token
// load (migration 0008): its only index is by time, which grows at its end,
// and a client's events are found by walking it newest first, not by a scan
// and a sort of the whole table.
func TestAuditAppendsAtTheEnd(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.DB().QueryContext(t.Context(), "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events' AND sql IS NOT NULL ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	var indexes []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, n)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"audit_events_at"}; !slices.Equal(indexes, want) {
		t.Errorf("indexes on audit_events = %v, want %v", indexes, want)
	}
	var plan []string
	q, args := s.ListAuditQuery(storage.AuditFilter{ClientID: "c", Since: time.Unix(0, 0), Limit: 10})
	rows, err = s.DB().QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if len(plan) != 1 || !strings.Contains(plan[0], "USING INDEX audit_events_at") {
		t.Errorf("plan of a client's events = %q, want one walk of audit_events_at", plan)
	}
}
