package docs

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPublicPackagesStandAlone holds ARCHITECTURE.md's invariant "client/
// and verify/ never import internal/": neither they nor anything they
// import, directly or not, is an internal package of the module.
func TestPublicPackagesStandAlone(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../client", "../verify").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, pkg := range deps {
		if strings.HasPrefix(pkg, "github.com/gatehouse-dev/gatehouse/") && strings.Contains(pkg+"/", "/internal/") {
			t.Errorf("a public package depends on %s", pkg)
		}
	}
	if len(deps) < 10 {
		t.Errorf("go list -deps listed %d packages: %v", len(deps), deps)
	}
}
