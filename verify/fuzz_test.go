package verify

import (
	"errors"
	"strings"
	"testing"
)

// FuzzVerify feeds arbitrary strings to Verify: it must never panic, must
// refuse with one of the documented reasons, must keep the token out of its
// error, and must accept only tokens the issuer signed.
func FuzzVerify(f *testing.F) {
	iss := newFakeIssuer(f, keyFor("RS256"), keyFor("PS256"), keyFor("ES256"), keyFor("EdDSA"))
	v, _ := newTestVerifier(f, iss, func(c *Config) { c.CacheSize = 64 })
	for _, alg := range DefaultAlgorithms {
		tok := sign(f, keyFor(alg), "at+jwt", claims())
		f.Add(tok)
		p := strings.Split(tok, ".")
		f.Add(p[0] + "." + jsonPart(with("aud", "x")) + "." + p[2])
		f.Add(p[0] + ".." + p[2])
	}
	rs := keyFor("RS256")
	f.Add(jsonPart(map[string]any{"alg": "none", "typ": "at+jwt", "kid": rs.kid}) + "." + jsonPart(claims()) + ".")
	f.Add(hs256(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": rs.kid}, claims(), []byte("k")))
	f.Add(jsonPart(map[string]any{"alg": "RS256", "crit": []string{"exp"}, "exp": 1}) + ".e30.AAAA")
	f.Add(sign(f, rs, "at+jwt", with("exp", 1e300)))
	f.Add(sign(f, rs, "at+jwt", with("aud", map[string]any{"a": 1})))
	f.Add("")
	f.Add("...")
	f.Add("e30.e30.e30")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(t.Context(), token)
		if err == nil {
			if c.Issuer != testIssuer || c.Subject != "svc" || !c.HasScope("read:sensors") {
				t.Fatalf("accepted a token the issuer did not sign: %+v", c)
			}
			return
		}
		if c != nil {
			t.Fatal("claims with an error")
		}
		if r := reason(err); !errors.Is(err, r) {
			t.Fatalf("error %v wraps no reason", err)
		}
		if len(token) >= 32 && strings.Contains(err.Error(), token) {
			t.Fatalf("error %q contains the token", err)
		}
	})
}
