package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/dpop"
)

// dpopChecker is the token endpoint's DPoP proof checker (RFC 9449): this
// instance's replay cache and, with --dpop-nonce, server nonces keyed from
// the master key, so that every instance sharing it issues and accepts the
// same nonces without shared state.
func dpopChecker(masterKey []byte, requireNonce bool, now func() time.Time) (*dpop.Checker, error) {
	cfg := dpop.Config{Now: now}
	if requireNonce {
		m := hmac.New(sha256.New, masterKey)
		m.Write([]byte("gatehouse DPoP nonce key v1"))
		n, err := dpop.NewNonces(m.Sum(nil), dpop.DefaultNonceWindow)
		if err != nil {
			return nil, fmt.Errorf("dpop nonces: %w", err)
		}
		cfg.Nonces = n
	}
	return dpop.NewChecker(cfg), nil
}
