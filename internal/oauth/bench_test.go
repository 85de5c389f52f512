package oauth

import (
	"net/http"
	"strings"
	"testing"
)

// BenchmarkParseTokenRequest measures parsing a typical client_credentials
// request, as a form (client_secret_post and Basic) and as JSON.
func BenchmarkParseTokenRequest(b *testing.B) {
	const secret = "gh_s_3q2-7wEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	cases := []struct{ name, ct, body, authz string }{
		{"form", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=Q2xpZW50SWQxMjM0NTY3ODkw&client_secret=" + secret + "&audience=https%3A%2F%2Fapi.example.com%2Forders", ""},
		{"basic", "application/x-www-form-urlencoded", "grant_type=client_credentials&audience=https%3A%2F%2Fapi.example.com%2Forders", "Basic UTJ4cFpXNTBTV1F4TWpNME5UWTNPRGt3OmdoX3NfM3EyLTd3RUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"},
		{"json", "application/json", `{"grant_type":"client_credentials","client_id":"Q2xpZW50SWQxMjM0NTY3ODkw","client_secret":"` + secret + `","audience":"https://api.example.com/orders"}`, ""},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			body := strings.NewReader(c.body)
			r, _ := http.NewRequest(http.MethodPost, "http://x/oauth/token", body)
			r.Header.Set("Content-Type", c.ct)
			if c.authz != "" {
				r.Header.Set("Authorization", c.authz)
			}
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(c.body)
				if _, err := ParseTokenRequest(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
