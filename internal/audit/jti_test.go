package audit

import (
	"encoding/base64"
	"testing"
)

func TestJTIOf(t *testing.T) {
	enc := func(payload string) string {
		return "eyJhbGciOiJFZERTQSJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
	}
	tests := []struct{ tok, want string }{
		{enc(`{"iss":"x","jti":"AbC-_09","exp":1}`), "AbC-_09"},
		{enc(`{"jti": "spaced"}`), "spaced"},
		{enc(`{"jti":"esc\"aped"}`), `esc"aped`},
		{enc(`{"sub":"{\"jti\":\"fake\"}","jti":"real"}`), "real"},
		{enc(`{"sub":"x"}`), ""},
		{"not a token", ""},
		{"a.!!!.c", ""},
	}
	for _, tc := range tests {
		if got := jtiOf(tc.tok); got != tc.want {
			t.Errorf("jtiOf(%q) = %q, want %q", tc.tok, got, tc.want)
		}
	}
}
