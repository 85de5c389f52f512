package oauth

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func newReq(method, query, ct, body string, authz ...string) *http.Request {
	r := httptest.NewRequest(method, "/oauth/token?"+query, strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	for _, a := range authz {
		r.Header.Add("Authorization", a)
	}
	return r
}

func TestParseTokenRequest(t *testing.T) {
	b64 := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name  string
		req   *http.Request
		want  TokenRequest
		code  string
		inErr string
	}{
		{name: "form post", req: newReq("POST", "", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=a&client_secret=b&audience=x&scope=r+w"),
			want: TokenRequest{GrantType: "client_credentials", ClientID: "a", ClientSecret: "b", Audience: "x", Scope: "r w", AuthMethod: AuthClientSecretPost}},
		{name: "json", req: newReq("POST", "", "application/json", `{"grant_type":"client_credentials","client_id":"a","client_secret":"b","audience":"x","other":{"n":[1]}}`),
			want: TokenRequest{GrantType: "client_credentials", ClientID: "a", ClientSecret: "b", Audience: "x", AuthMethod: AuthClientSecretPost}},
		{name: "basic form-url-decodes", req: newReq("POST", "", "application/x-www-form-urlencoded", "grant_type=client_credentials", b64("a%3Ab:s+%2B%25")),
			want: TokenRequest{GrantType: "client_credentials", ClientID: "a:b", ClientSecret: "s +%", AuthMethod: AuthClientSecretBasic}},
		{name: "empty value is omitted", req: newReq("POST", "", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=a&client_secret=&audience="),
			want: TokenRequest{GrantType: "client_credentials", ClientID: "a", AuthMethod: AuthNone}},
		{name: "resources", req: newReq("POST", "", "application/x-www-form-urlencoded", "resource=a&resource=b"),
			want: TokenRequest{Resources: []string{"a", "b"}, AuthMethod: AuthNone}},
		{name: "unrelated query ok", req: newReq("POST", "trace=1", "application/x-www-form-urlencoded", "grant_type=x"),
			want: TokenRequest{GrantType: "x", AuthMethod: AuthNone}},
		{name: "put", req: newReq("PUT", "", "application/json", `{}`), code: CodeInvalidRequest, inErr: "POST"},
		{name: "xml", req: newReq("POST", "", "application/xml", `<a/>`), code: CodeInvalidRequest, inErr: "content type"},
		{name: "bad media type", req: newReq("POST", "", "application/json; =", `{}`), code: CodeInvalidRequest, inErr: "content type"},
		{name: "json null", req: newReq("POST", "", "application/json", `{"scope":null}`), code: CodeInvalidRequest, inErr: "string"},
		{name: "json array scope", req: newReq("POST", "", "application/json", `{"scope":["a"]}`), code: CodeInvalidRequest, inErr: "string"},
		{name: "json empty", req: newReq("POST", "", "application/json", ``), code: CodeInvalidRequest, inErr: "malformed"},
		{name: "form bad escape", req: newReq("POST", "", "application/x-www-form-urlencoded", "a=%zz"), code: CodeInvalidRequest, inErr: "malformed"},
		{name: "form semicolon", req: newReq("POST", "", "application/x-www-form-urlencoded", "grant_type=a;b"), code: CodeInvalidRequest, inErr: "malformed"},
		{name: "invalid utf-8", req: newReq("POST", "", "application/x-www-form-urlencoded", "scope=%ff"), code: CodeInvalidRequest, inErr: "UTF-8"},
		{name: "client_id in query", req: newReq("POST", "client_id=a", "application/x-www-form-urlencoded", "grant_type=x"), code: CodeInvalidRequest, inErr: "URL query"},
		{name: "two authorization headers", req: newReq("POST", "", "application/x-www-form-urlencoded", "grant_type=x", b64("a:b"), b64("a:b")), code: CodeInvalidRequest, inErr: "more than once"},
		{name: "basic without colon", req: newReq("POST", "", "application/x-www-form-urlencoded", "grant_type=x", b64("ab")), code: CodeInvalidRequest, inErr: "separator"},
		{name: "basic bad escape", req: newReq("POST", "", "application/x-www-form-urlencoded", "grant_type=x", b64("a%zz:b")), code: CodeInvalidRequest, inErr: "form-URL-encoded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTokenRequest(tc.req)
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
			if got.GrantType != tc.want.GrantType || got.ClientID != tc.want.ClientID || got.ClientSecret != tc.want.ClientSecret ||
				got.Audience != tc.want.Audience || got.Scope != tc.want.Scope || got.AuthMethod != tc.want.AuthMethod ||
				strings.Join(got.Resources, ",") != strings.Join(tc.want.Resources, ",") {
				t.Fatalf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestWriteErrorHidesCause(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, nil, errors.New("database password is hunter2"))
	if w.Code != 500 || strings.Contains(w.Body.String(), "hunter2") || !strings.Contains(w.Body.String(), `"server_error"`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	e := InvalidClient("client authentication failed")
	e.Challenge = `Basic realm="x"`
	WriteError(w, nil, e)
	if w.Code != 401 || w.Header().Get("WWW-Authenticate") != `Basic realm="x"` || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
}

// FuzzParseTokenRequest checks that no body, content type or Authorization
// header makes the parser panic, and that every failure is an RFC-shaped
// *Error with a 4xx status.
func FuzzParseTokenRequest(f *testing.F) {
	seeds := []struct{ ct, body, authz string }{
		{"application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=a&client_secret=b&audience=https%3A%2F%2Fapi", ""},
		{"application/json", `{"grant_type":"client_credentials","client_id":"a","client_secret":"b","audience":"x"}`, ""},
		{"application/json", `{"resource":["a","b"],"scope":"r w"}`, ""},
		{"application/json", `{"a":{"b":[1,2,{"c":null}]},"grant_type":"x"}`, ""},
		{"application/x-www-form-urlencoded", "grant_type=client_credentials", "Basic YTpi"},
		{"application/x-www-form-urlencoded", "client_secret=x", "Basic YTpi"},
		{"application/json; charset=utf-8", `{"grant_type":1}`, "basic !!"},
		{"text/plain", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.ct, s.body, s.authz)
	}
	f.Fuzz(func(t *testing.T, ct, body, authz string) {
		r := httptest.NewRequest("POST", "/oauth/token", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		req, err := ParseTokenRequest(r)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status < 400 || e.Status >= 500 || e.Code == "" {
				t.Fatalf("error %v is not a 4xx protocol error", err)
			}
			return
		}
		if req.AuthMethod == AuthClientSecretBasic && authz == "" {
			t.Fatal("basic auth without a header")
		}
		if req.AuthMethod == AuthClientSecretPost && req.ClientSecret == "" {
			t.Fatal("client_secret_post without a secret")
		}
	})
}
