package catalog

import (
	"hash/maphash"
	"math/bits"
	"slices"
)

// clientMap is a persistent map from client ID to *Client: a hash array
// mapped trie (Bagwell's HAMT, in the CHAMP layout of Steindorfer and
// Vinju, with entries and subtries in separate arrays). A set or delete
// returns a new map that shares every node with the old one but the path to
// the changed entry: about log32(n) nodes of at most 32 pointers each, so
// publishing a snapshot after one change costs the same with 1,000 clients
// as with 100,000, and the old map, which readers may still hold, never
// changes. The zero clientMap is not usable; start from newClientMap.
type clientMap struct {
	hash func(id string) uint64 // shared by every version of one map
	root *cnode
	n    int
}

// cnode is one trie node. Bit b of datamap (nodemap) is set when slot b of
// the node holds an entry (a subtrie); data and nodes hold them in slot
// order. Below the 64 bits of the hash a node is a collision list: no maps,
// every entry in data.
type cnode struct {
	datamap, nodemap uint32
	data             []*Client
	nodes            []*cnode
}

const (
	levelBits = 5
	levelMask = 1<<levelBits - 1
	hashBits  = 64
)

func newClientMap() clientMap {
	seed := maphash.MakeSeed()
	return clientMap{hash: func(id string) uint64 { return maphash.String(seed, id) }, root: &cnode{}}
}

// index is the position in a node's array of the slot bit.
func index(bitmap, bit uint32) int { return bits.OnesCount32(bitmap & (bit - 1)) }

// Len returns the number of clients.
func (m clientMap) Len() int { return m.n }

// get returns the client with that ID. It allocates nothing.
func (m clientMap) get(id string) (*Client, bool) {
	h := m.hash(id)
	n := m.root
	for shift := uint(0); ; shift += levelBits {
		if shift >= hashBits {
			for _, c := range n.data {
				if c.ClientID == id {
					return c, true
				}
			}
			return nil, false
		}
		bit := uint32(1) << (h >> shift & levelMask)
		switch {
		case n.datamap&bit != 0:
			if c := n.data[index(n.datamap, bit)]; c.ClientID == id {
				return c, true
			}
			return nil, false
		case n.nodemap&bit != 0:
			n = n.nodes[index(n.nodemap, bit)]
		default:
			return nil, false
		}
	}
}

// set returns the map with c stored under c.ClientID, replacing any client
// of that ID.
func (m clientMap) set(c *Client) clientMap {
	root, added := m.insert(m.root, c, m.hash(c.ClientID), 0, false)
	m.root = root
	if added {
		m.n++
	}
	return m
}

// setInPlace stores c in m itself. It is for building a map that no reader
// holds yet: every node of m must have been made by setInPlace.
func (m *clientMap) setInPlace(c *Client) {
	root, added := m.insert(m.root, c, m.hash(c.ClientID), 0, true)
	m.root = root
	if added {
		m.n++
	}
}

// delete returns the map without the client of that ID.
func (m clientMap) delete(id string) clientMap {
	root, removed := m.remove(m.root, id, m.hash(id), 0)
	if removed {
		m.root = root
		m.n--
	}
	return m
}

func (n *cnode) clone() *cnode {
	return &cnode{datamap: n.datamap, nodemap: n.nodemap, data: slices.Clone(n.data), nodes: slices.Clone(n.nodes)}
}

// insert stores c in the subtrie n at shift: in a copy of the path, or in n
// itself when inPlace.
func (m clientMap) insert(n *cnode, c *Client, h uint64, shift uint, inPlace bool) (*cnode, bool) {
	clone := (*cnode).clone
	if inPlace {
		clone = func(n *cnode) *cnode { return n }
	}
	if shift >= hashBits {
		out := clone(n)
		for i, d := range out.data {
			if d.ClientID == c.ClientID {
				out.data[i] = c
				return out, false
			}
		}
		out.data = append(out.data, c)
		return out, true
	}
	bit := uint32(1) << (h >> shift & levelMask)
	switch {
	case n.datamap&bit != 0:
		i := index(n.datamap, bit)
		d := n.data[i]
		out := clone(n)
		if d.ClientID == c.ClientID {
			out.data[i] = c
			return out, false
		}
		sub := pair(d, m.hash(d.ClientID), c, h, shift+levelBits)
		out.data = slices.Delete(out.data, i, i+1)
		out.datamap &^= bit
		out.nodemap |= bit
		out.nodes = slices.Insert(out.nodes, index(out.nodemap, bit), sub)
		return out, true
	case n.nodemap&bit != 0:
		i := index(n.nodemap, bit)
		sub, added := m.insert(n.nodes[i], c, h, shift+levelBits, inPlace)
		out := clone(n)
		out.nodes[i] = sub
		return out, added
	default:
		out := clone(n)
		out.datamap |= bit
		out.data = slices.Insert(out.data, index(out.datamap, bit), c)
		return out, true
	}
}

// pair returns the subtrie, from shift on, that holds a and b.
func pair(a *Client, ha uint64, b *Client, hb uint64, shift uint) *cnode {
	if shift >= hashBits {
		return &cnode{data: []*Client{a, b}}
	}
	sa, sb := ha>>shift&levelMask, hb>>shift&levelMask
	if sa == sb {
		return &cnode{nodemap: 1 << sa, nodes: []*cnode{pair(a, ha, b, hb, shift+levelBits)}}
	}
	n := &cnode{datamap: 1<<sa | 1<<sb, data: []*Client{a, b}}
	if sb < sa {
		n.data[0], n.data[1] = b, a
	}
	return n
}

func (m clientMap) remove(n *cnode, id string, h uint64, shift uint) (*cnode, bool) {
	if shift >= hashBits {
		i := slices.IndexFunc(n.data, func(c *Client) bool { return c.ClientID == id })
		if i < 0 {
			return n, false
		}
		return &cnode{data: slices.Delete(slices.Clone(n.data), i, i+1)}, true
	}
	bit := uint32(1) << (h >> shift & levelMask)
	switch {
	case n.datamap&bit != 0:
		i := index(n.datamap, bit)
		if n.data[i].ClientID != id {
			return n, false
		}
		out := n.clone()
		out.data = slices.Delete(out.data, i, i+1)
		out.datamap &^= bit
		return out, true
	case n.nodemap&bit != 0:
		i := index(n.nodemap, bit)
		sub, removed := m.remove(n.nodes[i], id, h, shift+levelBits)
		if !removed {
			return n, false
		}
		out := n.clone()
		switch {
		case len(sub.nodes) == 0 && len(sub.data) <= 1:
			// An empty subtrie goes; a single entry moves up into this slot.
			out.nodes = slices.Delete(out.nodes, i, i+1)
			out.nodemap &^= bit
			if len(sub.data) == 1 {
				out.datamap |= bit
				out.data = slices.Insert(out.data, index(out.datamap, bit), sub.data[0])
			}
		default:
			out.nodes[i] = sub
		}
		return out, true
	default:
		return n, false
	}
}

// each calls f for every client, in no particular order, until f returns
// false.
func (m clientMap) each(f func(*Client) bool) {
	var walk func(n *cnode) bool
	walk = func(n *cnode) bool {
		for _, c := range n.data {
			if !f(c) {
				return false
			}
		}
		for _, s := range n.nodes {
			if !walk(s) {
				return false
			}
		}
		return true
	}
	walk(m.root)
}
