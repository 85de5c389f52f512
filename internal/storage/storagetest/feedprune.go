package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// testFeedPruning checks MarkFeedRead and PruneChanges: a change is
// deleted once every live reader has read it, a reader not seen within
// the bound stops holding the feed back and learns from the prune mark
// that it must reload, the newest change always stays, and over many
// changes the feed stays as short as its slowest live reader keeps it.
func testFeedPruning(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	mark := func(reader string, seq int64, now time.Time) int64 {
		t.Helper()
		return get[int64](t, "MarkFeedRead "+reader)(s.MarkFeedRead(ctx, reader, seq, now))
	}
	var pruned int64 // the mark as of the last prune
	prune := func(liveSince time.Time) (int64, int64) {
		t.Helper()
		m, n, err := s.PruneChanges(ctx, liveSince)
		must(t, "PruneChanges", err)
		pruned = m
		return m, n
	}
	create := func(from, n int) []storage.Change {
		t.Helper()
		for i := from; i < from+n; i++ {
			must(t, "CreateClient", s.CreateClient(ctx, newClient(fmt.Sprintf("c%04d", i), at(i))))
		}
		return changesSince(t, ctx, s, pruned)
	}

	if m, n := prune(at(0)); m != 0 || n != 0 {
		t.Errorf("PruneChanges of an empty feed = %d, %d; want 0, 0", m, n)
	}
	all := create(0, 10)
	if m := mark("a", all[3].Seq, at(10)); m != 0 {
		t.Errorf("MarkFeedRead before any pruning = %d, want 0", m)
	}
	mark("b", all[6].Seq, at(10))
	m, n := prune(at(5))
	if m != all[3].Seq || n != 4 {
		t.Errorf("PruneChanges with readers at #3 and #6 = mark %d, %d deleted; want %d, 4", m, n, all[3].Seq)
	}
	if got := changesSince(t, ctx, s, m); len(got) != 6 || got[0] != all[4] {
		t.Errorf("after pruning: %v, want the changes from #4 on", got)
	}
	if l := latest(t, ctx, s); l != all[9].Seq {
		t.Errorf("LatestChange after pruning = %d, want %d", l, all[9].Seq)
	}
	if m := mark("b", all[9].Seq, at(20)); m != all[3].Seq {
		t.Errorf("MarkFeedRead returns the mark %d, want %d", m, all[3].Seq)
	}

	// Reader a goes quiet: once it is older than the bound, the feed is
	// pruned past it (never the newest change), and a's next mark shows it
	// that it is behind.
	m, n = prune(at(15))
	if m < all[8].Seq || m >= all[9].Seq || n != 5 {
		t.Errorf("PruneChanges past a stale reader = mark %d, %d deleted; want %d (all but the newest), 5", m, n, all[8].Seq)
	}
	if got := changesSince(t, ctx, s, m); len(got) != 1 || got[0] != all[9] {
		t.Errorf("after pruning past the stale reader: %v, want the newest change only", got)
	}
	if m := mark("a", all[3].Seq, at(30)); m <= all[3].Seq {
		t.Errorf("a stale reader at %d gets the mark %d: it cannot tell it missed changes", all[3].Seq, m)
	}
	// Reading on from its old position is refused, not answered with what
	// is left: the follower must load everything again.
	if _, err := s.ChangesSince(ctx, all[3].Seq, 100); !errors.Is(err, storage.ErrFeedPruned) {
		t.Errorf("ChangesSince from a pruned position: %v, want ErrFeedPruned", err)
	}
	if got := get[[]storage.Change](t, "ChangesSince")(s.ChangesSince(ctx, m, 100)); len(got) != 1 || got[0] != all[9] {
		t.Errorf("ChangesSince from the mark = %v, want the newest change", got)
	}

	// Over many changes with two readers keeping up, the feed stays short.
	most := 0
	for round := range 20 {
		now := at(100 + round)
		all = create(10+round*25, 25)
		last := all[len(all)-1].Seq
		mark("a", last, now)
		mark("b", all[len(all)-5].Seq, now)
		prune(now.Add(-time.Minute))
		most = max(most, len(changesSince(t, ctx, s, pruned)))
	}
	if most > 25+5 {
		t.Errorf("the feed held up to %d changes over 500 writes with readers at most 5 behind, want at most 30", most)
	}
	// Nobody reads any more: everything but the newest goes.
	prune(at(1000))
	if got := changesSince(t, ctx, s, pruned); len(got) != 1 {
		t.Errorf("with no live reader the feed keeps %d changes, want the newest only", len(got))
	}
	if _, err := s.MarkFeedRead(ctx, "", 1, at(0)); err == nil {
		t.Error("MarkFeedRead with no reader name: no error")
	}
}
