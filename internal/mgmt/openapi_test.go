package mgmt_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/docs"
	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
)

type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

type operation struct {
	OperationID string                `json:"operationId"`
	Security    []map[string][]string `json:"security"`
	Scope       *string               `json:"x-required-scope"`
	Responses   map[string]any        `json:"responses"`
}

// TestOpenAPI holds docs/openapi.json to the handlers: it is served as is,
// it is OpenAPI 3.1, every documented path and method is routed and every
// routed one documented, each with the scope the handler requires.
func TestOpenAPI(t *testing.T) {
	e := newEnv(t)
	r := e.do(req{method: "GET", path: mgmt.PathOpenAPI})
	if r.status != 200 || !bytes.Equal(r.body, docs.OpenAPI) || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s = %d (%d bytes, %s), want docs/openapi.json", mgmt.PathOpenAPI, r.status, len(r.body), r.header.Get("Content-Type"))
	}
	var doc openAPIDoc
	if err := json.Unmarshal(docs.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	h, err := mgmt.New(mgmt.Config{Issuer: e.issuer, Admin: e.svc, Keys: e.srv.Keys(), Catalog: e.srv.Catalog()})
	if err != nil {
		t.Fatal(err)
	}
	routed := h.Routes()
	scopes := routeScopes()
	var documented []string
	ids := map[string]bool{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			rt := strings.ToUpper(method) + " " + path
			documented = append(documented, rt)
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Errorf("%s: %v", rt, err)
				continue
			}
			if op.OperationID == "" || ids[op.OperationID] {
				t.Errorf("%s: operationId %q missing or repeated", rt, op.OperationID)
			}
			ids[op.OperationID] = true
			want, known := scopes[rt]
			switch {
			case !known:
			case want == "" && (len(op.Security) != 0 || op.Scope != nil):
				t.Errorf("%s: documented as needing a token; it needs none", rt)
			case want != "" && (op.Scope == nil || *op.Scope != want || len(op.Security) != 1 || !slices.Equal(op.Security[0]["bearer"], []string{want})):
				t.Errorf("%s: documented scope %v %v, the handler requires %q", rt, op.Scope, op.Security, want)
			case want != "" && (op.Responses["401"] == nil || op.Responses["403"] == nil):
				t.Errorf("%s: 401 and 403 are not documented", rt)
			}
		}
	}
	slices.Sort(documented)
	slices.Sort(routed)
	for _, rt := range routed {
		if !slices.Contains(documented, rt) {
			t.Errorf("%s is routed but not documented in docs/openapi.json", rt)
		}
	}
	for _, rt := range documented {
		if !slices.Contains(routed, rt) {
			t.Errorf("%s is documented in docs/openapi.json but not routed", rt)
		}
	}
	// Every $ref resolves.
	var whole map[string]any
	_ = json.Unmarshal(docs.OpenAPI, &whole)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				var cur any = whole
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, _ := cur.(map[string]any)
					cur = m[part]
				}
				if cur == nil {
					t.Errorf("$ref %s does not resolve", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(whole)
}
