package catalog

import (
	"fmt"
	"maps"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// rows returns n clients as `gatehouse bench` provisions them (one secret,
// one grant for one API), every string a fresh allocation as a database
// driver's scan makes it.
func rows(n int) ([]storage.API, []storage.Client, []storage.Secret, []storage.Grant) {
	fresh := func(s string) string { return strings.Clone(s) }
	now := time.Now().UTC()
	apis := []storage.API{{Identifier: "https://es256.bench", Name: "gatehouse bench", TokenLifetime: time.Hour,
		SigningAlg: "ES256", TokenDialect: storage.DialectRFC9068, Scopes: []storage.Scope{{Value: "read:things"}}, CreatedAt: now}}
	clients := make([]storage.Client, n)
	secrets := make([]storage.Secret, n)
	grants := make([]storage.Grant, n)
	for i := range n {
		id := fmt.Sprintf("Uh9kPT2EyqB1BvhORqYo6ZM%09d", i) // 32 characters, as generated
		clients[i] = storage.Client{ClientID: id, Name: fmt.Sprintf("bench-%06d", i), Description: fresh("created by gatehouse bench"),
			AppType: fresh(storage.AppTypeNonInteractive), GrantTypes: []string{fresh(storage.GrantClientCredentials)},
			TokenEndpointAuthMethod: fresh(storage.AuthMethodClientSecretPost), CreatedAt: now, UpdatedAt: now}
		secrets[i] = storage.Secret{ID: fmt.Sprintf("sec_g5WT7y7ePXN%09d", i), ClientID: fresh(id), HashAlg: fresh(storage.SecretHashSHA256),
			Hash: make([]byte, 32), Hint: fresh("gths_…R_jA"), CreatedAt: now}
		grants[i] = storage.Grant{ID: fmt.Sprintf("cgr_liFtsx25m%07d", i), ClientID: fresh(id), Audience: fresh(apis[0].Identifier),
			Scope: []string{fresh("read:things")}, CreatedAt: now}
	}
	return apis, clients, secrets, grants
}

// heapInuse returns the heap's bytes in use and its live objects.
func heapInuse() (bytes, objects uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.HeapObjects
}

// BenchmarkCatalogMemory reports the heap a loaded catalog holds per client
// (HeapInuse after the load, the rows dropped, less HeapInuse before the
// rows were read): what the process keeps for each client, and the heap
// objects it keeps per client, which the garbage collector marks on every
// cycle.
func BenchmarkCatalogMemory(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			var perClient, objects float64
			for b.Loop() {
				before, objBefore := heapInuse()
				apis, clients, secrets, grants := rows(n)
				snap := build(1, apis, clients, secrets, grants)
				apis, clients, secrets, grants = nil, nil, nil, nil
				after, objAfter := heapInuse()
				if got, _ := snap.Len(); got != n {
					b.Fatalf("%d clients", got)
				}
				perClient = float64(int64(after)-int64(before)) / float64(n)
				objects = float64(int64(objAfter)-int64(objBefore)) / float64(n)
				runtime.KeepAlive(snap)
			}
			b.ReportMetric(perClient, "bytes/client")
			b.ReportMetric(objects, "objects/client")
		})
	}
}

// BenchmarkApplyChange is the cost of publishing the snapshot that follows
// one changed client (the reload from the store aside), with 1,000 and
// 100,000 clients: the persistent map copies one path of the trie. The
// "map clone" rows are the structure this replaced, a Go map copied once
// per batch of changes, for comparison.
func BenchmarkApplyChange(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		apis, clients, secrets, grants := rows(n)
		snap := build(1, apis, clients, secrets, grants)
		changed := make([]*Client, 64)
		for i := range changed {
			c, _ := snap.Client(clients[i*n/len(changed)].ClientID)
			cc := *c
			cc.Disabled = true
			changed[i] = &cc
		}
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			cur := snap
			i := 0
			for b.Loop() {
				cur = &Snapshot{Seq: cur.Seq + 1, clients: cur.clients.set(changed[i%len(changed)]), apis: cur.apis}
				i++
			}
			if got, _ := cur.Len(); got != n {
				b.Fatalf("%d clients", got)
			}
		})
		b.Run(fmt.Sprintf("map_clone/clients=%d", n), func(b *testing.B) {
			old := make(map[string]*Client, n)
			snap.clients.each(func(c *Client) bool { old[c.ClientID] = c; return true })
			i := 0
			for b.Loop() {
				next := maps.Clone(old)
				next[changed[i%len(changed)].ClientID] = changed[i%len(changed)]
				old = next
				i++
			}
		})
	}
}

// BenchmarkClientLookup is the token path's read of one client, from the
// persistent map and, for comparison, from a Go map of the same clients.
func BenchmarkClientLookup(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		apis, clients, secrets, grants := rows(n)
		snap := build(1, apis, clients, secrets, grants)
		ids := make([]string, 4096)
		for i := range ids {
			ids[i] = clients[(i*7919)%n].ClientID
		}
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, ok := snap.Client(ids[i%len(ids)]); !ok {
					b.Fatal("missing")
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("map/clients=%d", n), func(b *testing.B) {
			m := make(map[string]*Client, n)
			snap.clients.each(func(c *Client) bool { m[c.ClientID] = c; return true })
			i := 0
			for b.Loop() {
				if _, ok := m[ids[i%len(ids)]]; !ok {
					b.Fatal("missing")
				}
				i++
			}
		})
	}
}
