package mgmt

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzDecode holds the strict body parser to its promise for any input:
// no panic, and either the fields decoded or a 400/413 in Auth0's shape
// with a message, never a 500.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"name":"x"}`, `{"name":1}`, `{"client_metadata":{"a":"b"}}`, `{"client_metadata":{"a":1}}`, `{"grant_types":["client_credentials"]}`,
		`[]`, `null`, `"x"`, `{`, `{"name":"x"} {}`, `{"NAME":"x"}`, `{"name":"x","name":"y"}`, "\xff", `{"disabled":tru}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/api/v2/clients", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var in clientInput
		err := decode(httptest.NewRecorder(), r, &in)
		if err == nil {
			return
		}
		if (err.Status != http.StatusBadRequest && err.Status != http.StatusRequestEntityTooLarge) || err.Message == "" || err.Code == "" {
			t.Fatalf("decode(%q) = %+v", body, err)
		}
	})
}
