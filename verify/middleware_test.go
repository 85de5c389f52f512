package verify

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMiddleware(t *testing.T) {
	rs := keyFor("RS256")
	good := sign(t, rs, "at+jwt", claims())
	parts := strings.Split(good, ".")
	const realm = `realm="sensors"`
	tests := []struct {
		name      string
		auth      []string // Authorization headers
		scopes    []string // required
		jwksDown  bool
		status    int
		challenge string // exact WWW-Authenticate; "" means none
		errCode   string // JSON body "error"; "" means no body check
		errDesc   string
	}{
		{"valid token", []string{"Bearer " + good}, nil, false, 200, "", "", ""},
		{"valid token with the scope", []string{"Bearer " + good}, []string{"read:sensors"}, false, 200, "", "", ""},
		{"scheme is case-insensitive", []string{"bearer " + good}, nil, false, 200, "", "", ""},
		{"no token", nil, nil, false, 401, `Bearer ` + realm, "", ""},
		{"another scheme", []string{"Basic c3ZjOnNlY3JldA=="}, nil, false, 401, `Bearer ` + realm, "", ""},
		{"empty bearer", []string{"Bearer "}, nil, false, 400,
			`Bearer realm="sensors", error="invalid_request", error_description="the Bearer token is empty"`, "invalid_request", "the Bearer token is empty"},
		{"two headers", []string{"Bearer " + good, "Bearer " + good}, nil, false, 400, "", "invalid_request", "more than one Authorization header"},
		{"two tokens", []string{"Bearer " + good + " " + good}, nil, false, 400, "", "invalid_request", "the Authorization header holds more than a Bearer token"},
		{"expired", []string{"Bearer " + sign(t, rs, "at+jwt", with("exp", t0.Add(-time.Hour).Unix()))}, nil, false, 401,
			`Bearer realm="sensors", error="invalid_token", error_description="the access token expired"`, "invalid_token", "the access token expired"},
		{"not yet valid", []string{"Bearer " + sign(t, rs, "at+jwt", with("nbf", t0.Add(time.Hour).Unix()))}, nil, false, 401,
			`Bearer realm="sensors", error="invalid_token", error_description="the access token is not valid yet"`, "invalid_token", "the access token is not valid yet"},
		{"wrong audience", []string{"Bearer " + sign(t, rs, "at+jwt", with("aud", "https://other"))}, nil, false, 401, "", "invalid_token", "the access token is for another audience"},
		{"wrong issuer", []string{"Bearer " + sign(t, rs, "at+jwt", with("iss", "https://evil.test/"))}, nil, false, 401, "", "invalid_token", "the access token is from another issuer"},
		{"alg none", []string{"Bearer " + jsonPart(map[string]any{"alg": "none", "typ": "at+jwt", "kid": rs.kid}) + "." + parts[1] + "."}, nil, false, 401, "", "invalid_token", ErrAlgorithm.Error()},
		{"HS256 with the public key", []string{"Bearer " + hs256(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": rs.kid}, claims(), []byte("k"))}, nil, false, 401, "", "invalid_token", ErrAlgorithm.Error()},
		{"unknown kid", []string{"Bearer " + sign(t, testKey{"nope", "RS256", rsaPriv2}, "at+jwt", claims())}, nil, false, 401, "", "invalid_token", ErrUnknownKey.Error()},
		{"tampered payload", []string{"Bearer " + parts[0] + "." + jsonPart(with("scope", "admin")) + "." + parts[2]}, nil, false, 401, "", "invalid_token", ErrSignature.Error()},
		{"oversized", []string{"Bearer " + sign(t, rs, "at+jwt", with("pad", strings.Repeat("x", 9000)))}, nil, false, 401, "", "invalid_token", ErrTooLarge.Error()},
		{"garbage", []string{"Bearer abc"}, nil, false, 401, "", "invalid_token", ErrMalformed.Error()},
		{"missing scope", []string{"Bearer " + good}, []string{"read:sensors", "admin"}, false, 403,
			`Bearer realm="sensors", error="insufficient_scope", error_description="the access token lacks the scope admin", scope="read:sensors admin"`,
			"insufficient_scope", "the access token lacks the scope admin"},
		{"keys unavailable", []string{"Bearer " + good}, nil, true, 503, "", "temporarily_unavailable", ErrKeysUnavailable.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIssuer(t, rs)
			if tc.jwksDown {
				f.set(func(f *fakeIssuer) { f.status = 500 })
			}
			v, _ := newTestVerifier(t, f, func(c *Config) { c.Realm = "sensors" })
			var seen *Claims
			h := v.Require(tc.scopes...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen, _ = ClaimsFromContext(r.Context())
				w.WriteHeader(200)
			}))
			req := httptest.NewRequest("GET", "/v1/sensors", nil)
			for _, a := range tc.auth {
				req.Header.Add("Authorization", a)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			if tc.status == 200 {
				if seen == nil || seen.Subject != "svc" {
					t.Fatalf("handler saw claims %+v", seen)
				}
				return
			}
			if seen != nil {
				t.Fatal("the handler ran")
			}
			ch := w.Header().Get("WWW-Authenticate")
			switch {
			case tc.challenge != "" && ch != tc.challenge:
				t.Fatalf("WWW-Authenticate %q, want %q", ch, tc.challenge)
			case tc.status == 401 && !strings.HasPrefix(ch, "Bearer "+realm):
				t.Fatalf("WWW-Authenticate %q, want a Bearer challenge with the realm", ch)
			case tc.errCode == "invalid_token" && !strings.Contains(ch, `error="invalid_token", error_description="`+tc.errDesc+`"`):
				t.Fatalf("WWW-Authenticate %q lacks the error and its description", ch)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("Cache-Control %q", cc)
			}
			if tc.errCode == "" {
				if w.Body.Len() != 0 {
					t.Fatalf("body %q, want none", w.Body)
				}
				return
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || len(body) != 2 ||
				body["error"] != tc.errCode || body["error_description"] != tc.errDesc {
				t.Fatalf("body %s (%v), want error %q, description %q", w.Body, err, tc.errCode, tc.errDesc)
			}
		})
	}
}

func TestMiddlewareDefaultRealm(t *testing.T) {
	f := newFakeIssuer(t, keyFor("RS256"))
	v, _ := newTestVerifier(t, f, nil)
	w := httptest.NewRecorder()
	v.Middleware(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if got := w.Header().Get("WWW-Authenticate"); got != `Bearer realm="`+testAudience+`"` {
		t.Fatalf("WWW-Authenticate %q", got)
	}
}

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"line\nbreak\x00é", `"linebreak"`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := quote(tc.in); got != tc.want {
				t.Fatalf("quote(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestContextWithClaims(t *testing.T) {
	c := &Claims{Subject: "x"}
	got, ok := ClaimsFromContext(ContextWithClaims(t.Context(), c))
	if !ok || got != c {
		t.Fatalf("got %v %v", got, ok)
	}
	if _, ok := ClaimsFromContext(t.Context()); ok {
		t.Fatal("claims in an empty context")
	}
}
