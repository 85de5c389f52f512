package token

import (
	"hash/maphash"
	"sync/atomic"
	"time"
)

// useSlots is the size of the table that throttles last-use reports.
const useSlots = 4096

// useThrottle passes on at most one use per secret per second, so that the
// hot path does not take the last-use recorder's lock on every request: the
// recorder batches uses to the second anyway (ARCHITECTURE.md, last_used_at
// batched). Each slot holds 32 bits of the secret ID's hash and the second
// of its last report; a secret whose slot holds another hash is reported
// (and takes the slot), so a collision costs an extra report, never a lost
// one. It is lock-free and its memory is fixed.
type useThrottle struct {
	seed  maphash.Seed
	slots [useSlots]atomic.Uint64
	used  func(secretID string, at time.Time)
}

func newUseThrottle(used func(string, time.Time)) *useThrottle {
	return &useThrottle{seed: maphash.MakeSeed(), used: used}
}

func (u *useThrottle) record(secretID string, at time.Time) {
	h := maphash.String(u.seed, secretID)
	slot := &u.slots[h%useSlots]
	v := h>>32<<32 | uint64(uint32(at.Unix()))
	if slot.Load() == v {
		return // reported this second already
	}
	slot.Store(v) // two requests racing here both report: harmless
	u.used(secretID, at)
}
