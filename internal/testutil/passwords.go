package testutil

import "github.com/gatehouse-dev/gatehouse/internal/users"

// CheapHasher is an argon2id hasher (RFC 9106) with the least cost, so that
// tests that store and check users' passwords stay fast; the login reads
// the parameters from the stored hash, and package users tests the real
// cost.
func CheapHasher() users.Hasher {
	return users.Hasher{Params: users.Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}}
}
