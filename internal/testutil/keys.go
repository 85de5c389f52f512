package testutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"sync"
)

const rsaPoolSize = 8

var rsaPool = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, rsaPoolSize)
	var wg sync.WaitGroup
	errs := make([]error, rsaPoolSize)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], errs[i] = rsa.GenerateKey(rand.Reader, 2048)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return keys, nil
})

// KeyGenerator returns a key generator for keys.Config.Generate. Each call
// returns a generator whose RSA keys are distinct from one another for the
// first eight RSA keys it hands out (then fresh ones are generated); ECDSA
// and Ed25519 keys are always fresh.
func KeyGenerator() func(alg string) (crypto.Signer, error) {
	var mu sync.Mutex
	next := 0
	return func(alg string) (crypto.Signer, error) {
		switch alg {
		case "RS256", "PS256":
			pool, err := rsaPool()
			if err != nil {
				return nil, err
			}
			mu.Lock()
			i := next
			next++
			mu.Unlock()
			if i < len(pool) {
				return pool[i], nil
			}
			return rsa.GenerateKey(rand.Reader, 2048)
		case "ES256":
			return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		case "EdDSA":
			_, k, err := ed25519.GenerateKey(rand.Reader)
			return k, err
		}
		return nil, fmt.Errorf("unsupported algorithm %q", alg)
	}
}
