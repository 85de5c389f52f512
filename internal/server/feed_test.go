package server_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// TestChangeFeedStaysBounded makes 400 admin changes against a running
// server whose feed upkeep runs every few tens of milliseconds: the feed
// holds no more than what the server has not yet marked read, and settles
// at a handful of rows, while the server's catalog has every change. (The
// feed used to keep every change ever made.)
func TestChangeFeedStaysBounded(t *testing.T) {
	opts := fixtureOptions()
	opts.FeedMarkInterval, opts.FeedPruneInterval, opts.FeedReaderTTL = 40*time.Millisecond, 50*time.Millisecond, time.Second
	f := setupFixtureOn(t, nil, opts, true, func(c *config.Config) { c.SyncInterval = 20 * time.Millisecond })
	db, err := sql.Open("sqlite", strings.TrimPrefix(f.db, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows := func() int {
		t.Helper()
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM changes").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const changes = 400
	most := 0
	for i := range changes {
		if _, _, err := f.admin.CreateClient(f.ctx, admin.ClientInput{Name: fmt.Sprintf("c%d", i)}); err != nil {
			t.Fatal(err)
		}
		if i%20 == 0 {
			most = max(most, rows())
			time.Sleep(10 * time.Millisecond)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for rows() > 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the feed still holds %d rows 3 s after %d changes", rows(), changes)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("at most %d rows in the feed during %d changes", most, changes)
	if most > 3*changes/4 {
		t.Errorf("the feed held %d rows during %d changes: not pruned as the server read it", most, changes)
	}
	// The catalog follows within its promise of a second, also when it fell
	// behind under load (-race) and was cut off: the feed pruned past it,
	// it loads everything again.
	for deadline := time.Now().Add(time.Second); ; time.Sleep(20 * time.Millisecond) {
		n, _ := f.srv.Catalog().Snapshot().Len()
		if n == changes+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the catalog has %d clients a second after the feed drained, want %d", n, changes+1)
		}
	}
}
