package token

import (
	"encoding/json"
	"testing"
)

// TestAppendClaimsIsJSONMarshal: the direct claims encoder writes exactly
// what encoding/json writes for the same Claims, escaping included.
func TestAppendClaimsIsJSONMarshal(t *testing.T) {
	base := Claims{
		Issuer: "https://auth.example.com/", Subject: "Q2xpZW50SWQ", Audience: "https://api.example.com/orders",
		IssuedAt: 1767225600, Expiry: 1767312000, ClientID: "Q2xpZW50SWQ", AZP: "Q2xpZW50SWQ",
		JTI: "AAECAwQFBgcICQoLDA0ODw", Scope: "read:orders write:orders", GTY: "client-credentials",
	}
	odd := []string{"", `quote " and \ backslash`, "<html> & co", "tab\tnewline\n\x00\x1f", "ünïcödé ☃", "line\u2028sep\u2029", "\xff invalid utf-8", "~!#$%^*()_+{}|:?"}
	var cases []Claims
	cases = append(cases, base)
	for _, s := range odd {
		for field := range 8 {
			c := base
			switch field {
			case 0:
				c.Issuer = s
			case 1:
				c.Subject = s
			case 2:
				c.Audience = s
			case 3:
				c.ClientID = s
			case 4:
				c.AZP = s
			case 5:
				c.JTI = s
			case 6:
				c.Scope = s
			case 7:
				c.GTY = s
			}
			cases = append(cases, c)
		}
	}
	neg := base
	neg.IssuedAt, neg.Expiry = -1, 0
	cases = append(cases, neg)
	for i, c := range cases {
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendClaims(nil, &c, "", nil); string(got) != string(want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
		if !json.Valid(appendClaims([]byte("x"), &c, "", nil)[1:]) {
			t.Errorf("case %d: not valid JSON", i)
		}
	}

	// The subject suffix and the jti bytes read as if they were in Claims.
	for _, sub := range []string{"client", `odd"client`} {
		c := base
		c.Subject, c.JTI = sub, ""
		got := appendClaims(nil, &c, "@clients", []byte("AAECAwQFBgcICQoLDA0ODw"))
		c.Subject, c.JTI = sub+"@clients", "AAECAwQFBgcICQoLDA0ODw"
		want, _ := json.Marshal(c)
		if string(got) != string(want) {
			t.Errorf("suffix/jti:\n got %s\nwant %s", got, want)
		}
	}
}
