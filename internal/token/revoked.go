package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// revoked reports whether the cached token e was revoked since it was
// issued (by jti, or with every token of its client or subject), so that
// token reuse does not hand a revoked token out again.
func (c *reuseCache) revoked(e *reuseEntry, k *reuseKey) bool {
	return c.denylist != nil && c.denylist.Revoked(e.jti, k.clientID, k.subject, e.iat)
}

// noteJTI reads the jti of e's token into e when a denylist is set: once
// per minted token, never on a reuse.
func (c *reuseCache) noteJTI(e *reuseEntry) {
	if c.denylist != nil {
		e.jti = jtiOf(e.token)
	}
}

// jtiOf returns the jti claim of a compact JWS this package signed, or ""
// when it cannot be read.
func jtiOf(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		JTI string `json:"jti"`
	}
	if err := json.NewDecoder(bytes.NewReader(payload)).Decode(&c); err != nil {
		return ""
	}
	return c.JTI
}
