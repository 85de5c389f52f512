package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// fakeStore is an in-memory Store with the SaveKeys semantics of
// storage.Storage: updates first, then inserts, all or nothing; at most one
// next and one current key per algorithm, else storage.ErrAlreadyExists.
type fakeStore struct {
	mu         sync.Mutex
	keys       []storage.SigningKey
	lists      int
	saves      int
	beforeSave func() // called without the lock, before SaveKeys applies
	listErr    error
}

func cloneKey(k storage.SigningKey) storage.SigningKey {
	k.PrivateKey = bytes.Clone(k.PrivateKey)
	k.PublicJWK = bytes.Clone(k.PublicJWK)
	return k
}

func (s *fakeStore) ListKeys(context.Context) ([]storage.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	if s.listErr != nil {
		return nil, s.listErr
	}
	out := make([]storage.SigningKey, len(s.keys))
	for i, k := range s.keys {
		out[i] = cloneKey(k)
	}
	slices.SortStableFunc(out, func(a, b storage.SigningKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func (s *fakeStore) SaveKeys(_ context.Context, create, update []storage.SigningKey) error {
	s.mu.Lock()
	hook := s.beforeSave
	s.beforeSave = nil
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]storage.SigningKey, len(s.keys))
	for i, k := range s.keys {
		keys[i] = cloneKey(k)
	}
	for _, u := range update {
		i := slices.IndexFunc(keys, func(k storage.SigningKey) bool { return k.KID == u.KID })
		if i < 0 {
			return fmt.Errorf("update key %s: %w", u.KID, storage.ErrNotFound)
		}
		keys[i].State, keys[i].ActivatedAt, keys[i].RetireAt = u.State, u.ActivatedAt, u.RetireAt
	}
	for _, c := range create {
		if slices.ContainsFunc(keys, func(k storage.SigningKey) bool { return k.KID == c.KID }) {
			return fmt.Errorf("insert key %s: %w", c.KID, storage.ErrAlreadyExists)
		}
		keys = append(keys, cloneKey(c))
	}
	type algState struct{ alg, state string }
	count := map[algState]int{}
	for _, k := range keys {
		if k.State == storage.KeyNext || k.State == storage.KeyCurrent {
			as := algState{k.Alg, k.State}
			if count[as]++; count[as] > 1 {
				return fmt.Errorf("two %s %s keys: %w", k.State, k.Alg, storage.ErrAlreadyExists)
			}
		}
	}
	s.keys = keys
	s.saves++
	return nil
}

// snapshot returns the stored keys.
func (s *fakeStore) snapshot() []storage.SigningKey {
	keys, _ := s.ListKeys(context.Background())
	return keys
}

// counts returns how many ListKeys and successful SaveKeys calls happened.
func (s *fakeStore) counts() (lists, saves int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lists, s.saves
}

// edit changes the stored key kid in place.
func (s *fakeStore) edit(t *testing.T, kid string, f func(*storage.SigningKey)) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.keys {
		if s.keys[i].KID == kid {
			f(&s.keys[i])
			return
		}
	}
	t.Fatalf("no stored key %s", kid)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// keyPool hands out pre-generated keys so a test binary generates each RSA
// key once, however many managers and stores the tests create.
type keyPool struct {
	mu  sync.Mutex
	rsa []*rsa.PrivateKey
	ec  []*ecdsa.PrivateKey
	ed  []ed25519.PrivateKey
}

var testKeys keyPool

// get returns the i-th pooled key of the kind alg needs, generating keys
// until the pool is that large.
func (p *keyPool) get(alg string, i int) (crypto.Signer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch alg {
	case RS256, PS256:
		for len(p.rsa) <= i {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				return nil, err
			}
			p.rsa = append(p.rsa, k)
		}
		return p.rsa[i], nil
	case ES256:
		for len(p.ec) <= i {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				return nil, err
			}
			p.ec = append(p.ec, k)
		}
		return p.ec[i], nil
	case EdDSA:
		for len(p.ed) <= i {
			_, k, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return nil, err
			}
			p.ed = append(p.ed, k)
		}
		return p.ed[i], nil
	}
	return nil, fmt.Errorf("no test keys for %q", alg)
}

// poolGenerator returns a Config.Generate that hands out distinct pooled
// keys. Managers sharing a store must share one generator, so that they never
// create the same kid twice.
func poolGenerator() func(alg string) (crypto.Signer, error) {
	var mu sync.Mutex
	next := map[string]int{}
	return func(alg string) (crypto.Signer, error) {
		kind := alg
		if alg == PS256 {
			kind = RS256 // RS256 and PS256 share the RSA pool and its index
		}
		mu.Lock()
		i := next[kind]
		next[kind]++
		mu.Unlock()
		return testKeys.get(alg, i)
	}
}

// testEnv is a store, a clock and a generator that several managers share.
type testEnv struct {
	store *fakeStore
	clock *fakeClock
	gen   func(alg string) (crypto.Signer, error)
}

func newEnv() *testEnv {
	return &testEnv{store: &fakeStore{}, clock: newClock(), gen: poolGenerator()}
}

var testMasterKey = bytes.Repeat([]byte{0x42}, MasterKeySize)

// manager returns a Manager over the env with master key mk (testMasterKey
// if nil).
func (e *testEnv) manager(t testing.TB, mk []byte) *Manager {
	t.Helper()
	if mk == nil {
		mk = testMasterKey
	}
	m, err := New(Config{
		Store:     e.store,
		MasterKey: mk,
		Now:       e.clock.Now,
		Generate:  e.gen,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// byState returns the stored keys of alg in state.
func byState(keys []storage.SigningKey, alg, state string) []storage.SigningKey {
	var out []storage.SigningKey
	for _, k := range keys {
		if k.Alg == alg && k.State == state {
			out = append(out, k)
		}
	}
	return out
}

// only returns the single stored key of alg in state, failing otherwise.
func only(t *testing.T, keys []storage.SigningKey, alg, state string) storage.SigningKey {
	t.Helper()
	ks := byState(keys, alg, state)
	if len(ks) != 1 {
		t.Fatalf("%d %s keys in state %s, want 1", len(ks), alg, state)
	}
	return ks[0]
}
