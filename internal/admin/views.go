package admin

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// KeyState is the state k is in at now (docs/reference/cli.md): a previous key whose
// tokens have all expired (its RetireAt has passed) is retired, which it is
// whether or not a rotation has recorded it yet. The command line and the
// management API both show keys in this state.
func KeyState(k storage.SigningKey, now time.Time) string {
	if k.State == storage.KeyPrevious && !k.RetireAt.IsZero() && !now.Before(k.RetireAt) {
		return storage.KeyRetired
	}
	return k.State
}

// Timestamp is t as the JSON shapes of docs/reference/cli.md show a time: RFC 3339 in
// UTC, or nil (JSON null) when t is unset.
func Timestamp(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}
