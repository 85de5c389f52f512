package oauth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestLoginGrantParams: the authorization_code and refresh_token grants'
// parameters are read from form and JSON bodies alike, once each.
func TestLoginGrantParams(t *testing.T) {
	tests := []struct {
		name, ct, body string
		want           TokenRequest
		wantErr        string
	}{
		{"form code", "application/x-www-form-urlencoded",
			"grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&code_verifier=v-1&client_id=c",
			TokenRequest{GrantType: "authorization_code", Code: "abc", RedirectURI: "https://app.example.com/cb", CodeVerifier: "v-1", ClientID: "c", AuthMethod: AuthNone}, ""},
		{"json refresh", "application/json", `{"grant_type":"refresh_token","refresh_token":"r.1","client_id":"c","client_secret":"s"}`,
			TokenRequest{GrantType: "refresh_token", RefreshToken: "r.1", ClientID: "c", ClientSecret: "s", AuthMethod: AuthClientSecretPost}, ""},
		{"code twice", "application/x-www-form-urlencoded", "grant_type=authorization_code&code=a&code=b", TokenRequest{}, `"code"`},
		{"json verifier not a string", "application/json", `{"grant_type":"authorization_code","code_verifier":1}`, TokenRequest{}, "code_verifier"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.ct)
			got, err := ParseTokenRequest(r)
			if tc.wantErr != "" {
				var oe *Error
				if !errors.As(err, &oe) || oe.Code != CodeInvalidRequest || !strings.Contains(oe.Description, tc.wantErr) {
					t.Fatalf("err = %v, want invalid_request naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.GrantType != tc.want.GrantType || got.Code != tc.want.Code || got.RedirectURI != tc.want.RedirectURI ||
				got.CodeVerifier != tc.want.CodeVerifier || got.RefreshToken != tc.want.RefreshToken ||
				got.ClientID != tc.want.ClientID || got.ClientSecret != tc.want.ClientSecret || got.AuthMethod != tc.want.AuthMethod {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
	r := httptest.NewRequest(http.MethodPost, "/oauth/token?code=abc", strings.NewReader("grant_type=authorization_code"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := ParseTokenRequest(r); err == nil || !strings.Contains(err.Error(), "URL query") {
		t.Errorf("a code in the URL query: %v, want invalid_request", err)
	}
}
