package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// jtiOf returns the jti claim of a compact JWS (RFC 7515 §7.1) whose payload
// is a JSON object, or "" if it has none. The signature is not checked: the
// token is one this server just issued. A jti of plain characters (as this
// server makes them: base64url) is read without a JSON decoder.
func jtiOf(tok string) string {
	_, rest, ok := strings.Cut(tok, ".")
	if !ok {
		return ""
	}
	payload, _, ok := strings.Cut(rest, ".")
	if !ok {
		return ""
	}
	var stack [1024]byte
	buf := stack[:]
	if n := base64.RawURLEncoding.DecodedLen(len(payload)); n > len(buf) {
		buf = make([]byte, n)
	}
	n, err := base64.RawURLEncoding.Decode(buf, []byte(payload))
	if err != nil {
		return ""
	}
	raw := buf[:n]
	if i := bytes.Index(raw, []byte(`"jti":"`)); i >= 0 {
		v := raw[i+len(`"jti":"`):]
		if j := bytes.IndexByte(v, '"'); j >= 0 && bytes.IndexByte(v[:j], '\\') < 0 && bytes.Count(raw, []byte(`"jti"`)) == 1 {
			return string(v[:j])
		}
	}
	var claims struct {
		JTI string `json:"jti"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return ""
	}
	return claims.JTI
}
