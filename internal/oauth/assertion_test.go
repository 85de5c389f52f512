package oauth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// TestParseClientAssertion holds the parsing of RFC 7521 §4.2 / RFC 7523
// §2.2 client assertions to its strict rules: both parameters or neither,
// only the jwt-bearer type, and no second authentication method beside it.
func TestParseClientAssertion(t *testing.T) {
	const typ = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("a:b"))
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name      string
		ct, body  string
		authz     []string
		code      string
		inErr     string
		wantID    string
		assertion string
	}{
		{name: "form", ct: form, body: "grant_type=client_credentials&client_assertion_type=" + typ + "&client_assertion=h.p.s", assertion: "h.p.s"},
		{name: "form with client_id", ct: form, body: "client_id=c1&client_assertion_type=" + typ + "&client_assertion=h.p.s", assertion: "h.p.s", wantID: "c1"},
		{name: "json", ct: "application/json", body: `{"client_assertion_type":"` + AssertionTypeJWTBearer + `","client_assertion":"h.p.s"}`, assertion: "h.p.s"},
		{name: "type without assertion", ct: form, body: "client_assertion_type=" + typ, code: CodeInvalidRequest, inErr: `"client_assertion" is required`},
		{name: "assertion without type", ct: form, body: "client_assertion=h.p.s", code: CodeInvalidRequest, inErr: `"client_assertion_type" is required`},
		{name: "other type", ct: form, body: "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Asaml2-bearer&client_assertion=x", code: CodeInvalidClient, inErr: "not supported"},
		{name: "assertion and secret", ct: form, body: "client_id=a&client_secret=b&client_assertion_type=" + typ + "&client_assertion=h.p.s", code: CodeInvalidRequest, inErr: "more than one authentication method"},
		{name: "assertion and basic", ct: form, body: "client_assertion_type=" + typ + "&client_assertion=h.p.s", authz: []string{basic}, code: CodeInvalidRequest, inErr: "more than one authentication method"},
		{name: "duplicate assertion", ct: form, body: "client_assertion_type=" + typ + "&client_assertion=a&client_assertion=b", code: CodeInvalidRequest, inErr: "more than once"},
		{name: "json non-string", ct: "application/json", body: `{"client_assertion_type":"` + AssertionTypeJWTBearer + `","client_assertion":{"a":1}}`, code: CodeInvalidRequest, inErr: "must be a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTokenRequest(newReq("POST", "", tc.ct, tc.body, tc.authz...))
			if tc.code != "" {
				var e *Error
				if !errors.As(err, &e) || e.Code != tc.code || !strings.Contains(e.Description, tc.inErr) {
					t.Fatalf("got %v, want %s containing %q", err, tc.code, tc.inErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.AuthMethod != AuthPrivateKeyJWT || got.ClientAssertion != tc.assertion || got.ClientID != tc.wantID || got.ClientSecret != "" {
				t.Fatalf("got %+v", *got)
			}
		})
	}
}

// TestClientAssertionNotInQuery: an assertion is a credential, and RFC 6749
// §2.3.1 keeps credentials out of the URL.
func TestClientAssertionNotInQuery(t *testing.T) {
	_, err := ParseTokenRequest(newReq("POST", "client_assertion=x", "application/x-www-form-urlencoded", "grant_type=x"))
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidRequest || !strings.Contains(e.Description, "URL query") {
		t.Fatalf("got %v", err)
	}
}
