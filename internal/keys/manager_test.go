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
	"crypto/x509"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

var ctx = context.Background()

func TestNew(t *testing.T) {
	store := &fakeStore{}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"ok", Config{Store: store, MasterKey: testMasterKey}, ""},
		{"no store", Config{MasterKey: testMasterKey}, "Store is required"},
		{"no master key", Config{Store: store}, "master key is 0 bytes"},
		{"short master key", Config{Store: store, MasterKey: testMasterKey[:16]}, "master key is 16 bytes"},
		{"negative max age", Config{Store: store, MasterKey: testMasterKey, JWKSMaxAge: -time.Second}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if m.JWKSMaxAge() != DefaultJWKSMaxAge {
					t.Errorf("JWKSMaxAge = %s, want %s", m.JWKSMaxAge(), DefaultJWKSMaxAge)
				}
				if got := string(m.JWKS()); got != `{"keys":[]}` {
					t.Errorf("JWKS before Load = %s", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestDefaultGenerate(t *testing.T) {
	tests := []struct {
		alg  string
		want func(crypto.Signer) bool
	}{
		{RS256, func(k crypto.Signer) bool { r, ok := k.(*rsa.PrivateKey); return ok && r.N.BitLen() == 2048 }},
		{ES256, func(k crypto.Signer) bool { e, ok := k.(*ecdsa.PrivateKey); return ok && e.Curve == elliptic.P256() }},
		{EdDSA, func(k crypto.Signer) bool { _, ok := k.(ed25519.PrivateKey); return ok }},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			k, err := generateKey(rand.Reader, tt.alg)
			if err != nil {
				t.Fatalf("generateKey: %v", err)
			}
			if !tt.want(k) {
				t.Errorf("generateKey(%s) = %T", tt.alg, k)
			}
		})
	}
	if _, err := generateKey(rand.Reader, "HS256"); err == nil {
		t.Error("generateKey(HS256) succeeded")
	}
}

func TestEnsure(t *testing.T) {
	e := newEnv()
	m := e.manager(t, nil)
	if m.HasCurrent(RS256) {
		t.Fatal("HasCurrent before Ensure")
	}
	if _, err := m.Sign(RS256, TypeAccessToken, []byte("{}")); !errors.Is(err, ErrNoCurrentKey) {
		t.Fatalf("Sign before Ensure: %v, want ErrNoCurrentKey", err)
	}
	if err := m.Ensure(ctx, SupportedAlgs...); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	stored := e.store.snapshot()
	if len(stored) != 2*len(SupportedAlgs) {
		t.Fatalf("%d stored keys, want %d", len(stored), 2*len(SupportedAlgs))
	}
	now := e.clock.Now()
	for _, alg := range SupportedAlgs {
		t.Run(alg, func(t *testing.T) {
			cur := only(t, stored, alg, storage.KeyCurrent)
			next := only(t, stored, alg, storage.KeyNext)
			if !cur.ActivatedAt.Equal(now) || !cur.CreatedAt.Equal(now) || !next.CreatedAt.Equal(now) {
				t.Errorf("times: current created %s activated %s, next created %s; want %s", cur.CreatedAt, cur.ActivatedAt, next.CreatedAt, now)
			}
			if !next.ActivatedAt.IsZero() || !next.RetireAt.IsZero() || !cur.RetireAt.IsZero() {
				t.Error("next key has ActivatedAt or a key has RetireAt")
			}
			if !m.HasCurrent(alg) {
				t.Error("HasCurrent false after Ensure")
			}
			for _, k := range []storage.SigningKey{cur, next} {
				checkStoredKey(t, k)
			}
		})
	}
	_, savesBefore := e.store.counts()
	if err := m.Ensure(ctx, SupportedAlgs...); err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	if _, saves := e.store.counts(); saves != savesBefore {
		t.Errorf("second Ensure saved keys (%d saves, want %d)", saves, savesBefore)
	}
	if got := len(e.store.snapshot()); got != len(stored) {
		t.Errorf("second Ensure: %d keys, want %d", got, len(stored))
	}

	keys := m.Keys()
	if len(keys) != len(stored) {
		t.Fatalf("Keys() has %d keys, want %d", len(keys), len(stored))
	}
	for _, k := range keys {
		if k.PrivateKey != nil {
			t.Errorf("Keys() returned private key bytes of %s", k.KID)
		}
	}

	for _, alg := range []string{"HS256", "none", ""} {
		if err := m.Ensure(ctx, alg); err == nil || !strings.Contains(err.Error(), "unsupported signing algorithm") {
			t.Errorf("Ensure(%q) error %v, want unsupported signing algorithm", alg, err)
		}
	}
}

// checkStoredKey checks a stored key's kid, public JWK and that its private
// key is not stored in the clear.
func checkStoredKey(t *testing.T, k storage.SigningKey) {
	t.Helper()
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(k.PublicJWK); err != nil {
		t.Fatalf("stored public JWK of %s: %v", k.KID, err)
	}
	if !jwk.IsPublic() || jwk.KeyID != k.KID || jwk.Algorithm != k.Alg || jwk.Use != "sig" {
		t.Errorf("stored public JWK %s: public %v kid %q alg %q use %q", k.PublicJWK, jwk.IsPublic(), jwk.KeyID, jwk.Algorithm, jwk.Use)
	}
	kid, err := thumbprint(jwk.Key)
	if err != nil || kid != k.KID {
		t.Errorf("kid %s is not the RFC 7638 thumbprint %s (%v)", k.KID, kid, err)
	}
	for _, off := range []int{0, nonceSize} {
		if _, err := x509.ParsePKCS8PrivateKey(k.PrivateKey[off:]); err == nil {
			t.Errorf("stored private key of %s is not encrypted", k.KID)
		}
	}
	der, err := open(testMasterKey, k.PrivateKey, keyAAD(k.KID, k.Alg))
	if err != nil {
		t.Fatalf("open stored private key of %s: %v", k.KID, err)
	}
	if _, err := x509.ParsePKCS8PrivateKey(der); err != nil {
		t.Errorf("stored private key of %s is not PKCS #8: %v", k.KID, err)
	}
}

func TestEnsureConcurrent(t *testing.T) {
	e := newEnv()
	managers := []*Manager{e.manager(t, nil), e.manager(t, nil), e.manager(t, nil)}
	var wg sync.WaitGroup
	errs := make([]error, len(managers))
	for i, m := range managers {
		wg.Go(func() { errs[i] = m.Ensure(ctx, ES256, EdDSA) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Ensure #%d: %v", i, err)
		}
	}
	stored := e.store.snapshot()
	for _, alg := range []string{ES256, EdDSA} {
		cur := only(t, stored, alg, storage.KeyCurrent)
		only(t, stored, alg, storage.KeyNext)
		for i, m := range managers {
			if kid := signedKID(t, m, alg); kid != cur.KID {
				t.Errorf("manager #%d signs %s with %s, want the stored current %s", i, alg, kid, cur.KID)
			}
		}
	}
}

func TestEnsureFillsMissingNext(t *testing.T) {
	e := newEnv()
	m := e.manager(t, nil)
	if err := m.Ensure(ctx, ES256); err != nil {
		t.Fatal(err)
	}
	next := only(t, e.store.snapshot(), ES256, storage.KeyNext)
	e.store.edit(t, next.KID, func(k *storage.SigningKey) { k.State = storage.KeyRetired })
	if err := m.Ensure(ctx, ES256); err != nil {
		t.Fatal(err)
	}
	if got := only(t, e.store.snapshot(), ES256, storage.KeyNext); got.KID == next.KID {
		t.Error("Ensure did not create a new next key")
	}
}

// signedKID signs a token with m and returns the kid of its header.
func signedKID(t *testing.T, m *Manager, alg string) string {
	t.Helper()
	tok, err := m.Sign(alg, TypeAccessToken, []byte(`{"sub":"x"}`))
	if err != nil {
		t.Fatalf("Sign %s: %v", alg, err)
	}
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		t.Fatalf("parse %s token: %v", alg, err)
	}
	return jws.Signatures[0].Header.KeyID
}

func TestLoadWrongMasterKey(t *testing.T) {
	e := newEnv()
	if err := e.manager(t, nil).Ensure(ctx, ES256); err != nil {
		t.Fatal(err)
	}
	other := e.manager(t, bytes.Repeat([]byte{0x99}, MasterKeySize))
	err := other.Load(ctx)
	if !errors.Is(err, ErrMasterKeyMismatch) {
		t.Fatalf("Load with another master key: %v, want ErrMasterKeyMismatch", err)
	}
	stored := e.store.snapshot()
	mentionsKID := false
	for _, k := range stored {
		mentionsKID = mentionsKID || strings.Contains(err.Error(), k.KID)
	}
	if !mentionsKID || !strings.Contains(err.Error(), "GATEHOUSE_MASTER_KEY") || !strings.Contains(err.Error(), "key file") {
		t.Errorf("error %q should name the kid, GATEHOUSE_MASTER_KEY and the key file", err)
	}
	if other.HasCurrent(ES256) || string(other.JWKS()) != `{"keys":[]}` {
		t.Error("a failed Load changed the key set")
	}
	// Ensure must not paper over it by creating keys.
	if err := other.Ensure(ctx, ES256); !errors.Is(err, ErrMasterKeyMismatch) {
		t.Errorf("Ensure with another master key: %v, want ErrMasterKeyMismatch", err)
	}
}

func TestLoadRejectsBadRows(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(t *testing.T, s *fakeStore, cur, next storage.SigningKey)
		wantErr string
		is      error
	}{
		{
			name: "ciphertext moved to another row",
			edit: func(t *testing.T, s *fakeStore, cur, next storage.SigningKey) {
				s.edit(t, cur.KID, func(k *storage.SigningKey) { k.PrivateKey = next.PrivateKey })
			},
			is: ErrMasterKeyMismatch,
		},
		{
			name: "tampered ciphertext",
			edit: func(t *testing.T, s *fakeStore, cur, _ storage.SigningKey) {
				s.edit(t, cur.KID, func(k *storage.SigningKey) { k.PrivateKey[20] ^= 1 })
			},
			is: ErrMasterKeyMismatch,
		},
		{
			name: "public jwk of another key",
			edit: func(t *testing.T, s *fakeStore, cur, next storage.SigningKey) {
				s.edit(t, cur.KID, func(k *storage.SigningKey) { k.PublicJWK = next.PublicJWK })
			},
			wantErr: "not its kid",
		},
		{
			name: "broken public jwk",
			edit: func(t *testing.T, s *fakeStore, cur, _ storage.SigningKey) {
				s.edit(t, cur.KID, func(k *storage.SigningKey) { k.PublicJWK = []byte(`{"kty":`) })
			},
			wantErr: "parse public jwk",
		},
		{
			name: "two current keys",
			edit: func(t *testing.T, s *fakeStore, _, next storage.SigningKey) {
				s.edit(t, next.KID, func(k *storage.SigningKey) { k.State = storage.KeyCurrent })
			},
			wantErr: "two current keys",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv()
			if err := e.manager(t, nil).Ensure(ctx, ES256); err != nil {
				t.Fatal(err)
			}
			stored := e.store.snapshot()
			tt.edit(t, e.store, only(t, stored, ES256, storage.KeyCurrent), only(t, stored, ES256, storage.KeyNext))
			err := e.manager(t, nil).Load(ctx)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Load error %v, want %v", err, tt.is)
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load error %q, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadIgnoresUnknownRows(t *testing.T) {
	e := newEnv()
	m := e.manager(t, nil)
	if err := m.Ensure(ctx, ES256); err != nil {
		t.Fatal(err)
	}
	e.store.keys = append(e.store.keys,
		storage.SigningKey{KID: "future", Alg: "ML-DSA-44", State: storage.KeyCurrent, CreatedAt: e.clock.Now()},
		storage.SigningKey{KID: "odd", Alg: ES256, State: "archived", CreatedAt: e.clock.Now()},
	)
	if err := m.Load(ctx); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := len(jwksKeys(t, m)); got != 2 {
		t.Errorf("JWKS has %d keys, want 2", got)
	}
	if got := len(m.Keys()); got != 4 {
		t.Errorf("Keys has %d keys, want 4", got)
	}
}

func TestLoadDecryptsOnlyNewKeys(t *testing.T) {
	e := newEnv()
	m1, m2 := e.manager(t, nil), e.manager(t, nil)
	if err := m1.Ensure(ctx, ES256); err != nil {
		t.Fatal(err)
	}
	if err := m2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	// Make the stored ciphertexts undecryptable: a Load that decrypted an
	// already cached key again would fail.
	for _, k := range e.store.snapshot() {
		e.store.edit(t, k.KID, func(k *storage.SigningKey) { k.PrivateKey = []byte("garbage") })
	}
	e.clock.Advance(time.Hour)
	if _, err := m1.Rotate(ctx, RotateOptions{MaxTokenLifetime: time.Hour}); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if err := m2.Load(ctx); err != nil {
		t.Fatalf("Load after a rotation of cached keys: %v", err)
	}
	if got, want := signedKID(t, m2, ES256), only(t, e.store.snapshot(), ES256, storage.KeyCurrent).KID; got != want {
		t.Errorf("m2 signs with %s, want the rotated current %s", got, want)
	}

	// Nothing changed: Load lists the keys and keeps the same key set.
	before := m2.set.Load()
	if err := m2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if m2.set.Load() != before {
		t.Error("Load without changes swapped the key set")
	}

	// A store failure keeps the loaded keys.
	e.store.listErr = errors.New("database is locked")
	if err := m2.Load(ctx); err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Errorf("Load with a failing store: %v", err)
	}
	if !m2.HasCurrent(ES256) {
		t.Error("a failed Load dropped the keys")
	}
}

func TestSign(t *testing.T) {
	e := newEnv()
	m := e.manager(t, nil)
	if err := m.Ensure(ctx, SupportedAlgs...); err != nil {
		t.Fatal(err)
	}
	set := jwksSet(t, m)
	payload := []byte(`{"iss":"https://issuer.example/","sub":"client","aud":"https://api.example/"}`)
	for _, alg := range SupportedAlgs {
		for _, typ := range []string{TypeAccessToken, TypeJWT} {
			t.Run(alg+"/"+typ, func(t *testing.T) {
				tok, err := m.Sign(alg, typ, payload)
				if err != nil {
					t.Fatalf("Sign: %v", err)
				}
				if strings.Count(tok, ".") != 2 {
					t.Fatalf("token %q is not a JWS compact serialization", tok)
				}
				jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
				if err != nil {
					t.Fatalf("ParseSigned: %v", err)
				}
				h := jws.Signatures[0].Header
				cur := only(t, e.store.snapshot(), alg, storage.KeyCurrent)
				if h.Algorithm != alg || h.KeyID != cur.KID || h.ExtraHeaders[jose.HeaderType] != typ {
					t.Errorf("header alg %q kid %q typ %v, want %s %s %s", h.Algorithm, h.KeyID, h.ExtraHeaders[jose.HeaderType], alg, cur.KID, typ)
				}
				if len(h.ExtraHeaders) != 1 || h.JSONWebKey != nil {
					t.Errorf("unexpected header members: %+v", h)
				}
				keys := set.Key(h.KeyID)
				if len(keys) != 1 {
					t.Fatalf("JWKS has %d keys with kid %s", len(keys), h.KeyID)
				}
				got, err := jws.Verify(keys[0])
				if err != nil {
					t.Fatalf("Verify with the JWKS key: %v", err)
				}
				if !bytes.Equal(got, payload) {
					t.Errorf("payload %s, want %s", got, payload)
				}
			})
		}
	}
	t.Run("errors", func(t *testing.T) {
		if _, err := m.Sign(RS256, "jwt", payload); err == nil || !strings.Contains(err.Error(), "unsupported typ") {
			t.Errorf("Sign with typ jwt: %v", err)
		}
		if _, err := m.Sign("HS256", TypeAccessToken, payload); !errors.Is(err, ErrNoCurrentKey) {
			t.Errorf("Sign HS256: %v", err)
		}
	})
}

// jwksKeys decodes m.JWKS() generically.
func jwksKeys(t *testing.T, m *Manager) []map[string]any {
	t.Helper()
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(m.JWKS(), &doc); err != nil {
		t.Fatalf("JWKS is not JSON: %v", err)
	}
	return doc.Keys
}

// jwksSet decodes m.JWKS() with go-jose.
func jwksSet(t *testing.T, m *Manager) jose.JSONWebKeySet {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(m.JWKS(), &set); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	return set
}

// jwksKIDs returns the kids in m.JWKS().
func jwksKIDs(t *testing.T, m *Manager) map[string]bool {
	t.Helper()
	kids := map[string]bool{}
	for _, k := range jwksKeys(t, m) {
		kids[k["kid"].(string)] = true
	}
	return kids
}

func TestJWKS(t *testing.T) {
	e := newEnv()
	m := e.manager(t, nil)
	if err := m.Ensure(ctx, SupportedAlgs...); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if _, err := m.Rotate(ctx, RotateOptions{MaxTokenLifetime: time.Hour}); err != nil {
		t.Fatal(err)
	}
	keys := jwksKeys(t, m)
	if len(keys) != 3*len(SupportedAlgs) {
		t.Fatalf("JWKS has %d keys, want next, current and previous of %d algs", len(keys), len(SupportedAlgs))
	}
	wantKty := map[string]string{RS256: "RSA", PS256: "RSA", ES256: "EC", EdDSA: "OKP"}
	private := []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
	for _, k := range keys {
		alg, _ := k["alg"].(string)
		if k["kid"] == "" || k["use"] != "sig" || k["kty"] != wantKty[alg] {
			t.Errorf("JWK %v: want kid, use sig and kty %s", k, wantKty[alg])
		}
		for _, p := range private {
			if _, ok := k[p]; ok {
				t.Errorf("JWK %s has private member %q", k["kid"], p)
			}
		}
	}
	// Callers may not corrupt the shared document.
	b := m.JWKS()
	clear(b)
	if _, err := json.Marshal(json.RawMessage(m.JWKS())); err != nil {
		t.Error("modifying a JWKS() result changed the next one")
	}
}

func TestRotate(t *testing.T) {
	e := newEnv()
	m := e.manager(t, nil)
	if err := m.Ensure(ctx, SupportedAlgs...); err != nil {
		t.Fatal(err)
	}
	before := e.store.snapshot()
	tokens := map[string]string{}
	for _, alg := range SupportedAlgs {
		tok, err := m.Sign(alg, TypeAccessToken, []byte(`{"sub":"before rotation"}`))
		if err != nil {
			t.Fatal(err)
		}
		tokens[alg] = tok
	}

	// The next keys are brand new: verifiers may not have seen them yet.
	e.clock.Advance(DefaultJWKSMaxAge - time.Minute)
	_, err := m.Rotate(ctx, RotateOptions{MaxTokenLifetime: time.Hour})
	if !errors.Is(err, ErrRotateTooSoon) {
		t.Fatalf("Rotate of young next keys: %v, want ErrRotateTooSoon", err)
	}
	for _, want := range append([]string{"--force", "wait 1m0s", "4m0s ago"}, SupportedAlgs...) {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("refusal %q is not one line", err)
	}
	if got := e.store.snapshot(); !sameRows(got, before) {
		t.Fatal("a refused Rotate changed the store")
	}

	// A subset: only ES256, forced.
	changed, err := m.Rotate(ctx, RotateOptions{Algs: []string{ES256}, Force: true, MaxTokenLifetime: time.Hour})
	if err != nil {
		t.Fatalf("forced Rotate: %v", err)
	}
	if len(changed) != 3 {
		t.Errorf("forced Rotate of one alg changed %d keys, want 3", len(changed))
	}
	for _, k := range changed {
		if k.PrivateKey != nil {
			t.Errorf("Rotate returned private key bytes of %s", k.KID)
		}
		if k.Alg != ES256 {
			t.Errorf("Rotate of ES256 changed a %s key", k.Alg)
		}
	}

	// Once the next keys are old enough, a plain Rotate goes through for the
	// algorithms that were not rotated, but ES256's new next key is young.
	e.clock.Advance(time.Minute)
	if _, err := m.Rotate(ctx, RotateOptions{MaxTokenLifetime: time.Hour}); !errors.Is(err, ErrRotateTooSoon) || !strings.Contains(err.Error(), ES256) || strings.Contains(err.Error(), RS256) {
		t.Fatalf("Rotate with a young ES256 next key: %v", err)
	}
	now := e.clock.Now()
	if _, err := m.Rotate(ctx, RotateOptions{Algs: []string{RS256, PS256, EdDSA}, MaxTokenLifetime: time.Hour}); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	after := e.store.snapshot()
	for _, alg := range SupportedAlgs {
		t.Run(alg, func(t *testing.T) {
			oldCur := only(t, before, alg, storage.KeyCurrent)
			oldNext := only(t, before, alg, storage.KeyNext)
			prev := only(t, after, alg, storage.KeyPrevious)
			cur := only(t, after, alg, storage.KeyCurrent)
			next := only(t, after, alg, storage.KeyNext)
			if prev.KID != oldCur.KID || cur.KID != oldNext.KID || next.KID == oldNext.KID || next.KID == oldCur.KID {
				t.Fatalf("after rotation previous %s current %s next %s; before current %s next %s", prev.KID, cur.KID, next.KID, oldCur.KID, oldNext.KID)
			}
			if alg != ES256 {
				if !prev.RetireAt.Equal(now.Add(time.Hour)) || !cur.ActivatedAt.Equal(now) || !next.CreatedAt.Equal(now) {
					t.Errorf("previous RetireAt %s, current ActivatedAt %s, next CreatedAt %s; now %s", prev.RetireAt, cur.ActivatedAt, next.CreatedAt, now)
				}
			}
			if got := signedKID(t, m, alg); got != cur.KID {
				t.Errorf("signs with %s, want %s", got, cur.KID)
			}
			kids := jwksKIDs(t, m)
			if !kids[prev.KID] || !kids[cur.KID] || !kids[next.KID] || len(kids) != 3*len(SupportedAlgs) {
				t.Errorf("JWKS kids %v, want previous, current and next", kids)
			}
			verifyWithJWKS(t, m, alg, tokens[alg])
		})
	}

	// After RetireAt the previous keys leave the JWKS without any Load, and
	// the next rotation retires them in the store.
	listsBefore, _ := e.store.counts()
	e.clock.Advance(time.Hour)
	for _, alg := range SupportedAlgs {
		prev := only(t, after, alg, storage.KeyPrevious)
		if jwksKIDs(t, m)[prev.KID] {
			t.Errorf("%s previous key %s still published after RetireAt", alg, prev.KID)
		}
	}
	if got := len(jwksKeys(t, m)); got != 2*len(SupportedAlgs) {
		t.Errorf("JWKS after RetireAt has %d keys, want %d", got, 2*len(SupportedAlgs))
	}
	if lists, _ := e.store.counts(); lists != listsBefore {
		t.Error("JWKS read the store")
	}
	changed, err = m.Rotate(ctx, RotateOptions{MaxTokenLifetime: time.Hour})
	if err != nil {
		t.Fatalf("third Rotate: %v", err)
	}
	if len(changed) != 4*len(SupportedAlgs) {
		t.Errorf("third Rotate changed %d keys, want retired+previous+current+next per alg", len(changed))
	}
	final := e.store.snapshot()
	for _, alg := range SupportedAlgs {
		if got := len(byState(final, alg, storage.KeyRetired)); got != 1 {
			t.Errorf("%s has %d retired keys, want 1", alg, got)
		}
		if got := len(byState(final, alg, storage.KeyPrevious)); got != 1 {
			t.Errorf("%s has %d previous keys, want 1", alg, got)
		}
	}
}

// verifyWithJWKS checks that tok verifies against the key of its kid in the
// current JWKS.
func verifyWithJWKS(t *testing.T, m *Manager, alg, tok string) {
	t.Helper()
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		t.Fatalf("ParseSigned: %v", err)
	}
	set := jwksSet(t, m)
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %s of an earlier token is not in the JWKS", jws.Signatures[0].Header.KeyID)
	}
	if _, err := jws.Verify(keys[0]); err != nil {
		t.Errorf("earlier token does not verify against the JWKS: %v", err)
	}
}

func TestRotateErrors(t *testing.T) {
	e := newEnv()
	m := e.manager(t, nil)
	if _, err := m.Rotate(ctx, RotateOptions{}); !errors.Is(err, ErrNoCurrentKey) {
		t.Errorf("Rotate without keys: %v, want ErrNoCurrentKey", err)
	}
	if err := m.Ensure(ctx, ES256); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    RotateOptions
		wantErr string
	}{
		{"unknown alg", RotateOptions{Algs: []string{"HS256"}, Force: true}, "unsupported signing algorithm"},
		{"alg without keys", RotateOptions{Algs: []string{EdDSA}, Force: true}, "no current signing key for EdDSA"},
		{"negative lifetime", RotateOptions{Force: true, MaxTokenLifetime: -time.Hour}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := m.Rotate(ctx, tt.opts); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Rotate error %v, want %q", err, tt.wantErr)
			}
		})
	}
	if _, saves := e.store.counts(); saves != 1 {
		t.Errorf("failed Rotates saved: %d saves", saves)
	}
}

func TestRotateDefaultLifetime(t *testing.T) {
	e := newEnv()
	m := e.manager(t, nil)
	if err := m.Ensure(ctx, EdDSA); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rotate(ctx, RotateOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	prev := only(t, e.store.snapshot(), EdDSA, storage.KeyPrevious)
	if want := e.clock.Now().Add(DefaultMaxTokenLifetime); !prev.RetireAt.Equal(want) {
		t.Errorf("RetireAt %s, want now + 30 days %s", prev.RetireAt, want)
	}
}

func TestRotateWithoutNextKey(t *testing.T) {
	e := newEnv()
	m := e.manager(t, nil)
	if err := m.Ensure(ctx, ES256); err != nil {
		t.Fatal(err)
	}
	before := e.store.snapshot()
	oldCur := only(t, before, ES256, storage.KeyCurrent)
	e.store.edit(t, only(t, before, ES256, storage.KeyNext).KID, func(k *storage.SigningKey) { k.State = storage.KeyRetired })
	changed, err := m.Rotate(ctx, RotateOptions{MaxTokenLifetime: time.Hour})
	if err != nil {
		t.Fatalf("Rotate without a next key (no Force): %v", err)
	}
	if len(changed) != 3 {
		t.Errorf("changed %d keys, want previous, new current, new next", len(changed))
	}
	after := e.store.snapshot()
	if only(t, after, ES256, storage.KeyPrevious).KID != oldCur.KID {
		t.Error("old current is not previous")
	}
	cur := only(t, after, ES256, storage.KeyCurrent)
	only(t, after, ES256, storage.KeyNext)
	if signedKID(t, m, ES256) != cur.KID {
		t.Error("not signing with the new current key")
	}
}

func TestRotateSeenByOtherManager(t *testing.T) {
	e := newEnv()
	m1, m2 := e.manager(t, nil), e.manager(t, nil)
	if err := m1.Ensure(ctx, RS256); err != nil {
		t.Fatal(err)
	}
	if err := m2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	tok, err := m2.Sign(RS256, TypeJWT, []byte(`{"sub":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(DefaultJWKSMaxAge)
	if _, err := m1.Rotate(ctx, RotateOptions{MaxTokenLifetime: time.Hour}); err != nil {
		t.Fatal(err)
	}
	cur := only(t, e.store.snapshot(), RS256, storage.KeyCurrent)
	if got := signedKID(t, m2, RS256); got == cur.KID {
		t.Fatal("m2 follows the rotation before Load")
	}
	if err := m2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if got := signedKID(t, m2, RS256); got != cur.KID {
		t.Errorf("m2 signs with %s after Load, want %s", got, cur.KID)
	}
	if !bytes.Equal(m1.JWKS(), m2.JWKS()) {
		t.Error("the two managers publish different JWKS")
	}
	verifyWithJWKS(t, m2, RS256, tok)
}

func TestRotateConflict(t *testing.T) {
	e := newEnv()
	m1, m2 := e.manager(t, nil), e.manager(t, nil)
	if err := m1.Ensure(ctx, ES256); err != nil {
		t.Fatal(err)
	}
	var otherErr error
	e.store.beforeSave = func() {
		_, otherErr = m2.Rotate(ctx, RotateOptions{Force: true, MaxTokenLifetime: time.Hour})
	}
	_, err := m1.Rotate(ctx, RotateOptions{Force: true, MaxTokenLifetime: time.Hour})
	if otherErr != nil {
		t.Fatalf("the other Rotate: %v", otherErr)
	}
	if !errors.Is(err, storage.ErrAlreadyExists) || !strings.Contains(err.Error(), "another process rotated") {
		t.Fatalf("Rotate racing another: %v", err)
	}
	stored := e.store.snapshot()
	if len(stored) != 3 {
		t.Errorf("%d stored keys, want the 3 of one rotation", len(stored))
	}
	if err := m1.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if signedKID(t, m1, ES256) != only(t, stored, ES256, storage.KeyCurrent).KID {
		t.Error("m1 does not sign with the winner's current key")
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv()
	m := e.manager(t, nil)
	if err := m.Ensure(ctx, ES256, EdDSA); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := m.Sign(ES256, TypeAccessToken, []byte(`{}`)); err != nil {
					t.Error(err)
					return
				}
				_ = m.JWKS()
				_ = m.HasCurrent(EdDSA)
				_ = m.Keys()
			}
		})
	}
	for range 5 {
		e.clock.Advance(2 * time.Hour)
		if _, err := m.Rotate(ctx, RotateOptions{MaxTokenLifetime: time.Hour}); err != nil {
			t.Error(err)
		}
		if err := m.Load(ctx); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}

// TestRotateAtMostMaxPreviousKeys rotates by hand faster than tokens
// expire: once MaxPreviousKeys previous keys are published, Rotate refuses
// and names the oldest and when it retires; forced, it retires the oldest
// at once (its tokens stop verifying: it leaves the JWKS) and the JWKS
// keeps MaxPreviousKeys previous keys.
func TestRotateAtMostMaxPreviousKeys(t *testing.T) {
	e := newEnv()
	m := e.manager(t, nil)
	if err := m.Ensure(ctx, ES256); err != nil {
		t.Fatal(err)
	}
	opts := RotateOptions{Algs: []string{ES256}, MaxTokenLifetime: 24 * time.Hour}
	for range MaxPreviousKeys {
		e.clock.Advance(DefaultJWKSMaxAge)
		if _, err := m.Rotate(ctx, opts); err != nil {
			t.Fatal(err)
		}
	}
	previous := byState(e.store.snapshot(), ES256, storage.KeyPrevious)
	oldest := previous[0]
	e.clock.Advance(DefaultJWKSMaxAge)
	_, err := m.Rotate(ctx, opts)
	if !errors.Is(err, ErrRotateTooSoon) || !strings.Contains(err.Error(), oldest.KID) ||
		!strings.Contains(err.Error(), oldest.RetireAt.Format(time.RFC3339)) {
		t.Fatalf("Rotate with %d previous keys published: %v, want ErrRotateTooSoon naming %s and when it retires", len(previous), err, oldest.KID)
	}
	opts.Force = true
	if _, err := m.Rotate(ctx, opts); err != nil {
		t.Fatalf("forced: %v", err)
	}
	published, _ := jwksKids(t, m, ES256)
	stillThere := strings.Contains(strings.Join(published, " "), oldest.KID)
	if len(published) != MaxPreviousKeys+2 || stillThere {
		t.Errorf("after the forced rotation the JWKS has %d keys (want %d), the oldest previous key %s published: %v",
			len(published), MaxPreviousKeys+2, oldest.KID, stillThere)
	}
	got := byState(e.store.snapshot(), ES256, storage.KeyRetired)
	if len(got) != 1 || got[0].KID != oldest.KID {
		t.Errorf("retired keys %v, want the oldest previous key %s", got, oldest.KID)
	}
}
