package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// TestNoSecretInPathLogs is the log finding of issue 16: the access line
// wrote the request's path, so a secret or token put in a path, or an email
// address in /api/v2/users/{id}, landed in the log. Secrets are planted in
// the paths of unmatched, exact and subtree routes; no log line may hold
// one, and each request's line names its route pattern.
func TestNoSecretInPathLogs(t *testing.T) {
	l := startLive(t, server.Options{})
	const (
		secret = "gths_PlantedSecretInThePath0123456789abcdefghij"
		jwt    = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.c2lnbmF0dXJlcGxhbnRlZA"
		email  = "planted.person@example.com"
	)
	tests := []struct {
		method, path, route string
	}{
		{http.MethodPost, "/oauth/token/" + secret, "unmatched"},
		{http.MethodGet, "/" + jwt, "unmatched"},
		{http.MethodGet, "/api/v2/users/" + url.PathEscape(email), "/api/v2/users/{id}"},
		{http.MethodDelete, "/api/v2/clients/" + secret, "/api/v2/clients/{id}"},
		{http.MethodGet, "/authorize/" + secret, "unmatched"},
		{http.MethodGet, "/.well-known/jwks.json/" + jwt, "unmatched"},
		{http.MethodGet, "/userinfo/" + jwt, "unmatched"},
	}
	for _, tc := range tests {
		resp, _ := l.req(tc.method, tc.path, "", "", nil)
		id := resp.Header.Get("X-Request-Id")
		recs := l.logs.find(t, "request", map[string]any{"request_id": id})
		if len(recs) != 1 || recs[0]["route"] != tc.route {
			t.Errorf("%s %s: access lines %v; want one with route %s", tc.method, tc.path, recs, tc.route)
		}
	}
	logs := l.logs.String()
	for _, planted := range []string{secret, jwt, email, url.PathEscape(email), "planted"} {
		if strings.Contains(logs, planted) {
			t.Errorf("a log line holds %q:\n%s", planted, logs)
		}
	}
}
