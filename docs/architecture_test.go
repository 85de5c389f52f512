package docs

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestPublicPackagesStandAlone holds ARCHITECTURE.md's invariant "client/
// and verify/ never import internal/": neither they nor anything they
// import, directly or not, is an internal package of the module.
func TestPublicPackagesStandAlone(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../client", "../verify", "../dpop").Output()
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

// TestCodeMap: ARCHITECTURE.md's code map names every package under
// internal/.
func TestCodeMap(t *testing.T) {
	arch, err := os.ReadFile("../ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "list", "../internal/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := strings.Fields(string(out))
	for _, pkg := range pkgs {
		_, dir, _ := strings.Cut(pkg, "github.com/gatehouse-dev/gatehouse/")
		if !regexp.MustCompile(regexp.QuoteMeta(dir) + `\b`).Match(arch) {
			t.Errorf("ARCHITECTURE.md's code map does not name %s", dir)
		}
	}
	if len(pkgs) < 20 {
		t.Errorf("go list ../internal/... listed %d packages", len(pkgs))
	}
}
