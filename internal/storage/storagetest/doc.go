// Package storagetest is the conformance suite of the storage contract: the
// one set of tests that every storage.Storage backend (SQLite, PostgreSQL)
// must pass. A backend's test calls Run with a function returning a fresh,
// empty, migrated store:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Storage {
//			s := openEmptyStore(t)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Run checks, for every entity, that values round-trip (times as the same
// instant to the microsecond, returned in UTC; empty and nil lists alike),
// that every method returns storage.ErrNotFound and storage.ErrAlreadyExists
// where the contract says so and that a failed write changes nothing, the
// cascades of DeleteAPI and DeleteClient, the secret lifecycle, the
// atomicity of SaveKeys, the change feed, concurrent writers and a
// concurrent follower of the feed, and the lease lifecycle (acquire, refusal,
// renewal, takeover at the expiry, release) with racing acquirers.
//
// Beyond the interface documentation the suite pins down: TouchSecrets only
// moves LastUsedAt forward; a failed write appends no change; within one
// write the order of its change rows is unspecified; SaveKeys does not depend
// on the order of its updates.
package storagetest
