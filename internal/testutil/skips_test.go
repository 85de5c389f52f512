package testutil

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// TestReportSkipsReachesTheGoCommand runs `go test` on a package whose
// suites skip, in package list mode as `go test ./...` runs it: its standard
// output holds only the ok line, and the skip line is on standard error.
func TestReportSkipsReachesTheGoCommand(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the go command's standard error is reached through /proc")
	}
	cmd := exec.Command("go", "test", "-count=1", "./testdata/skipper")
	cmd.Env = append(os.Environ(), EnvRequireAll+"=")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go test: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	want := "gatehouse tests skipped in skipper: TestNeedsDatabase (no database); TestNeedsBrowser (no browser)\n"
	if stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
	if !strings.HasPrefix(stdout.String(), "ok  \t") || strings.Contains(stdout.String(), "skipped") {
		t.Errorf("stdout = %q, want only the ok line", stdout.String())
	}
}

// TestRequireAllFailsASkip: with GATEHOUSE_REQUIRE_ALL=1 (CI), a suite that
// would skip fails, saying why.
func TestRequireAllFailsASkip(t *testing.T) {
	cmd := exec.Command("go", "test", "-count=1", "./testdata/skipper")
	cmd.Env = append(os.Environ(), EnvRequireAll+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("go test passed with %s=1:\n%s", EnvRequireAll, out)
	}
	for _, want := range []string{"--- FAIL: TestNeedsDatabase", "would skip: no database", "--- FAIL: TestNeedsBrowser/login", "would skip: no browser"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
}
