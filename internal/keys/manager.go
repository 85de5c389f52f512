package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// DefaultJWKSMaxAge is how long verifiers may cache the JWKS unless
// Config.JWKSMaxAge says otherwise.
const DefaultJWKSMaxAge = 5 * time.Minute

// DefaultMaxTokenLifetime is the longest access token lifetime gatehouse
// issues (docs/reference/protocol.md: 30 days). Rotate keeps the outgoing key published this
// long when RotateOptions.MaxTokenLifetime is zero.
const DefaultMaxTokenLifetime = 30 * 24 * time.Hour

// MaxPreviousKeys is how many previous keys of one algorithm the JWKS
// carries at most, so that it stays small however often the keys rotate:
// with a next and a current key, at most MaxPreviousKeys+2 keys per
// algorithm. A previous key stays published until every token it signed
// has expired, so rotating more often than every MaxPreviousKeys-th of the
// longest token lifetime would exceed it: Rotate refuses that rotation
// unless forced (which retires the oldest previous key early; verifiers
// then refuse the tokens it signed), and the Scheduler holds a due
// rotation until the oldest previous key retires.
const MaxPreviousKeys = 8

// Errors callers may test with errors.Is.
var (
	// ErrMasterKeyMismatch means a stored private key does not decrypt under
	// the configured master key.
	ErrMasterKeyMismatch = errors.New("master key does not match")
	// ErrNoCurrentKey means there is no current key for the algorithm asked.
	ErrNoCurrentKey = errors.New("no current signing key")
	// ErrRotateTooSoon means Rotate refused because a next key has not been
	// published for a full JWKS cache lifetime yet.
	ErrRotateTooSoon = errors.New("rotation refused")
)

// Store is the part of storage.Storage the manager needs.
type Store interface {
	// ListKeys returns every signing key ordered by creation time.
	ListKeys(ctx context.Context) ([]storage.SigningKey, error)
	// SaveKeys inserts create and updates the state, ActivatedAt and RetireAt
	// of update atomically; storage.ErrAlreadyExists if the result would
	// hold two next or two current keys of one algorithm.
	SaveKeys(ctx context.Context, create, update []storage.SigningKey) error
}

// Config configures a Manager. Store and MasterKey are required.
type Config struct {
	// Store persists the keys.
	Store Store
	// MasterKey is the 32-byte AES-256-GCM key that encrypts private keys at
	// rest (see ParseMasterKey, LoadKeyFile).
	MasterKey []byte
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// Rand is the source of the AES-GCM nonces; default crypto/rand.Reader.
	// The default Generate passes it on, but since Go 1.26 crypto/rsa,
	// crypto/ecdsa and crypto/ed25519 ignore it and use a secure source.
	Rand io.Reader
	// Logger receives lifecycle events (never key material); default discard.
	Logger *slog.Logger
	// JWKSMaxAge is how long verifiers may cache the JWKS (the Cache-Control
	// max-age of the JWKS endpoint) and so how long a next key must be
	// published before it may sign; default DefaultJWKSMaxAge.
	JWKSMaxAge time.Duration
	// Generate creates a private key for an algorithm; default RSA-2048 for
	// RS256 and PS256, P-256 for ES256, Ed25519 for EdDSA.
	Generate func(alg string) (crypto.Signer, error)
	// CacheWait, if set, says how long a next key must have been published
	// before Rotate or the Scheduler may promote it, in place of JWKSMaxAge:
	// the longest JWKS max-age any instance sharing the store serves
	// (server.JWKSCacheWaitFunc), since a verifier may hold a JWKS fetched
	// from any of them. An error holds the rotation (Rotate fails unless
	// Force).
	CacheWait func(ctx context.Context) (time.Duration, error)
	// Rotated, if set, is told of every rotation Rotate saved (the audit
	// trail's key.rotated), with the keys whose state changed and ctx as
	// Rotate got it (which names the actor, if any).
	Rotated func(ctx context.Context, changed []storage.SigningKey)
}

// RotateOptions tunes Rotate.
type RotateOptions struct {
	// Algs are the algorithms to rotate; empty means every algorithm that
	// has a current key.
	Algs []string
	// Force rotates even if the next key has been published for less than
	// the JWKS cache lifetime, at the risk of verifiers meeting an unknown
	// kid, and even if MaxPreviousKeys previous keys are published: the
	// oldest is then retired at once, and the tokens it signed that have
	// not expired are refused by verifiers once they refetch the JWKS.
	Force bool
	// MaxTokenLifetime is how long tokens signed by the outgoing current key
	// may live: that key stays published as previous until now plus this
	// (its RetireAt). Callers should add the time other instances need to
	// notice the rotation. Zero means DefaultMaxTokenLifetime.
	MaxTokenLifetime time.Duration
}

// Manager owns the signing keys: it creates and rotates them in the store,
// keeps the decrypted current keys in memory, signs tokens and serves the
// JWKS. Its methods are safe for concurrent use.
type Manager struct {
	store      Store
	masterKey  []byte
	now        func() time.Time
	rand       io.Reader
	log        *slog.Logger
	jwksMaxAge time.Duration
	cacheWait  func(ctx context.Context) (time.Duration, error)
	generate   func(alg string) (crypto.Signer, error)
	rotated    func(ctx context.Context, changed []storage.SigningKey)

	loadMu sync.Mutex // serializes Load; Sign and JWKS never take it
	set    atomic.Pointer[keySet]
}

// keySet is an immutable, fully prepared view of the stored keys.
type keySet struct {
	rows    []storage.SigningKey   // as listed by the store, without PrivateKey
	signers map[string]*signingKey // by kid: the decrypted next and current keys
	current map[string]*signingKey // by alg
	public  map[string]publicKey   // by kid: next, current and previous keys
	jwks    []byte                 // {"keys":[...]} as of jwks build time
	// jwksUntil is when the first previous key in jwks passes its RetireAt
	// and jwks must be rebuilt; zero if never.
	jwksUntil time.Time
}

// signingKey is a decrypted key with its protected headers, one per token
// type, encoded once.
type signingKey struct {
	kid, alg string
	signer   *compactSigner
}

// publicKey is a normalized public JWK of one stored key.
type publicKey struct {
	alg string
	jwk []byte
}

// New returns a Manager with no keys loaded; call Ensure or Load next.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("keys config: Store is required")
	}
	if len(cfg.MasterKey) != MasterKeySize {
		return nil, fmt.Errorf("keys config: master key is %d bytes, want %d", len(cfg.MasterKey), MasterKeySize)
	}
	if cfg.JWKSMaxAge < 0 {
		return nil, fmt.Errorf("keys config: JWKSMaxAge %s is negative", cfg.JWKSMaxAge)
	}
	m := &Manager{
		store:      cfg.Store,
		masterKey:  bytes.Clone(cfg.MasterKey),
		now:        cfg.Now,
		rand:       cfg.Rand,
		log:        cfg.Logger,
		jwksMaxAge: cfg.JWKSMaxAge,
		cacheWait:  cfg.CacheWait,
		generate:   cfg.Generate,
		rotated:    cfg.Rotated,
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.jwksMaxAge == 0 {
		m.jwksMaxAge = DefaultJWKSMaxAge
	}
	if m.generate == nil {
		m.generate = func(alg string) (crypto.Signer, error) { return generateKey(m.rand, alg) }
	}
	empty := &keySet{
		signers: map[string]*signingKey{},
		current: map[string]*signingKey{},
		public:  map[string]publicKey{},
	}
	if err := empty.buildJWKS(m.now()); err != nil {
		return nil, err
	}
	m.set.Store(empty)
	return m, nil
}

// JWKSMaxAge returns how long verifiers may cache the JWKS, for the
// Cache-Control max-age of the JWKS endpoint.
func (m *Manager) JWKSMaxAge() time.Duration { return m.jwksMaxAge }

// CacheWait returns how long a next key must have been published before it
// may sign: what Config.CacheWait reports (the longest JWKS max-age any
// instance serves), else this manager's JWKS max-age.
func (m *Manager) CacheWait(ctx context.Context) (time.Duration, error) {
	if m.cacheWait == nil {
		return m.jwksMaxAge, nil
	}
	d, err := m.cacheWait(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the JWKS max-age of the instances: %w", err)
	}
	return d, nil
}

// Load reads the keys from the store and, if they changed since the last
// Load, builds a new key set and swaps it in atomically. Only keys not seen
// before are decrypted. On error the previous key set stays in use. Load is
// cheap when nothing changed and safe to call concurrently with every other
// method.
func (m *Manager) Load(ctx context.Context) error {
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	rows, err := m.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	old := m.set.Load()
	if sameRows(old.rows, rows) {
		return nil
	}
	s, err := m.build(rows, old)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	if err := s.buildJWKS(m.now()); err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	m.set.Store(s)
	algs := make([]string, 0, len(s.current))
	for _, alg := range SupportedAlgs {
		if s.current[alg] != nil {
			algs = append(algs, alg)
		}
	}
	m.log.Info("signing keys loaded", "keys", len(rows), "current_algs", algs)
	return nil
}

// sameRows reports whether a and b list the same keys in the same states,
// ignoring the private keys.
func sameRows(a, b []storage.SigningKey) bool {
	return slices.EqualFunc(a, b, func(x, y storage.SigningKey) bool {
		return x.KID == y.KID && x.Alg == y.Alg && x.State == y.State &&
			x.CreatedAt.Equal(y.CreatedAt) && x.ActivatedAt.Equal(y.ActivatedAt) &&
			x.RetireAt.Equal(y.RetireAt) && bytes.Equal(x.PublicJWK, y.PublicJWK)
	})
}

// build prepares a key set from rows, reusing what old already parsed.
func (m *Manager) build(rows []storage.SigningKey, old *keySet) (*keySet, error) {
	s := &keySet{
		rows:    make([]storage.SigningKey, 0, len(rows)),
		signers: make(map[string]*signingKey),
		current: make(map[string]*signingKey),
		public:  make(map[string]publicKey),
	}
	for _, r := range rows {
		snap := r
		snap.PrivateKey = nil
		snap.PublicJWK = bytes.Clone(r.PublicJWK)
		s.rows = append(s.rows, snap)

		if err := checkAlg(r.Alg); err != nil {
			m.log.Warn("ignoring signing key with unsupported algorithm", "kid", r.KID, "alg", r.Alg)
			continue
		}
		switch r.State {
		case storage.KeyNext, storage.KeyCurrent, storage.KeyPrevious:
		case storage.KeyRetired:
			continue
		default:
			m.log.Warn("ignoring signing key in unknown state", "kid", r.KID, "alg", r.Alg, "state", r.State)
			continue
		}

		pub, ok := old.public[r.KID]
		if !ok || pub.alg != r.Alg {
			jwk, err := normalizePublicJWK(r)
			if err != nil {
				return nil, err
			}
			pub = publicKey{alg: r.Alg, jwk: jwk}
		}
		s.public[r.KID] = pub
		if r.State == storage.KeyPrevious {
			continue // published, never signs again: no need to decrypt
		}

		sk, ok := old.signers[r.KID]
		if !ok || sk.alg != r.Alg {
			var err error
			if sk, err = m.decrypt(r); err != nil {
				return nil, err
			}
		}
		s.signers[r.KID] = sk
		if r.State == storage.KeyCurrent {
			if other := s.current[r.Alg]; other != nil {
				return nil, fmt.Errorf("%s has two current keys, %s and %s", r.Alg, other.kid, r.KID)
			}
			s.current[r.Alg] = sk
		}
	}
	return s, nil
}

// normalizePublicJWK parses a stored public JWK, checks that its thumbprint
// is its kid, and re-encodes only its public part with kid, alg and use.
func normalizePublicJWK(r storage.SigningKey) ([]byte, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(r.PublicJWK); err != nil {
		return nil, fmt.Errorf("parse public jwk of %s key %s: %w", r.Alg, r.KID, err)
	}
	pub := jwk.Public()
	if !pub.Valid() {
		return nil, fmt.Errorf("public jwk of %s key %s holds no asymmetric key", r.Alg, r.KID)
	}
	kid, err := thumbprint(pub.Key)
	if err != nil {
		return nil, fmt.Errorf("public jwk of %s key %s: %w", r.Alg, r.KID, err)
	}
	if kid != r.KID {
		return nil, fmt.Errorf("public jwk of %s key %s has thumbprint %s, not its kid", r.Alg, r.KID, kid)
	}
	return publicJWK(pub.Key, r.KID, r.Alg)
}

// decrypt opens a stored private key and prepares its signers.
func (m *Manager) decrypt(r storage.SigningKey) (*signingKey, error) {
	der, err := open(m.masterKey, r.PrivateKey, keyAAD(r.KID, r.Alg))
	if errors.Is(err, errOpen) {
		return nil, fmt.Errorf("decrypt %s key %s: %w: it was encrypted under another master key (or altered); check GATEHOUSE_MASTER_KEY or the master key file", r.Alg, r.KID, ErrMasterKeyMismatch)
	}
	if err != nil {
		return nil, fmt.Errorf("decrypt %s key %s: %w", r.Alg, r.KID, err)
	}
	defer clear(der)
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse %s key %s: %w", r.Alg, r.KID, err)
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("parse %s key %s: %T cannot sign", r.Alg, r.KID, parsed)
	}
	if err := checkKeyType(r.Alg, priv); err != nil {
		return nil, fmt.Errorf("parse %s key %s: %w", r.Alg, r.KID, err)
	}
	kid, err := thumbprint(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("parse %s key %s: %w", r.Alg, r.KID, err)
	}
	if kid != r.KID {
		return nil, fmt.Errorf("parse %s key %s: private key has thumbprint %s, not its kid", r.Alg, r.KID, kid)
	}
	return newSigningKey(r.KID, r.Alg, priv)
}

// newSigningKey prepares priv for signing: the protected header {alg, kid,
// typ} of each token type (RFC 7515 §4) is encoded once, here.
func newSigningKey(kid, alg string, priv crypto.Signer) (*signingKey, error) {
	cs, err := newCompactSigner(kid, alg, priv, TypeAccessToken, TypeJWT, TypeIntrospection)
	if err != nil {
		return nil, fmt.Errorf("create %s signer for key %s: %w", alg, kid, err)
	}
	return &signingKey{kid: kid, alg: alg, signer: cs}, nil
}

// buildJWKS sets s.jwks to the JWK Set (RFC 7517 §5) of the next, current and
// previous keys as of now, leaving out previous keys past their RetireAt.
func (s *keySet) buildJWKS(now time.Time) error {
	set := struct {
		Keys []json.RawMessage `json:"keys"`
	}{Keys: []json.RawMessage{}}
	var until time.Time
	for _, r := range s.rows {
		pub, ok := s.public[r.KID]
		if !ok {
			continue
		}
		if r.State == storage.KeyPrevious && !r.RetireAt.IsZero() {
			if !now.Before(r.RetireAt) {
				continue
			}
			if until.IsZero() || r.RetireAt.Before(until) {
				until = r.RetireAt
			}
		}
		set.Keys = append(set.Keys, pub.jwk)
	}
	b, err := json.Marshal(set)
	if err != nil {
		return fmt.Errorf("marshal jwks: %w", err)
	}
	s.jwks, s.jwksUntil = b, until
	return nil
}

// JWKS returns the JSON Web Key Set (RFC 7517 §5) to publish: the public keys
// in state next and current, and previous keys until their RetireAt, each with
// kid, kty, alg, use "sig" and its public parameters. It is precomputed; a
// previous key that passes its RetireAt drops out without a Load.
func (m *Manager) JWKS() []byte {
	for {
		s := m.set.Load()
		if s.jwksUntil.IsZero() || m.now().Before(s.jwksUntil) {
			return bytes.Clone(s.jwks)
		}
		next := *s
		if err := next.buildJWKS(m.now()); err != nil {
			// Cannot happen: it marshalled the same keys before.
			m.log.Error("rebuild jwks", "err", err)
			return bytes.Clone(s.jwks)
		}
		if m.set.CompareAndSwap(s, &next) {
			return bytes.Clone(next.jwks)
		}
	}
}

// Keys returns a snapshot of the stored keys as of the last Load, in creation
// order, without their private keys.
func (m *Manager) Keys() []storage.SigningKey {
	rows := m.set.Load().rows
	out := make([]storage.SigningKey, len(rows))
	for i, r := range rows {
		out[i] = r
		out[i].PublicJWK = bytes.Clone(r.PublicJWK)
	}
	return out
}

// CurrentKeyID returns the kid of the key that signs alg now.
func (m *Manager) CurrentKeyID(alg string) (string, bool) {
	k := m.set.Load().current[alg]
	if k == nil {
		return "", false
	}
	return k.kid, true
}

// HasCurrent reports whether a current key for alg is loaded.
func (m *Manager) HasCurrent(alg string) bool {
	return m.set.Load().current[alg] != nil
}

// Sign returns the JWS compact serialization (RFC 7515 §7.1) of payload,
// signed with the current key of alg, with the protected header {alg, kid,
// typ}. typ is TypeAccessToken ("at+jwt", RFC 9068 §2.1), TypeJWT (the
// auth0 dialect) or TypeIntrospection (RFC 9701 §5). Sign takes no lock, does no decryption and does not
// re-encode the header: that was done when the key was loaded.
func (m *Manager) Sign(alg, typ string, payload []byte) (string, error) {
	k := m.set.Load().current[alg]
	if k == nil {
		return "", fmt.Errorf("sign %s token: %w", alg, ErrNoCurrentKey)
	}
	token, ok, err := k.signer.sign(typ, payload)
	if !ok {
		return "", fmt.Errorf("sign %s token: unsupported typ %q (want %q or %q)", alg, typ, TypeAccessToken, TypeJWT)
	}
	if err != nil {
		return "", fmt.Errorf("sign %s token with key %s: %w", alg, k.kid, err)
	}
	return token, nil
}

// Ensure makes sure every alg has a current key, creating a current and a
// next key for an alg that has none (and a next key for an alg whose next key
// is missing) in one SaveKeys call, and then loads the keys. When another
// process creates keys at the same time, Ensure adopts them.
func (m *Manager) Ensure(ctx context.Context, algs ...string) error {
	for _, alg := range algs {
		if err := checkAlg(alg); err != nil {
			return fmt.Errorf("ensure signing keys: %w", err)
		}
	}
	algs = uniq(algs)
	const attempts = 3
	for range attempts {
		if err := m.Load(ctx); err != nil {
			return fmt.Errorf("ensure signing keys: %w", err)
		}
		s := m.set.Load()
		now := m.now().UTC()
		var create []storage.SigningKey
		for _, alg := range algs {
			if s.current[alg] == nil {
				k, err := m.newKey(alg, storage.KeyCurrent, now)
				if err != nil {
					return fmt.Errorf("ensure signing keys: %w", err)
				}
				create = append(create, k)
			}
			if !s.has(alg, storage.KeyNext) {
				k, err := m.newKey(alg, storage.KeyNext, now)
				if err != nil {
					return fmt.Errorf("ensure signing keys: %w", err)
				}
				create = append(create, k)
			}
		}
		if len(create) == 0 {
			return nil
		}
		err := m.store.SaveKeys(ctx, create, nil)
		if errors.Is(err, storage.ErrAlreadyExists) {
			m.log.Info("another process created signing keys first; loading them")
			continue
		}
		if err != nil {
			return fmt.Errorf("ensure signing keys: save: %w", err)
		}
		for _, k := range create {
			m.log.Info("signing key created", "kid", k.KID, "alg", k.Alg, "state", k.State)
		}
		if err := m.Load(ctx); err != nil {
			return fmt.Errorf("ensure signing keys: %w", err)
		}
		return nil
	}
	return fmt.Errorf("ensure signing keys: the store reported conflicting keys %d times in a row", attempts)
}

// Rotate advances the lifecycle of each algorithm in opts.Algs in one
// SaveKeys call: previous keys past their RetireAt become retired, the current
// key becomes previous until now+MaxTokenLifetime, the next key becomes
// current, and a new next key is created. It refuses, unless opts.Force, when
// a next key has been published for less than the JWKS cache lifetime. It
// returns the keys it created or changed, without private keys, and loads the
// new key set.
func (m *Manager) Rotate(ctx context.Context, opts RotateOptions) ([]storage.SigningKey, error) {
	lifetime := opts.MaxTokenLifetime
	if lifetime < 0 {
		return nil, fmt.Errorf("rotate signing keys: max token lifetime %s is negative", lifetime)
	}
	if lifetime == 0 {
		lifetime = DefaultMaxTokenLifetime
	}
	for _, alg := range opts.Algs {
		if err := checkAlg(alg); err != nil {
			return nil, fmt.Errorf("rotate signing keys: %w", err)
		}
	}
	if err := m.Load(ctx); err != nil {
		return nil, fmt.Errorf("rotate signing keys: %w", err)
	}
	s := m.set.Load()
	algs := uniq(opts.Algs)
	if len(algs) == 0 {
		for _, alg := range SupportedAlgs {
			if s.current[alg] != nil {
				algs = append(algs, alg)
			}
		}
		if len(algs) == 0 {
			return nil, fmt.Errorf("rotate signing keys: %w for any algorithm", ErrNoCurrentKey)
		}
	}
	now := m.now().UTC()
	wait := m.jwksMaxAge
	if !opts.Force {
		var err error
		if wait, err = m.CacheWait(ctx); err != nil {
			return nil, fmt.Errorf("rotate signing keys: %w (--force rotates without it)", err)
		}
	}

	var refusals []string
	for _, alg := range algs {
		if s.current[alg] == nil {
			return nil, fmt.Errorf("rotate signing keys: %w for %s", ErrNoCurrentKey, alg)
		}
		next, ok := s.find(alg, storage.KeyNext)
		if !ok || opts.Force {
			continue
		}
		if age := now.Sub(next.CreatedAt); age < wait {
			refusals = append(refusals, fmt.Sprintf(
				"the %s next key %s was published %s ago, less than the JWKS cache lifetime %s: wait %s or use --force",
				alg, next.KID, age.Round(time.Second), wait, (wait-age).Round(time.Second)))
		}
	}
	for _, alg := range algs {
		live := livePrevious(s.rows, alg, now)
		if len(live) < MaxPreviousKeys || opts.Force {
			continue
		}
		refusals = append(refusals, fmt.Sprintf(
			"the JWKS already carries %d previous %s keys, the most it may: the oldest, %s, retires at %s (when the last token it signed expires); wait until then or use --force, which retires it now and makes verifiers refuse the tokens it signed",
			len(live), alg, live[0].KID, live[0].RetireAt.Format(time.RFC3339)))
	}
	if len(refusals) > 0 {
		return nil, fmt.Errorf("rotate signing keys: %w: %s", ErrRotateTooSoon, strings.Join(refusals, "; "))
	}

	var create, update []storage.SigningKey
	for _, alg := range algs {
		live := livePrevious(s.rows, alg, now)
		// Forced at the cap: the oldest previous keys retire now.
		early := live[:max(0, len(live)-(MaxPreviousKeys-1))]
		for _, r := range s.rows {
			expired := r.Alg == alg && r.State == storage.KeyPrevious && !r.RetireAt.IsZero() && !now.Before(r.RetireAt)
			if expired || slices.ContainsFunc(early, func(e storage.SigningKey) bool { return e.KID == r.KID }) {
				if !expired {
					m.log.Warn("previous signing key retired before its tokens expire: the JWKS carries at most MaxPreviousKeys previous keys",
						"kid", r.KID, "alg", alg, "retire_at", r.RetireAt, "max_previous_keys", MaxPreviousKeys)
				}
				r.State = storage.KeyRetired
				update = append(update, r)
			}
		}
		cur, _ := s.find(alg, storage.KeyCurrent)
		cur.State, cur.RetireAt = storage.KeyPrevious, now.Add(lifetime)
		update = append(update, cur)
		if next, ok := s.find(alg, storage.KeyNext); ok {
			next.State, next.ActivatedAt = storage.KeyCurrent, now
			update = append(update, next)
		} else {
			m.log.Warn("no next signing key to promote; a new key signs without having been published first", "alg", alg)
			k, err := m.newKey(alg, storage.KeyCurrent, now)
			if err != nil {
				return nil, fmt.Errorf("rotate signing keys: %w", err)
			}
			create = append(create, k)
		}
		k, err := m.newKey(alg, storage.KeyNext, now)
		if err != nil {
			return nil, fmt.Errorf("rotate signing keys: %w", err)
		}
		create = append(create, k)
	}

	if err := m.store.SaveKeys(ctx, create, update); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return nil, fmt.Errorf("rotate signing keys: another process rotated the keys at the same time; check the key list before retrying: %w", err)
		}
		return nil, fmt.Errorf("rotate signing keys: save: %w", err)
	}
	changed := make([]storage.SigningKey, 0, len(update)+len(create))
	for _, k := range slices.Concat(update, create) {
		k.PrivateKey = nil
		changed = append(changed, k)
		m.log.Info("signing key state changed", "kid", k.KID, "alg", k.Alg, "state", k.State)
	}
	if m.rotated != nil {
		m.rotated(ctx, changed)
	}
	if err := m.Load(ctx); err != nil {
		return changed, fmt.Errorf("rotate signing keys: saved, but %w", err)
	}
	return changed, nil
}

// newKey generates a key for alg and returns its storage form: private key
// sealed under the master key, public JWK, kid.
func (m *Manager) newKey(alg, state string, now time.Time) (storage.SigningKey, error) {
	priv, err := m.generate(alg)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	if err := checkKeyType(alg, priv); err != nil {
		return storage.SigningKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	kid, err := thumbprint(priv.Public())
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	pub, err := publicJWK(priv.Public(), kid, alg)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("encode %s key %s: %w", alg, kid, err)
	}
	sealed, err := seal(m.masterKey, m.rand, der, keyAAD(kid, alg))
	clear(der)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("encrypt %s key %s: %w", alg, kid, err)
	}
	k := storage.SigningKey{
		KID:        kid,
		Alg:        alg,
		State:      state,
		PrivateKey: sealed,
		PublicJWK:  pub,
		CreatedAt:  now,
	}
	if state == storage.KeyCurrent {
		k.ActivatedAt = now
	}
	return k, nil
}

// livePrevious returns the previous keys of alg in rows that are still
// published at now (before their RetireAt, or without one), the one that
// retires first first.
func livePrevious(rows []storage.SigningKey, alg string, now time.Time) []storage.SigningKey {
	var out []storage.SigningKey
	for _, r := range rows {
		if r.Alg == alg && r.State == storage.KeyPrevious && (r.RetireAt.IsZero() || now.Before(r.RetireAt)) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b storage.SigningKey) int { return a.RetireAt.Compare(b.RetireAt) })
	return out
}

// find returns the first key of alg in state.
func (s *keySet) find(alg, state string) (storage.SigningKey, bool) {
	for _, r := range s.rows {
		if r.Alg == alg && r.State == state {
			return r, true
		}
	}
	return storage.SigningKey{}, false
}

// has reports whether a key of alg is in state.
func (s *keySet) has(alg, state string) bool {
	_, ok := s.find(alg, state)
	return ok
}

// uniq returns algs without duplicates, in first-seen order.
func uniq(algs []string) []string {
	out := make([]string, 0, len(algs))
	for _, a := range algs {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
