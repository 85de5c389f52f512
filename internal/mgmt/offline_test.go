package mgmt_test

import (
	"net/url"
	"testing"
)

// TestAllowOfflineAccess: Auth0's allow_offline_access on a resource
// server: false by default, set on create, changed by PATCH.
func TestAllowOfflineAccess(t *testing.T) {
	e := newEnv(t)
	if c := e.must(201, "POST", "/api/v2/resource-servers", `{"identifier":"urn:offline"}`).obj(t); c["allow_offline_access"] != false {
		t.Errorf("default allow_offline_access %v, want false", c["allow_offline_access"])
	}
	if c := e.must(201, "POST", "/api/v2/resource-servers", `{"identifier":"urn:on","allow_offline_access":true}`).obj(t); c["allow_offline_access"] != true {
		t.Errorf("created with allow_offline_access %v, want true", c["allow_offline_access"])
	}
	path := "/api/v2/resource-servers/" + url.PathEscape("urn:on")
	if c := e.must(200, "PATCH", path, `{"allow_offline_access":false}`).obj(t); c["allow_offline_access"] != false {
		t.Errorf("after PATCH allow_offline_access %v, want false", c["allow_offline_access"])
	}
	if c := e.must(200, "GET", path, "").obj(t); c["allow_offline_access"] != false {
		t.Errorf("GET after PATCH: %v", c["allow_offline_access"])
	}
}
