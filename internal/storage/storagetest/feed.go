package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// testChangeFeed checks the change rows of every kind of write, step by step.
func testChangeFeed(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	type S = storage.Storage
	type K = []storage.SigningKey
	rotated := func() (create, update K) {
		k2 := newKey("k2", "RS256", storage.KeyCurrent, at(1))
		k1 := newKey("k1", "RS256", storage.KeyPrevious, at(0))
		return K{newKey("k3", "RS256", storage.KeyNext, at(2))}, K{k2, k1}
	}
	steps := []struct {
		name    string
		do      func(ctx context.Context, s S) error
		wantErr error
		want    []change
	}{
		{"CreateAPI a", func(ctx context.Context, s S) error { return s.CreateAPI(ctx, newAPI(apiA)) },
			nil, []change{apiChange(apiA)}},
		{"CreateAPI b", func(ctx context.Context, s S) error { return s.CreateAPI(ctx, newAPI(apiB)) },
			nil, []change{apiChange(apiB)}},
		{"UpdateAPI b", func(ctx context.Context, s S) error { return s.UpdateAPI(ctx, newAPI(apiB)) },
			nil, []change{apiChange(apiB)}},
		{"failed UpdateAPI", func(ctx context.Context, s S) error { return s.UpdateAPI(ctx, newAPI("https://missing.example.com/")) },
			storage.ErrNotFound, nil},
		{"CreateClient c1 with a secret", func(ctx context.Context, s S) error {
			return s.CreateClient(ctx, newClient("c1", at(1)), newSecret("s1", "c1", at(1)))
		}, nil, []change{clientChange("c1")}},
		{"CreateClient c2", func(ctx context.Context, s S) error { return s.CreateClient(ctx, newClient("c2", at(2))) },
			nil, []change{clientChange("c2")}},
		{"AddSecret", func(ctx context.Context, s S) error { return s.AddSecret(ctx, newSecret("s2", "c1", at(3))) },
			nil, []change{clientChange("c1")}},
		{"RotateSecret", func(ctx context.Context, s S) error {
			return s.RotateSecret(ctx, newSecret("s3", "c1", at(4)), at(60))
		}, nil, []change{clientChange("c1")}},
		{"TouchSecrets", func(ctx context.Context, s S) error {
			return s.TouchSecrets(ctx, map[string]time.Time{"s1": at(5), "s3": at(5)})
		}, nil, nil},
		{"CreateGrant c1 a", func(ctx context.Context, s S) error { return s.CreateGrant(ctx, newGrant("g1", "c1", apiA, at(6))) },
			nil, []change{clientChange("c1")}},
		{"CreateGrant c2 a", func(ctx context.Context, s S) error { return s.CreateGrant(ctx, newGrant("g2", "c2", apiA, at(6))) },
			nil, []change{clientChange("c2")}},
		{"CreateGrant c2 b", func(ctx context.Context, s S) error { return s.CreateGrant(ctx, newGrant("g3", "c2", apiB, at(6))) },
			nil, []change{clientChange("c2")}},
		{"SetClientDisabled(true)", func(ctx context.Context, s S) error { return s.SetClientDisabled(ctx, "c1", true, at(7)) },
			nil, []change{clientChange("c1")}},
		{"SetClientDisabled(false)", func(ctx context.Context, s S) error { return s.SetClientDisabled(ctx, "c1", false, at(8)) },
			nil, []change{clientChange("c1")}},
		{"UpdateClient", func(ctx context.Context, s S) error { return s.UpdateClient(ctx, newClient("c1", at(8))) },
			nil, []change{clientChange("c1")}},
		{"failed UpdateClient", func(ctx context.Context, s S) error { return s.UpdateClient(ctx, newClient("c9", at(8))) },
			storage.ErrNotFound, nil},
		{"DeleteSecret", func(ctx context.Context, s S) error { return s.DeleteSecret(ctx, "c1", "s2") },
			nil, []change{clientChange("c1")}},
		{"UpdateGrant", func(ctx context.Context, s S) error { return s.UpdateGrant(ctx, "g3", []string{"x"}) },
			nil, []change{clientChange("c2")}},
		{"failed UpdateGrant", func(ctx context.Context, s S) error { return s.UpdateGrant(ctx, "g9", nil) },
			storage.ErrNotFound, nil},
		{"DeleteGrant", func(ctx context.Context, s S) error { return s.DeleteGrant(ctx, "g3") },
			nil, []change{clientChange("c2")}},
		{"failed CreateAPI", func(ctx context.Context, s S) error { return s.CreateAPI(ctx, newAPI(apiA)) },
			storage.ErrAlreadyExists, nil},
		{"failed DeleteClient", func(ctx context.Context, s S) error { return s.DeleteClient(ctx, "c9") },
			storage.ErrNotFound, nil},
		{"SaveKeys(create)", func(ctx context.Context, s S) error {
			return s.SaveKeys(ctx, K{newKey("k1", "RS256", storage.KeyCurrent, at(0)), newKey("k2", "RS256", storage.KeyNext, at(1))}, nil)
		}, nil, []change{keyChange("k1"), keyChange("k2")}},
		{"SaveKeys(rotation)", func(ctx context.Context, s S) error {
			create, update := rotated()
			return s.SaveKeys(ctx, create, update)
		},
			nil, []change{keyChange("k1"), keyChange("k2"), keyChange("k3")}},
		{"DeleteAPI a: its grants' clients change", func(ctx context.Context, s S) error { return s.DeleteAPI(ctx, apiA) },
			nil, []change{apiChange(apiA), clientChange("c1"), clientChange("c2")}},
		{"DeleteClient c2", func(ctx context.Context, s S) error { return s.DeleteClient(ctx, "c2") },
			nil, []change{clientChange("c2")}},
		{"DeleteAPI b: no grants left", func(ctx context.Context, s S) error { return s.DeleteAPI(ctx, apiB) },
			nil, []change{apiChange(apiB)}},
	}
	ctx := t.Context()
	s := newStore(t)
	seq := latest(t, ctx, s)
	for _, st := range steps {
		err := st.do(ctx, s)
		switch {
		case st.wantErr == nil && err != nil:
			t.Fatalf("%s: %v", st.name, err)
		case st.wantErr != nil && !errors.Is(err, st.wantErr):
			t.Fatalf("%s: error %v, want %v", st.name, err, st.wantErr)
		}
		seq = wantChanges(t, ctx, s, st.name, seq, st.want...)
	}
}

func testChangeFeedPaging(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	const n = 10
	for i := range n {
		must(t, "CreateClient", s.CreateClient(ctx, newClient(fmt.Sprintf("c%02d", i), at(i))))
	}
	all := changesSince(t, ctx, s, 0)
	if len(all) != n {
		t.Fatalf("ChangesSince(0): %d changes, want %d", len(all), n)
	}
	for i, c := range all {
		if want := clientChange(fmt.Sprintf("c%02d", i)); (change{c.Entity, c.ID}) != want {
			t.Errorf("change #%d = %v, want %v (writes in order)", i, change{c.Entity, c.ID}, want)
		}
	}
	if l := latest(t, ctx, s); l != all[n-1].Seq {
		t.Errorf("LatestChange = %d, want %d", l, all[n-1].Seq)
	}

	for _, limit := range []int{1, 3, n, n + 1} {
		var paged []storage.Change
		for seq, pages := int64(0), 0; ; pages++ {
			if pages > n+1 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			page := get[[]storage.Change](t, "ChangesSince")(s.ChangesSince(ctx, seq, limit))
			if len(page) > limit {
				t.Fatalf("ChangesSince(%d, %d): %d changes", seq, limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			paged = append(paged, page...)
			seq = page[len(page)-1].Seq
		}
		if !slices.Equal(paged, all) {
			t.Errorf("paged with limit %d: %v, want %v", limit, paged, all)
		}
	}
	// From the middle, and from the end.
	mid := all[3].Seq
	if got := get[[]storage.Change](t, "ChangesSince")(s.ChangesSince(ctx, mid, 2)); !slices.Equal(got, all[4:6]) {
		t.Errorf("ChangesSince(%d, 2) = %v, want %v", mid, got, all[4:6])
	}
	if got := get[[]storage.Change](t, "ChangesSince")(s.ChangesSince(ctx, all[n-1].Seq, 5)); len(got) != 0 {
		t.Errorf("ChangesSince(latest) = %v, want none", got)
	}
}

// testConcurrent runs writers at once, as several gatehouse processes do.
func testConcurrent(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	const n = 8

	t.Run("distinct writes all succeed", func(t *testing.T) {
		ctx := t.Context()
		s := newStore(t)
		must(t, "CreateAPI", s.CreateAPI(ctx, newAPI(apiA)))
		seq := latest(t, ctx, s)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				id := fmt.Sprintf("c%d", i)
				errs[i] = s.CreateClient(ctx, newClient(id, at(i)), newSecret("s"+id, id, at(i)))
			})
		}
		wg.Wait()
		var want []change
		for i, err := range errs {
			must(t, fmt.Sprintf("CreateClient #%d", i), err)
			want = append(want, clientChange(fmt.Sprintf("c%d", i)))
		}
		wantChanges(t, ctx, s, "concurrent CreateClient", seq, want...)
		if cs := get[[]storage.Client](t, "ListClients")(s.ListClients(ctx)); len(cs) != n {
			t.Errorf("ListClients: %d clients, want %d", len(cs), n)
		}
	})

	t.Run("one of racing creates wins", func(t *testing.T) {
		ctx := t.Context()
		s := newStore(t)
		must(t, "SaveKeys", s.SaveKeys(ctx, []storage.SigningKey{newKey("k0", "RS256", storage.KeyCurrent, at(0))}, nil))
		seq := latest(t, ctx, s)
		apiErrs, keyErrs := make([]error, n), make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { apiErrs[i] = s.CreateAPI(ctx, newAPI(apiA)) })
			wg.Go(func() {
				keyErrs[i] = s.SaveKeys(ctx, []storage.SigningKey{newKey(fmt.Sprintf("k%d", i+1), "RS256", storage.KeyNext, at(i))}, nil)
			})
		}
		wg.Wait()
		var winner string
		for what, errs := range map[string][]error{"CreateAPI": apiErrs, "SaveKeys(next)": keyErrs} {
			wins := 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
					if what == "SaveKeys(next)" {
						winner = fmt.Sprintf("k%d", i+1)
					}
				case !errors.Is(err, storage.ErrAlreadyExists):
					t.Errorf("%s #%d: error %v, want nil or %v", what, i, err, storage.ErrAlreadyExists)
				}
			}
			if wins != 1 {
				t.Errorf("%s: %d of %d racing calls succeeded, want 1", what, wins, n)
			}
		}
		if winner != "" {
			wantChanges(t, ctx, s, "racing creates", seq, apiChange(apiA), keyChange(winner))
		}
		if ks := get[[]storage.SigningKey](t, "ListKeys")(s.ListKeys(ctx)); len(ks) != 2 {
			t.Errorf("ListKeys: %d keys, want 2", len(ks))
		}
	})

	t.Run("a follower sees every change", func(t *testing.T) {
		// A follower polls the feed while writers write, as the catalog does:
		// it must not skip a change that commits after a later one is seen.
		ctx := t.Context()
		s := newStore(t)
		const perWriter = 10
		done := make(chan struct{})
		var (
			seen      []storage.Change
			followErr error
			follower  sync.WaitGroup
		)
		follower.Go(func() {
			var seq int64
			poll := func() bool {
				cs, err := s.ChangesSince(ctx, seq, 7)
				if err != nil {
					followErr = err
					return false
				}
				seen = append(seen, cs...)
				if len(cs) > 0 {
					seq = cs[len(cs)-1].Seq
				}
				return len(cs) > 0
			}
			for {
				select {
				case <-done:
					for poll() {
					}
					return
				default:
					if !poll() {
						time.Sleep(time.Millisecond)
					}
				}
			}
		})
		errs := make([]error, n)
		var writers sync.WaitGroup
		for w := range n {
			writers.Go(func() {
				for i := range perWriter {
					id := fmt.Sprintf("c%d-%d", w, i)
					if err := s.CreateClient(ctx, newClient(id, at(i))); err != nil {
						errs[w] = err
						return
					}
				}
			})
		}
		writers.Wait()
		close(done)
		follower.Wait()
		for w, err := range errs {
			must(t, fmt.Sprintf("writer %d", w), err)
		}
		if followErr != nil {
			t.Fatalf("follower: %v", followErr)
		}
		all := changesSince(t, ctx, s, 0)
		if len(all) != n*perWriter {
			t.Errorf("ChangesSince(0): %d changes, want %d", len(all), n*perWriter)
		}
		if !slices.Equal(seen, all) {
			t.Errorf("the follower saw %d changes, want all %d in order", len(seen), len(all))
		}
	})
}
