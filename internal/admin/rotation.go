package admin

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// RotationMargin is added to the longest token lifetime when a key leaves
// the current state: it covers the instances that go on signing with it
// until they see the rotation (sync-interval is at most one second) and the
// clock-skew leeway of verifiers.
const RotationMargin = 5 * time.Minute

// RotationMaxTokenLifetime returns how long a key that stops signing must
// stay published (keys.RotateOptions.MaxTokenLifetime, docs/reference/protocol.md: "previous
// until every token it signed has expired"): the longest token lifetime of
// any of apis, at least DefaultTokenLifetime, plus RotationMargin. The
// command line (gatehouse key rotate) and the rotation schedule of serve
// both use it.
func RotationMaxTokenLifetime(apis []storage.API) time.Duration {
	longest := DefaultTokenLifetime
	for _, api := range apis {
		longest = max(longest, api.TokenLifetime)
	}
	return longest + RotationMargin
}
