package audit

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// jtiOf returns the jti claim of a compact JWS (RFC 7515 §7.1) whose payload
// is a JSON object, or "" if it has none. The signature is not checked: the
// token is one this server just issued.
func jtiOf(tok string) string {
	_, rest, ok := strings.Cut(tok, ".")
	if !ok {
		return ""
	}
	payload, _, ok := strings.Cut(rest, ".")
	if !ok {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return ""
	}
	var claims struct {
		JTI string `json:"jti"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return ""
	}
	return claims.JTI
}
