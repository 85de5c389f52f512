package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
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
	bound := base
	bound.Cnf = &Confirmation{JKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}
	certBound, bothBound := base, base
	certBound.Cnf = &Confirmation{X5T: "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg"}
	bothBound.Cnf = &Confirmation{JKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", X5T: "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg"}
	cases = append(cases, bound, certBound, bothBound)
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

// signerFunc is a Signer made of a func.
type signerFunc func(alg, typ string, payload []byte) (string, error)

func (f signerFunc) Sign(alg, typ string, payload []byte) (string, error) {
	return f(alg, typ, payload)
}

// TestMintRandomness: the jti is read from the injected reader (all of its
// 16 bytes), a failing reader fails the mint, and with none crypto/rand
// gives each token its own jti.
func TestMintRandomness(t *testing.T) {
	var claims Claims
	sign := signerFunc(func(_, _ string, payload []byte) (string, error) {
		claims = Claims{}
		return "tok", json.Unmarshal(payload, &claims)
	})
	api := &storage.API{Identifier: "https://api.example.com/", TokenLifetime: time.Hour, SigningAlg: "ES256"}
	now := time.Unix(1767225600, 0)
	seq := make([]byte, 16)
	for i := range seq {
		seq[i] = byte(i)
	}
	m := newMinter("https://issuer.test/", sign, bytes.NewReader(seq))
	if _, err := m.mint(api, "c", "c", "", storage.GrantClientCredentials, nil, now); err != nil {
		t.Fatal(err)
	}
	if want := base64.RawURLEncoding.EncodeToString(seq); claims.JTI != want {
		t.Errorf("jti %q, want %q from the injected reader", claims.JTI, want)
	}
	if _, err := m.mint(api, "c", "c", "", storage.GrantClientCredentials, nil, now); err == nil {
		t.Error("mint with an exhausted reader succeeded")
	}

	m = newMinter("https://issuer.test/", sign, nil)
	seen := map[string]bool{}
	for range 3 {
		if _, err := m.mint(api, "c", "c", "", storage.GrantClientCredentials, nil, now); err != nil {
			t.Fatal(err)
		}
		if len(claims.JTI) != 22 || seen[claims.JTI] {
			t.Fatalf("jti %q: not a fresh 16-byte value", claims.JTI)
		}
		seen[claims.JTI] = true
	}
}
