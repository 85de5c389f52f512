package docs

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

func TestMain(m *testing.M) {
	testutil.Main(m, "docs")
}

// quickstart returns the shell blocks of the README's Quickstart section, in
// order, as one script.
func quickstart(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	md := string(data)
	start := strings.Index(md, "\n## Quickstart\n")
	if start < 0 {
		t.Fatal("README.md has no Quickstart section")
	}
	section := md[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?ms)^```sh\n(.*?)^```").FindAllStringSubmatch(section, -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) < 4 {
		t.Fatalf("the Quickstart has %d sh blocks", len(blocks))
	}
	return strings.Join(blocks, "")
}

// copyRepository copies the repository's source, as a fresh clone has it
// (no .git, no node_modules, no databases or binaries), into dst.
func copyRepository(t *testing.T, dst string) {
	t.Helper()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("..", path)
		name := d.Name()
		if d.IsDir() {
			if name == ".git" || name == "node_modules" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() || rel == "gatehouse" || strings.Contains(name, ".db") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestQuickstart runs the README's Quickstart verbatim — every sh block of
// the section, in order, in one bash with errexit — in a copy of the
// repository, the one change being the server's port (a free one instead of
// 8080, in the URLs and as GATEHOUSE_ADDR for serve's default), and checks
// what it prints.
func TestQuickstart(t *testing.T) {
	if testing.Short() {
		testutil.SkipSuite(t, "the README quickstart builds gatehouse: not under -short")
	}
	for _, tool := range []string{"bash", "curl", "awk"} {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.SkipSuite(t, "the README quickstart needs bash, curl and awk")
		}
	}
	script := quickstart(t)
	addr := testutil.FreeAddr(t)
	script = strings.ReplaceAll(script, "127.0.0.1:8080", addr)

	dir := t.TempDir()
	copyRepository(t, dir)
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out // a file: the server left in the background does not hold Wait
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOTOOLCHAIN"} {
		if v, err := exec.Command("go", "env", k).Output(); err == nil {
			cmd.Env = append(cmd.Env, k+"="+strings.TrimSpace(string(v)))
		}
	}
	// serve's default address, moved to the free port like the URLs above.
	cmd.Env = append(cmd.Env, "GOFLAGS=-trimpath -buildvcs=false", "GATEHOUSE_ADDR="+addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // the server the quickstart leaves running
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(8 * time.Minute):
		err = os.ErrDeadlineExceeded
	}
	text, _ := os.ReadFile(out.Name())
	if err != nil {
		t.Fatalf("the quickstart failed: %v\n%s", err, text)
	}
	for _, want := range []string{
		"healthy: http://" + addr + "/readyz answered HTTP 200",
		`"token_type":"Bearer"`,
		`"scope":"read:orders"`,
		`"aud": "https://orders.example.com"`,
		`"verified_with_kid"`,
		`"typ": "at+jwt"`,
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the quickstart's output lacks %q", want)
		}
	}
	// Column widths follow the longest field name a command prints.
	if !regexp.MustCompile(`identifier: +https://orders\.example\.com`).Match(text) {
		t.Errorf("the quickstart's output lacks the Orders API's identifier")
	}
	if n := strings.Count(string(text), "client_secret: "); n != 2 {
		t.Errorf("the quickstart printed %d client secrets, want 2 (create and rotate)", n)
	}
	if t.Failed() {
		t.Logf("output:\n%s", text)
	}
}
