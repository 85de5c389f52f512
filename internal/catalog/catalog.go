package catalog

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unique"

	"github.com/gatehouse-dev/gatehouse/internal/clientcred"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Store is the part of storage.Storage the catalog reads.
type Store interface {
	GetAPI(ctx context.Context, identifier string) (storage.API, error)
	ListAPIs(ctx context.Context) ([]storage.API, error)
	GetClient(ctx context.Context, clientID string) (storage.Client, error)
	ListClients(ctx context.Context) ([]storage.Client, error)
	ListSecrets(ctx context.Context, clientID string) ([]storage.Secret, error)
	ListAllSecrets(ctx context.Context) ([]storage.Secret, error)
	ListCredentials(ctx context.Context, clientID string) ([]storage.Credential, error)
	ListAllCredentials(ctx context.Context) ([]storage.Credential, error)
	ListGrants(ctx context.Context, f storage.GrantFilter) ([]storage.Grant, error)
	LatestChange(ctx context.Context) (int64, error)
	ChangesSince(ctx context.Context, seq int64, limit int) ([]storage.Change, error)
}

var _ Store = storage.Storage(nil)

// Notifier is what a Store may offer besides polling: a channel that
// receives a value soon after another writer commits a change (PostgreSQL
// LISTEN/NOTIFY). Values may coalesce and may be spurious; the channel is
// closed when ctx is done.
type Notifier interface {
	Notifications(ctx context.Context) <-chan struct{}
}

// Client is a client as the token endpoint sees it: its record, its secrets
// and its grants. It is immutable once published. Grants is a slice, not a
// map, because a client has a few grants (most have one): a linear scan of
// a few is as fast as a map lookup and a one-entry map costs a kilobyte.
// Strings shared by many clients (audiences, scopes, grant types, methods)
// are interned, and each secret's and grant's ClientID is the client's own.
type Client struct {
	storage.Client
	Secrets []storage.Secret
	Grants  []storage.Grant // at most one per audience and subject type
	// Credentials are the client's keys and certificates (Auth0's client
	// credentials), each parsed once here; nil for most clients.
	Credentials []Credential
}

// Credential is a client credential with its key parsed (package
// clientcred): Key for public_key and x509_cert, Cert too when the PEM is a
// certificate. A stored credential that no longer parses keeps a nil Key
// and authenticates nothing.
type Credential struct {
	storage.Credential
	Key  crypto.PublicKey
	Cert *x509.Certificate
}

// AuthCredentials returns the client's credentials that its authentication
// method for credential type t uses (storage.ClientAuthMethods), in the
// order the method lists them; expired ones included, for the caller to
// check against its clock.
func (c *Client) AuthCredentials(t string) []*Credential {
	ids := c.AuthMethods.For(t)
	if ids == nil || len(*ids) == 0 {
		return nil
	}
	out := make([]*Credential, 0, len(*ids))
	for _, id := range *ids {
		for i := range c.Credentials {
			if cr := &c.Credentials[i]; cr.ID == id && cr.Type == t {
				out = append(out, cr)
			}
		}
	}
	return out
}

// Grant returns the client's grant for its own tokens (subject type
// client) for the audience.
func (c *Client) Grant(audience string) (*storage.Grant, bool) {
	return c.grant(audience, storage.SubjectClient)
}

// UserGrant returns the client's grant for the tokens of the people who
// log in through it (subject type user) for the audience.
func (c *Client) UserGrant(audience string) (*storage.Grant, bool) {
	return c.grant(audience, storage.SubjectUser)
}

func (c *Client) grant(audience, subject string) (*storage.Grant, bool) {
	for i := range c.Grants {
		g := &c.Grants[i]
		if g.Audience == audience && (g.SubjectType == subject || g.SubjectType == "" && subject == storage.SubjectClient) {
			return g, true
		}
	}
	return nil, false
}

// AllowsGrant reports whether the client may use the grant type.
func (c *Client) AllowsGrant(grantType string) bool {
	for _, g := range c.GrantTypes {
		if g == grantType {
			return true
		}
	}
	return false
}

// Snapshot is an immutable view of the catalog as of change Seq. Its
// clients are a persistent map (clientMap): the snapshot that follows a
// change shares all but a few nodes with this one, so applying one change
// costs the same whatever the number of clients. APIs, which are few, are
// a plain map copied when one changes.
type Snapshot struct {
	Seq     int64
	clients clientMap
	apis    map[string]*storage.API
}

// Client returns the client with that ID.
func (s *Snapshot) Client(id string) (*Client, bool) { return s.clients.get(id) }

// API returns the API with that identifier.
func (s *Snapshot) API(identifier string) (*storage.API, bool) {
	a, ok := s.apis[identifier]
	return a, ok
}

// APIs returns every API, in no particular order.
func (s *Snapshot) APIs() []*storage.API {
	out := make([]*storage.API, 0, len(s.apis))
	for _, a := range s.apis {
		out = append(out, a)
	}
	return out
}

// EachClient calls f with every client, in no particular order, until f
// returns false.
func (s *Snapshot) EachClient(f func(*Client) bool) { s.clients.each(f) }

// Len returns the number of clients and APIs.
func (s *Snapshot) Len() (clients, apis int) { return s.clients.Len(), len(s.apis) }

// DefaultCallTimeout bounds each store call of Sync and each run of
// Follow's after function: a database that stops answering (a partition, a
// connection that died without a reset) fails the sync instead of stalling
// the follower, which then tries again on its next tick.
const DefaultCallTimeout = 5 * time.Second

// Catalog publishes Snapshots and keeps them in step with the store.
type Catalog struct {
	store Store
	log   *slog.Logger
	now   func() time.Time

	cur         atomic.Pointer[Snapshot]
	mu          sync.Mutex // serialises Load and Sync
	lastSync    atomic.Int64
	failing     atomic.Bool
	callTimeout atomic.Int64 // nanoseconds
	syncFailed  func(error)  // set before Follow; nil for none
	// keysPending is a signing key change that SyncNow saw, for Follow's
	// after function, which would otherwise never hear of it.
	keysPending atomic.Bool
	// followers keep state of their own entities of the feed (Track).
	followers map[string]Follower
}

// New returns an empty catalog; call Load before serving.
func New(store Store, log *slog.Logger, now func() time.Time) *Catalog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	c := &Catalog{store: store, log: log, now: now}
	c.callTimeout.Store(int64(DefaultCallTimeout))
	c.cur.Store(&Snapshot{clients: newClientMap(), apis: map[string]*storage.API{}})
	return c
}

// SetCallTimeout replaces DefaultCallTimeout; d must be positive.
func (c *Catalog) SetCallTimeout(d time.Duration) {
	if d > 0 {
		c.callTimeout.Store(int64(d))
	}
}

// OnSyncFailure sets f to be called on every failed sync of Follow (a
// storage error counter); call it before Follow starts.
func (c *Catalog) OnSyncFailure(f func(error)) { c.syncFailed = f }

// bounded returns ctx limited to the call timeout.
func (c *Catalog) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, time.Duration(c.callTimeout.Load()))
}

// call runs one store call under the call timeout.
func call[T any](c *Catalog, ctx context.Context, f func(ctx context.Context) (T, error)) (T, error) {
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	return f(ctx)
}

// Snapshot returns the current view. It never blocks.
func (c *Catalog) Snapshot() *Snapshot { return c.cur.Load() }

// LastSync returns when the catalog last read the store successfully.
func (c *Catalog) LastSync() time.Time {
	ns := c.lastSync.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Load reads the whole catalog. The change sequence is read first, so any
// change made while loading is applied again by the next Sync. Only ctx
// bounds it: reading a large catalog at start may take a while.
func (c *Catalog) Load(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.load(ctx)
}

// load is Load with c.mu held.
func (c *Catalog) load(ctx context.Context) error {
	seq, err := c.store.LatestChange(ctx)
	if err != nil {
		return fmt.Errorf("read change sequence: %w", err)
	}
	apis, err := c.store.ListAPIs(ctx)
	if err != nil {
		return fmt.Errorf("list apis: %w", err)
	}
	clients, err := c.store.ListClients(ctx)
	if err != nil {
		return fmt.Errorf("list clients: %w", err)
	}
	secrets, err := c.store.ListAllSecrets(ctx)
	if err != nil {
		return fmt.Errorf("list secrets: %w", err)
	}
	grants, err := c.store.ListGrants(ctx, storage.GrantFilter{})
	if err != nil {
		return fmt.Errorf("list grants: %w", err)
	}
	creds, err := c.store.ListAllCredentials(ctx)
	if err != nil {
		return fmt.Errorf("list credentials: %w", err)
	}
	if err := c.loadFollowers(ctx); err != nil {
		return err
	}
	snap := build(seq, apis, clients, secrets, grants)
	if len(creds) > 0 {
		byClient := make(map[string][]storage.Credential)
		for _, cr := range creds {
			byClient[cr.ClientID] = append(byClient[cr.ClientID], cr)
		}
		for id, list := range byClient {
			if cl, ok := snap.clients.get(id); ok {
				cl.Credentials = c.parseCredentials(list)
			}
		}
	}
	c.cur.Store(snap)
	c.markSynced()
	return nil
}

// build makes the snapshot of a full load: apis, clients, every client's
// secrets ordered by client ID (ListAllSecrets) and every grant. Secrets and
// grants of a client created or deleted while loading are dropped here; the
// change feed, read from seq on, brings that client in step at the next Sync.
func build(seq int64, apis []storage.API, clients []storage.Client, secrets []storage.Secret, grants []storage.Grant) *Snapshot {
	snap := &Snapshot{Seq: seq, clients: newClientMap(), apis: make(map[string]*storage.API, len(apis))}
	for i := range apis {
		snap.apis[apis[i].Identifier] = &apis[i]
	}
	// Group grants by client; secrets come grouped already.
	byClient := make(map[string][]storage.Grant, len(clients))
	for _, g := range grants {
		byClient[g.ClientID] = append(byClient[g.ClientID], g)
	}
	bySecret := make(map[string][]storage.Secret, len(clients))
	for i := 0; i < len(secrets); {
		j := i + 1
		for j < len(secrets) && secrets[j].ClientID == secrets[i].ClientID {
			j++
		}
		bySecret[secrets[i].ClientID] = secrets[i:j]
		i = j
	}
	for _, cl := range clients {
		snap.clients.setInPlace(newClient(cl, bySecret[cl.ClientID], byClient[cl.ClientID]))
	}
	return snap
}

// newClient makes the catalog's client of its record, secrets and grants:
// exactly sized copies of the slices, shared strings interned, and the
// strings and hashes proper to the client packed into one allocation each.
// A client with one secret and one grant, the usual case, is then four
// objects (the client with its secret and grant, its strings, its hash and
// its grant types) where the rows it came from were a dozen: less memory,
// and less for the garbage collector to mark on every cycle.
func newClient(cl storage.Client, secrets []storage.Secret, grants []storage.Grant) *Client {
	var out *Client
	if len(secrets) == 1 && len(grants) == 1 {
		blk := &struct {
			c Client
			s [1]storage.Secret
			g [1]storage.Grant
		}{}
		out = &blk.c
		out.Secrets, out.Grants = blk.s[:], blk.g[:]
	} else {
		out = &Client{}
		if len(secrets) > 0 {
			out.Secrets = make([]storage.Secret, len(secrets))
		}
		if len(grants) > 0 {
			out.Grants = make([]storage.Grant, len(grants))
		}
	}
	out.Client = cl
	copy(out.Secrets, secrets)
	copy(out.Grants, grants)

	// The client's own strings, in one allocation.
	var buf [8]*string
	own := append(buf[:0], &out.ClientID, &out.Name, &out.Description)
	hashLen := 0
	for i := range out.Secrets {
		own = append(own, &out.Secrets[i].ID, &out.Secrets[i].Hint)
		hashLen += len(out.Secrets[i].Hash)
	}
	for i := range out.Grants {
		own = append(own, &out.Grants[i].ID)
	}
	n := 0
	for _, p := range own {
		n += len(*p)
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range own {
		b.WriteString(*p)
	}
	packed := b.String()
	for _, p := range own {
		l := len(*p)
		*p, packed = packed[:l], packed[l:]
	}

	out.AppType = intern(out.AppType)
	out.TokenEndpointAuthMethod = intern(out.TokenEndpointAuthMethod)
	out.GrantTypes = internList(out.GrantTypes)
	hashes := make([]byte, 0, hashLen)
	for i := range out.Secrets {
		s := &out.Secrets[i]
		s.ClientID = out.ClientID
		s.HashAlg = intern(s.HashAlg)
		start := len(hashes)
		hashes = append(hashes, s.Hash...)
		s.Hash = hashes[start:len(hashes):len(hashes)]
	}
	for i := range out.Grants {
		g := &out.Grants[i]
		g.ClientID = out.ClientID
		g.Audience = intern(g.Audience)
		g.SubjectType = intern(g.SubjectType)
		g.Scope = internList(g.Scope)
	}
	return out
}

// intern returns the canonical copy of s, so that the many clients that
// name the same audience, scope or method keep one string between them.
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

// internList returns an exactly sized copy of l with its strings interned.
func internList(l []string) []string {
	if len(l) == 0 {
		return l
	}
	c := make([]string, len(l))
	for i, s := range l {
		c[i] = intern(s)
	}
	return c
}

// FeedReader is the part of storage.Storage through which a follower
// marks its position in the change feed, so that the feed can be pruned
// behind every instance (storage.Storage.PruneChanges).
type FeedReader interface {
	MarkFeedRead(ctx context.Context, reader string, seq int64, now time.Time) (prunedThrough int64, err error)
}

var _ FeedReader = storage.Storage(nil)

// Mark records, as reader, that the catalog has applied the change feed up
// to its snapshot's position, so that the feed can be pruned up to there.
// A follower cut off for longer than the pruning waits for it finds the
// changes it missed gone: Sync then loads everything again.
func (c *Catalog) Mark(ctx context.Context, feed FeedReader, reader string) error {
	if _, err := feed.MarkFeedRead(ctx, reader, c.cur.Load().Seq, c.now()); err != nil {
		return fmt.Errorf("mark the change feed read: %w", err)
	}
	return nil
}

// batch is how many changes one read of the feed takes.
const batch = 500

// Sync applies the changes recorded since the current snapshot. It reloads
// each changed client and API once per batch, and reports whether any
// signing key changed. Each store call may take at most the call timeout;
// the batches applied before a failure stay applied.
func (c *Catalog) Sync(ctx context.Context) (keysChanged bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		old := c.cur.Load()
		changes, err := call(c, ctx, func(ctx context.Context) ([]storage.Change, error) {
			return c.store.ChangesSince(ctx, old.Seq, batch)
		})
		if errors.Is(err, storage.ErrFeedPruned) {
			// Cut off for longer than the pruning waits: what changed since
			// is gone from the feed, so everything is read again, keys too.
			c.log.Warn("the change feed was pruned past this instance's position; loading the catalog again", "position", old.Seq)
			if err := c.load(ctx); err != nil {
				return true, err
			}
			return true, nil
		}
		if err != nil {
			return keysChanged, fmt.Errorf("read changes: %w", err)
		}
		if len(changes) == 0 {
			c.markSynced()
			return keysChanged, nil
		}
		clientIDs, apiIDs, tracked := map[string]bool{}, map[string]bool{}, map[string][]string{}
		for _, ch := range changes {
			if _, ok := c.followers[ch.Entity]; ok {
				tracked[ch.Entity] = append(tracked[ch.Entity], ch.ID)
			}
			switch ch.Entity {
			case storage.EntityClient:
				clientIDs[ch.ID] = true
			case storage.EntityAPI:
				apiIDs[ch.ID] = true
			case storage.EntityKey:
				keysChanged = true
			}
		}
		// Each changed client costs O(log32 clients), never a copy of all.
		next := &Snapshot{Seq: changes[len(changes)-1].Seq, clients: old.clients, apis: old.apis}
		if len(apiIDs) > 0 {
			next.apis = maps.Clone(old.apis)
			for id := range apiIDs {
				api, err := call(c, ctx, func(ctx context.Context) (storage.API, error) { return c.store.GetAPI(ctx, id) })
				switch {
				case errors.Is(err, storage.ErrNotFound):
					delete(next.apis, id)
				case err != nil:
					return keysChanged, fmt.Errorf("reload api %s: %w", id, err)
				default:
					next.apis[id] = &api
				}
			}
		}
		for id := range clientIDs {
			cl, err := c.loadClient(ctx, id)
			switch {
			case errors.Is(err, storage.ErrNotFound):
				next.clients = next.clients.delete(id)
			case err != nil:
				return keysChanged, fmt.Errorf("reload client %s: %w", id, err)
			default:
				next.clients = next.clients.set(cl)
			}
		}
		if err := c.applyFollowers(ctx, tracked); err != nil {
			return keysChanged, err
		}
		c.cur.Store(next)
		c.log.Debug("catalog updated", "seq", next.Seq, "clients", len(clientIDs), "apis", len(apiIDs))
		if len(changes) < batch {
			c.markSynced()
			return keysChanged, nil
		}
	}
}

// SyncNow brings the snapshot up to every change committed before it was
// called, so that the caller's own write is served from the next request
// on: the management API calls it after a write, before it answers (read
// your writes). A signing key change it applies is handed to Follow's
// after function on its next run.
func (c *Catalog) SyncNow(ctx context.Context) error {
	keys, err := c.Sync(ctx)
	if keys {
		c.keysPending.Store(true)
	}
	return err
}

func (c *Catalog) loadClient(ctx context.Context, id string) (*Client, error) {
	cl, err := call(c, ctx, func(ctx context.Context) (storage.Client, error) { return c.store.GetClient(ctx, id) })
	if err != nil {
		return nil, err
	}
	secrets, err := call(c, ctx, func(ctx context.Context) ([]storage.Secret, error) { return c.store.ListSecrets(ctx, id) })
	if err != nil {
		return nil, err
	}
	grants, err := call(c, ctx, func(ctx context.Context) ([]storage.Grant, error) {
		return c.store.ListGrants(ctx, storage.GrantFilter{ClientID: id})
	})
	if err != nil {
		return nil, err
	}
	creds, err := call(c, ctx, func(ctx context.Context) ([]storage.Credential, error) { return c.store.ListCredentials(ctx, id) })
	if err != nil {
		return nil, err
	}
	out := newClient(cl, secrets, grants)
	out.Credentials = c.parseCredentials(creds)
	return out, nil
}

// parseCredentials parses each credential's key once, for the token
// endpoint; one that does not parse (it was checked when stored) is kept
// without a key and logged.
func (c *Catalog) parseCredentials(list []storage.Credential) []Credential {
	if len(list) == 0 {
		return nil
	}
	out := make([]Credential, len(list))
	for i, cr := range list {
		out[i].Credential = cr
		if cr.PEM == "" {
			continue
		}
		key, cert, err := clientcred.Parse(cr.PEM)
		if err != nil {
			c.log.Warn("a client credential does not parse; it authenticates nothing", "client_id", cr.ClientID, "credential_id", cr.ID, "err", err)
			continue
		}
		out[i].Key, out[i].Cert = key, cert
	}
	return out
}

func (c *Catalog) markSynced() {
	c.lastSync.Store(c.now().UnixNano())
	if c.failing.Swap(false) {
		c.log.Info("catalog sync recovered")
	}
}

// Follow calls Sync every interval until ctx is done, and also at once when
// the store is a Notifier and announces a change; the ticker stays as the
// fallback for when notifications are lost or the listener is down. after,
// if set, runs after every successful sync and is told whether a signing key
// changed, under the call timeout; a key change is reported again until
// after succeeds. Errors are logged once per outage; the last good snapshot
// keeps serving. Syncs never overlap: a slow one delays the next tick.
func (c *Catalog) Follow(ctx context.Context, interval time.Duration, after func(ctx context.Context, keysChanged bool) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var wake <-chan struct{} // nil (never ready) without notifications
	if n, ok := c.store.(Notifier); ok {
		wake = n.Notifications(ctx)
	}
	pendingKeys := false // a key change seen but not yet applied
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case _, ok := <-wake:
			if !ok {
				wake = nil // closed: poll only
				continue
			}
		}
		keysChanged, err := c.Sync(ctx)
		pendingKeys = pendingKeys || keysChanged || c.keysPending.Swap(false)
		if err == nil && after != nil {
			actx, cancel := c.bounded(ctx)
			if err = after(actx, pendingKeys); err == nil {
				pendingKeys = false
			}
			cancel()
		}
		if err != nil && ctx.Err() == nil {
			if c.syncFailed != nil {
				c.syncFailed(err)
			}
			if !c.failing.Swap(true) {
				c.log.Warn("catalog sync failing; serving the last good catalog", "error", err)
			}
		}
	}
}
