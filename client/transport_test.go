package client

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// apiLog records what a fake API received.
type apiLog struct {
	mu     sync.Mutex
	tokens []string
	bodies []string
}

func (l *apiLog) calls() ([]string, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.tokens...), append([]string(nil), l.bodies...)
}

// newAPI is a fake API that records the bearer token and body of each
// request and answers with reject(token), or 200.
func newAPI(t *testing.T, reject func(token string) (status int, challenge string)) *httptest.Server {
	srv, _ := newLoggedAPI(t, reject)
	return srv
}

func newLoggedAPI(t *testing.T, reject func(token string) (int, string)) (*httptest.Server, *apiLog) {
	t.Helper()
	l := &apiLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		body, _ := io.ReadAll(r.Body)
		l.mu.Lock()
		l.tokens, l.bodies = append(l.tokens, tok), append(l.bodies, string(body))
		l.mu.Unlock()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
			w.WriteHeader(401)
			return
		}
		if reject != nil {
			if status, ch := reject(tok); status != 0 {
				w.Header().Set("WWW-Authenticate", ch)
				w.WriteHeader(status)
				return
			}
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, l
}

// onlyBody hides GetBody: a body that cannot be replayed.
type onlyBody struct{ io.Reader }

func (onlyBody) Close() error { return nil }

func TestTransport(t *testing.T) {
	expiredToken := `Bearer realm="api", error="invalid_token", error_description="the access token expired"`
	tests := []struct {
		name      string
		challenge string        // for the first token
		age       time.Duration // of the first token when the 401 comes
		req       func(url string) *http.Request
		status    int      // final
		tokens    []string // what the API saw
		body      string   // what each API call carried
	}{
		{"200 with the token", "", 0, get, 200, []string{"token-1"}, ""},
		{"invalid_token: retried once with a fresh token", expiredToken, time.Minute, get, 200, []string{"token-1", "token-2"}, ""},
		{"invalid_token unquoted", `Bearer error=invalid_token`, time.Minute, get, 200, []string{"token-1", "token-2"}, ""},
		{"POST with a replayable body", expiredToken, time.Minute, post(true), 200, []string{"token-1", "token-2"}, "payload"},
		{"POST whose body cannot be replayed", expiredToken, time.Minute, post(false), 401, []string{"token-1"}, "payload"},
		{"401 without invalid_token", `Bearer realm="api"`, time.Minute, get, 401, []string{"token-1"}, ""},
		{"403 insufficient_scope", `Bearer error="insufficient_scope", scope="x"`, time.Minute, get, 403, []string{"token-1"}, ""},
		{"token just fetched: no new token request", expiredToken, time.Second, get, 401, []string{"token-1"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAS(t, "s3cret-one")
			s, clk, _ := newTestSource(t, f, nil)
			status := 401
			if strings.Contains(tc.challenge, "insufficient_scope") {
				status = 403
			}
			api, log := newLoggedAPI(t, func(tok string) (int, string) {
				if tc.challenge != "" && tok == "token-1" {
					clk.Add(tc.age)
					return status, tc.challenge
				}
				return 0, ""
			})
			c := s.Client()
			resp, err := c.Do(tc.req(api.URL))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			tokens, bodies := log.calls()
			if strings.Join(tokens, ",") != strings.Join(tc.tokens, ",") {
				t.Fatalf("API saw tokens %v, want %v", tokens, tc.tokens)
			}
			for i, b := range bodies {
				if b != tc.body {
					t.Fatalf("call %d carried body %q, want %q", i, b, tc.body)
				}
			}
		})
	}
}

func get(url string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, url, nil)
	return r
}

func post(replayable bool) func(string) *http.Request {
	return func(url string) *http.Request {
		if replayable {
			r, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte("payload")))
			return r
		}
		r, _ := http.NewRequest(http.MethodPost, url, onlyBody{strings.NewReader("payload")})
		return r
	}
}

func TestTransportTokenError(t *testing.T) {
	f := newFakeAS(t, "s3cret-one")
	f.play(reply{status: 400, body: `{"error":"invalid_scope"}`})
	s, _, _ := newTestSource(t, f, nil)
	api, log := newLoggedAPI(t, nil)
	_, err := (&http.Client{Transport: &Transport{Source: s, Base: http.DefaultTransport}}).Get(api.URL)
	var oe *Error
	if !errors.As(err, &oe) || oe.Code != CodeInvalidScope {
		t.Fatalf("got %v, want the token source's *Error", err)
	}
	if tokens, _ := log.calls(); len(tokens) != 0 {
		t.Fatalf("the API was called without a token: %v", tokens)
	}
}

// TestTransportManyRequestsOneToken: a burst of API calls through the
// transport shares one token request.
func TestTransportManyRequestsOneToken(t *testing.T) {
	f := newFakeAS(t, "s3cret-one")
	s, _, _ := newTestSource(t, f, nil)
	api := newAPI(t, nil)
	c := s.Client()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			resp, err := c.Get(api.URL)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if n := len(f.requests()); n != 1 {
		t.Fatalf("%d token requests", n)
	}
}
