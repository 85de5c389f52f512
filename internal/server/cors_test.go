package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// corsReply is an answer with its CORS headers.
type corsReply struct {
	status int
	header http.Header
	body   map[string]any
}

func (r corsReply) allowed() string { return r.header.Get("Access-Control-Allow-Origin") }

// corsDo sends a request with Origin (when not "") and the header pairs.
func (f *loginFixture) corsDo(method, path, origin, body string, kv ...string) corsReply {
	f.t.Helper()
	req, _ := http.NewRequest(method, strings.TrimRight(f.issuer, "/")+path, strings.NewReader(body))
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	out := corsReply{status: resp.StatusCode, header: resp.Header}
	_ = json.Unmarshal(data, &out.body)
	return out
}

// TestCORS is the browser-app finding of issue 16: the token and userinfo
// endpoints sent no CORS headers, so an spa client could not redeem its
// code from the browser. Now a page at one of the client's web origins
// (exactly) may read the answers to its code and refresh grants and to
// userinfo; a page elsewhere, or at another client's origin, may not;
// preflights are answered for listed origins only; credentials mode is
// never allowed.
func TestCORS(t *testing.T) {
	f := newLoginFixture(t)
	const evil = "https://evil.example"
	for _, tc := range []struct {
		name, path, origin, method, headers string
		want                                int
	}{
		{"token preflight", "/oauth/token", spaOrigin, "POST", "Content-Type, Auth0-Client", 204},
		{"userinfo preflight", "/userinfo", spaOrigin, "GET", "authorization", 204},
		{"token preflight from elsewhere", "/oauth/token", evil, "POST", "content-type", 403},
		{"preflight from a look-alike", "/oauth/token", spaOrigin + ".evil.example", "POST", "content-type", 403},
		{"preflight with a trailing slash", "/oauth/token", spaOrigin + "/", "POST", "content-type", 403},
		{"preflight for another method", "/oauth/token", spaOrigin, "DELETE", "", 403},
		{"preflight for another header", "/oauth/token", spaOrigin, "POST", "x-evil", 403},
		{"preflight from null", "/userinfo", "null", "GET", "authorization", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.corsDo(http.MethodOptions, tc.path, tc.origin, "", "Access-Control-Request-Method", tc.method, "Access-Control-Request-Headers", tc.headers)
			if r.status != tc.want {
				t.Fatalf("%d, want %d", r.status, tc.want)
			}
			if tc.want == 204 && (r.allowed() != tc.origin || !strings.Contains(r.header.Get("Access-Control-Allow-Methods"), tc.method) ||
				r.header.Get("Access-Control-Max-Age") == "") || tc.want != 204 && r.allowed() != "" {
				t.Errorf("CORS headers %v", r.header)
			}
			if r.header.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("credentials mode allowed: %v", r.header)
			}
		})
	}

	redeem := func(origin string) corsReply {
		code := f.code(f.spa.ClientID, spaCB, "openid offline_access")
		return f.corsDo(http.MethodPost, "/oauth/token", origin, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {spaCB}, "code_verifier": {pkceVerifier}, "client_id": {f.spa.ClientID}}.Encode())
	}
	r := redeem(spaOrigin)
	if r.status != 200 || r.allowed() != spaOrigin || !slices.Contains(r.header.Values("Vary"), "Origin") {
		t.Fatalf("code redeemed from the spa's origin: %d %v", r.status, r.header)
	}
	access, _ := r.body["access_token"].(string)
	refresh, _ := r.body["refresh_token"].(string)
	if other := redeem(evil); other.allowed() != "" {
		t.Errorf("a page elsewhere may read the token response: %v", other.header)
	}
	rr := f.corsDo(http.MethodPost, "/oauth/token", spaOrigin, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
		"client_id": {f.spa.ClientID}}.Encode())
	if rr.status != 200 || rr.allowed() != spaOrigin {
		t.Errorf("refresh from the spa's origin: %d %v", rr.status, rr.header)
	}
	// The web client lists no origin: the spa's origin may not read its answers.
	webCode := f.code(f.web.ClientID, webCB, "openid")
	if r := f.corsDo(http.MethodPost, "/oauth/token", spaOrigin, f.webCode(webCode, nil).Encode()); r.status != 200 || r.allowed() != "" {
		t.Errorf("another client's token response read from the spa's origin: %d %v", r.status, r.header)
	}
	// Without Origin (a server) nothing changes.
	if r := f.corsDo(http.MethodPost, "/oauth/token", "", url.Values{"grant_type": {"client_credentials"}}.Encode()); r.allowed() != "" {
		t.Errorf("CORS headers without Origin: %v", r.header)
	}

	if r := f.corsDo(http.MethodGet, "/userinfo", spaOrigin, "", "Authorization", "Bearer "+access); r.status != 200 || r.allowed() != spaOrigin || r.body["sub"] == nil {
		t.Errorf("userinfo from the spa's origin: %d %v %v", r.status, r.header, r.body)
	}
	if r := f.corsDo(http.MethodGet, "/userinfo", evil, "", "Authorization", "Bearer "+access); r.status != 200 || r.allowed() != "" {
		t.Errorf("userinfo readable from elsewhere: %d %v", r.status, r.header)
	}
	if r := f.corsDo(http.MethodGet, "/userinfo", spaOrigin, "", "Authorization", "Bearer not-a-token"); r.status != 401 || r.allowed() != spaOrigin {
		t.Errorf("a userinfo error is not readable by a listed origin: %d %v", r.status, r.header)
	}

	var meta struct {
		ResponseModes []string `json:"response_modes_supported"`
	}
	resp, err := http.Get(strings.TrimRight(f.issuer, "/") + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil || !slices.Contains(meta.ResponseModes, "form_post") {
		t.Errorf("discovery response_modes_supported %v, %v", meta.ResponseModes, err)
	}
}
