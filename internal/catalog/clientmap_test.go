package catalog

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestClientMap checks the persistent map against a plain map over random
// sets and deletes, with the real hash and with hashes that collide
// (narrow: few distinct values, so deep tries and collision lists), and
// checks that every older version is left as it was.
func TestClientMap(t *testing.T) {
	hashes := []struct {
		name string
		hash func(string) uint64 // nil: the real one
	}{
		{"maphash", nil},
		{"low bits only", func(id string) uint64 { return uint64(len(id)*31+int(id[len(id)-1])) % 16 }},
		{"top bits only", func(id string) uint64 { return uint64(len(id)%7) << 59 }},
		{"constant", func(string) uint64 { return 42 }},
	}
	for _, h := range hashes {
		t.Run(h.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			m := newClientMap()
			if h.hash != nil {
				m.hash = h.hash
			}
			want := map[string]*Client{}
			type version struct {
				m    clientMap
				want map[string]*Client
			}
			var versions []version
			for step := range 3000 {
				id := fmt.Sprintf("c%d", rng.IntN(400))
				if rng.IntN(3) == 0 {
					m = m.delete(id)
					delete(want, id)
				} else {
					c := &Client{}
					c.ClientID = id
					m = m.set(c)
					want[id] = c
				}
				if step%300 == 0 {
					snap := make(map[string]*Client, len(want))
					for k, v := range want {
						snap[k] = v
					}
					versions = append(versions, version{m, snap})
				}
			}
			versions = append(versions, version{m, want})
			for vi, v := range versions {
				if v.m.Len() != len(v.want) {
					t.Fatalf("version %d: Len %d, want %d", vi, v.m.Len(), len(v.want))
				}
				for i := range 400 {
					id := fmt.Sprintf("c%d", i)
					got, ok := v.m.get(id)
					if w, wok := v.want[id]; ok != wok || got != w {
						t.Fatalf("version %d: get(%s) = %p %v, want %p %v", vi, id, got, ok, w, wok)
					}
				}
				n := 0
				v.m.each(func(c *Client) bool {
					if v.want[c.ClientID] != c {
						t.Fatalf("version %d: each gave %s, not in the map", vi, c.ClientID)
					}
					n++
					return true
				})
				if n != len(v.want) {
					t.Fatalf("version %d: each gave %d clients, want %d", vi, n, len(v.want))
				}
			}
		})
	}
}

// TestClientMapInPlace: a map built in place holds what set would.
func TestClientMapInPlace(t *testing.T) {
	m := newClientMap()
	for i := range 5000 {
		c := &Client{}
		c.ClientID = fmt.Sprintf("client-%d", i)
		m.setInPlace(c)
	}
	m.setInPlace(&Client{}) // the empty ID is a key like any other
	if m.Len() != 5001 {
		t.Fatalf("Len %d", m.Len())
	}
	for i := range 5000 {
		if c, ok := m.get(fmt.Sprintf("client-%d", i)); !ok || c.ClientID != fmt.Sprintf("client-%d", i) {
			t.Fatalf("client-%d: %v %v", i, c, ok)
		}
	}
	if _, ok := m.get("client-5000"); ok {
		t.Fatal("found a client never stored")
	}
	old := m
	m = m.delete("client-7")
	if _, ok := old.get("client-7"); !ok {
		t.Fatal("delete changed the old version")
	}
	if _, ok := m.get("client-7"); ok || m.Len() != 5000 {
		t.Fatal("delete did not delete")
	}
}
