package testutil

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// skips are the suites this test binary skipped, by reason.
var skips struct {
	sync.Mutex
	byReason map[string][]string
	order    []string
}

// EnvRequireAll, set to 1, fails a suite that would skip for want of
// something outside Go instead of skipping it: CI sets it, so that a machine
// that lacks a tool, a browser or root fails the run where it would
// otherwise quietly test less.
const EnvRequireAll = "GATEHOUSE_REQUIRE_ALL"

// SkipSuite skips t, a test that needs something outside Go (a database, a
// browser, npm packages, podman), and records it for ReportSkips, so that
// `go test ./...` says what it did not test even where it prints no test's
// output. With EnvRequireAll=1 it fails t instead.
func SkipSuite(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(EnvRequireAll) == "1" {
		t.Fatalf("%s=1, but this suite would skip: %s", EnvRequireAll, reason)
	}
	name, _, _ := strings.Cut(t.Name(), "/")
	skips.Lock()
	if skips.byReason == nil {
		skips.byReason = map[string][]string{}
	}
	if _, ok := skips.byReason[reason]; !ok {
		skips.order = append(skips.order, reason)
	}
	if !slices.Contains(skips.byReason[reason], name) {
		skips.byReason[reason] = append(skips.byReason[reason], name)
	}
	skips.Unlock()
	t.Skip(reason)
}

// SkipLine is the one line that names the skipped suites of package pkg
// and why, or "" when none was skipped.
func SkipLine(pkg string) string {
	skips.Lock()
	defer skips.Unlock()
	if len(skips.order) == 0 {
		return ""
	}
	parts := make([]string, len(skips.order))
	for i, reason := range skips.order {
		parts[i] = strings.Join(skips.byReason[reason], ", ") + " (" + reason + ")"
	}
	return "gatehouse tests skipped in " + pkg + ": " + strings.Join(parts, "; ")
}

// Main is the TestMain of a package whose suites may skip: it runs the
// tests, reports the skipped suites (ReportSkips) and exits with the tests'
// code.
func Main(m *testing.M, pkg string) {
	code := m.Run()
	ReportSkips(pkg)
	os.Exit(code)
}

// ReportSkips prints SkipLine(pkg), for a TestMain to call after m.Run.
// In package list mode (`go test ./...`) the go command shows a passing
// package's output only with -v, so the line goes to the go command's own
// standard error (the parent's, through /proc on Linux) as well as to the
// test's standard output, where -v, -json and failures show it.
func ReportSkips(pkg string) {
	line := SkipLine(pkg)
	if line == "" {
		return
	}
	fmt.Println(line)
	if testing.Verbose() {
		return // the line above is shown
	}
	if w := goCommandStderr(); w != nil {
		fmt.Fprintln(w, line)
		_ = w.Close()
	}
}

// goCommandStderr opens the standard error of the go command that runs this
// test binary, or returns nil when the parent is not the go command or its
// standard error cannot be opened.
func goCommandStderr() io.WriteCloser {
	ppid := strconv.Itoa(os.Getppid())
	exe, err := os.Readlink(filepath.Join("/proc", ppid, "exe"))
	if err != nil || filepath.Base(exe) != "go" {
		return nil
	}
	f, err := os.OpenFile(filepath.Join("/proc", ppid, "fd", "2"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil
	}
	return f
}
