package testutil

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// Patterns of credentials that must never reach a log line, whoever issued
// them: a generated client secret (secret.Prefix and 256 bits of base64url)
// and a compact JWS whose header and payload are JSON objects.
var (
	secretPattern = regexp.MustCompile(`gths_[A-Za-z0-9_-]{40,}`)
	jwtPattern    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.`)
)

// Leaks returns a description of every way logs holds a credential: one of
// the given values verbatim (client secrets, access tokens), a master key in
// any of its encodings, or anything shaped like a gatehouse secret or a JWT.
// Empty values are ignored. An empty result means no leak.
func Leaks(logs string, values []string, masterKeys ...[]byte) []string {
	var out []string
	for _, v := range verbatim(logs, values) {
		out = append(out, fmt.Sprintf("the value %s… appears verbatim", short(v)))
	}
	for _, k := range masterKeys {
		if len(k) == 0 {
			continue
		}
		for name, enc := range map[string]string{
			"base64":    base64.StdEncoding.EncodeToString(k),
			"base64url": base64.RawURLEncoding.EncodeToString(k),
			"hex":       hex.EncodeToString(k),
		} {
			if strings.Contains(logs, enc) {
				out = append(out, "the master key appears ("+name+")")
			}
		}
		if strings.Contains(logs, string(k)) {
			out = append(out, "the master key appears (raw)")
		}
	}
	for _, m := range secretPattern.FindAllString(logs, 3) {
		out = append(out, "a client secret appears: "+short(m)+"…")
	}
	for _, m := range jwtPattern.FindAllString(logs, 3) {
		out = append(out, "a JWT appears: "+short(m)+"…")
	}
	return out
}

// keyLen is the length of the prefix under which verbatim indexes values.
const keyLen = 16

// verbatim returns the values that appear in logs, in one pass over logs
// for the values of keyLen bytes or more (an interop run issues thousands
// of tokens and logs megabytes: strings.Contains per value took minutes),
// and with strings.Contains for shorter ones.
func verbatim(logs string, values []string) []string {
	var found []string
	byPrefix := map[string][]string{}
	for _, v := range values {
		switch {
		case v == "":
		case len(v) < keyLen:
			if strings.Contains(logs, v) {
				found = append(found, v)
			}
		default:
			byPrefix[v[:keyLen]] = append(byPrefix[v[:keyLen]], v)
		}
	}
	seen := map[string]bool{}
	for i := 0; i+keyLen <= len(logs) && len(byPrefix) > 0; i++ {
		for _, v := range byPrefix[logs[i:i+keyLen]] {
			if !seen[v] && strings.HasPrefix(logs[i:], v) {
				seen[v] = true
				found = append(found, v)
			}
		}
	}
	return found
}

// short is the start of a credential, enough to recognise it in a failure
// message without printing all of it.
func short(s string) string {
	if len(s) > 10 {
		return s[:10]
	}
	return s
}
