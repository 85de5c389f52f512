package docs_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/mgmt"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// TestReadmeManagementScopes: the README's Management API section names
// every scope of the management API, and none it does not have. It writes
// `read|create:x` for read:x and create:x, and `…:y` for y with the verbs
// of the scope before it.
func TestReadmeManagementScopes(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	md := string(data)
	start := strings.Index(md, "\n## Management API\n")
	if start < 0 {
		t.Fatal("README.md has no Management API section")
	}
	section := md[start+1:]
	section = section[:strings.Index(section[3:], "\n## ")+3]
	var named, verbs []string
	for _, m := range regexp.MustCompile("`([a-z_|…]+):([a-z_]+)`").FindAllStringSubmatch(section, -1) {
		if m[1] != "…" {
			verbs = strings.Split(m[1], "|")
		}
		for _, v := range verbs {
			named = append(named, v+":"+m[2])
		}
	}
	for _, s := range mgmt.Scopes {
		if !slices.Contains(named, s.Value) {
			t.Errorf("the README's Management API section does not name the scope %s", s.Value)
		}
	}
	for _, n := range named {
		if !slices.ContainsFunc(mgmt.Scopes, func(s storage.Scope) bool { return s.Value == n }) {
			t.Errorf("the README names the scope %s, which the management API does not have", n)
		}
	}
}
