package mgmt_test

import (
	"net/url"
	"testing"
)

// TestResourceServerSwitches: Auth0's allow_offline_access and gatehouse's
// token_reuse on a resource server: false by default, set on create,
// changed by PATCH.
func TestResourceServerSwitches(t *testing.T) {
	for _, field := range []string{"allow_offline_access", "token_reuse"} {
		t.Run(field, func(t *testing.T) {
			e := newEnv(t)
			if c := e.must(201, "POST", "/api/v2/resource-servers", `{"identifier":"urn:off"}`).obj(t); c[field] != false {
				t.Errorf("default %s %v, want false", field, c[field])
			}
			if c := e.must(201, "POST", "/api/v2/resource-servers", `{"identifier":"urn:on","`+field+`":true}`).obj(t); c[field] != true {
				t.Errorf("created with %s %v, want true", field, c[field])
			}
			path := "/api/v2/resource-servers/" + url.PathEscape("urn:on")
			if c := e.must(200, "PATCH", path, `{"`+field+`":false}`).obj(t); c[field] != false {
				t.Errorf("after PATCH %s %v, want false", field, c[field])
			}
			if c := e.must(200, "GET", path, "").obj(t); c[field] != false {
				t.Errorf("GET after PATCH: %v", c[field])
			}
		})
	}
}
