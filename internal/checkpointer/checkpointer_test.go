package checkpointer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// walOnly opens a database without automatic checkpoints and commits about
// 5 MiB to its WAL, more than the 1,000 pages at which SQLite would
// checkpoint by itself; it returns the database file's size before those
// commits.
func walOnly(t *testing.T) (path string, s *sqlite.Store, size int64) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "g.db")
	s, err := sqlite.OpenWith(t.Context(), path, sqlite.Options{NoAutoCheckpoint: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	db := s.DB()
	if _, err := db.Exec(`CREATE TABLE filler (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sqlite.Checkpoint(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	size = fileSize(t, path)
	for range 1200 {
		if _, err := db.Exec(`INSERT INTO filler VALUES (randomblob(4096))`); err != nil {
			t.Fatal(err)
		}
	}
	return path, s, size
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// waitGrown waits until the database file holds the WAL's 2 MiB.
func waitGrown(t *testing.T, path string, before int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for fileSize(t, path) < before+2<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes after 20 s, want the WAL's 2 MiB checkpointed into it (was %d)", fileSize(t, path), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func start(t *testing.T, cfg Config) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, cfg)
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(stopTimeout + 5*time.Second):
			t.Error("Run did not return after its context ended")
		}
	}
	t.Cleanup(stop)
	return stop
}

func TestNoAutoCheckpointLeavesTheWAL(t *testing.T) {
	path, _, size := walOnly(t)
	time.Sleep(100 * time.Millisecond)
	if got := fileSize(t, path); got >= size+2<<20 {
		t.Fatalf("database file %d bytes: something checkpointed without Run", got)
	}
}

func TestChildCheckpoints(t *testing.T) {
	path, s, size := walOnly(t)
	var log testutil.Buffer
	pids := make(chan int, 4)
	stop := start(t, Config{Path: path, DB: s.DB(), Interval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&log, nil)), Started: func(pid int) { pids <- pid }})
	var pid int
	select {
	case pid = <-pids:
	case <-time.After(10 * time.Second):
		t.Fatal("no checkpoint process started")
	}
	if pid == os.Getpid() {
		t.Fatal("the checkpoint process is this one")
	}
	waitGrown(t, path, size)
	stop()
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("checkpoint process %d still runs after Run returned", pid)
	}
	if strings.Contains(log.String(), "level=WARN") {
		t.Errorf("warnings from a healthy run:\n%s", log.String())
	}
}

func TestChildRestartsAfterItDies(t *testing.T) {
	path, s, _ := walOnly(t)
	var log testutil.Buffer
	pids := make(chan int, 4)
	start(t, Config{Path: path, DB: s.DB(), Interval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&log, nil)), Started: func(pid int) { pids <- pid }})
	first := <-pids
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case second := <-pids:
		if second == first {
			t.Fatalf("restarted as the same process %d", second)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no new checkpoint process 15 s after the first was killed; log:\n%s", log.String())
	}
	if got := strings.Count(log.String(), "checkpoint process stopped"); got != 1 {
		t.Errorf("%d warnings that the process stopped, want 1:\n%s", got, log.String())
	}
}

func TestInProcessWhenNoChildStarts(t *testing.T) {
	path, s, size := walOnly(t)
	var log testutil.Buffer
	start(t, Config{Path: path, DB: s.DB(), Interval: 20 * time.Millisecond, Executable: filepath.Join(t.TempDir(), "missing"),
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	waitGrown(t, path, size)
	if !strings.Contains(log.String(), "checkpointing in serve") {
		t.Errorf("no warning that serve checkpoints itself:\n%s", log.String())
	}
}

func TestChildExitsAtEndOfLifeline(t *testing.T) {
	path, _, _ := walOnly(t)
	r, w := io.Pipe()
	var report bytes.Buffer
	done := make(chan int)
	go func() { done <- child(path, 10*time.Millisecond, r, &report) }()
	time.Sleep(50 * time.Millisecond)
	_ = w.Close()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d, want 0; report %q", code, report.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the child did not exit at the end of its lifeline")
	}
}

func TestChildReportsAMissingDatabase(t *testing.T) {
	var report bytes.Buffer
	code := child(filepath.Join(t.TempDir(), "none.db"), time.Second, strings.NewReader(""), &report)
	if code == 0 || !strings.Contains(report.String(), "none.db") {
		t.Errorf("exit %d, report %q; want a failure that names the file", code, report.String())
	}
}

func TestChildEnvIsMinimal(t *testing.T) {
	env := childEnv([]string{"PATH=/bin", "GATEHOUSE_MASTER_KEY=secret", "GATEHOUSE_DB=postgres://u:pw@h/db",
		"OTEL_EXPORTER_OTLP_HEADERS=authorization=token", envChild + "=old", "GOGC=200", "TMPDIR=/t"},
		Config{Path: "/d/g.db", Interval: time.Second})
	want := []string{"GOGC=200", "TMPDIR=/t", envChild + "=/d/g.db", envInterval + "=1s"}
	if !slices.Equal(env, want) {
		t.Errorf("child env %q, want %q", env, want)
	}
}

func TestLineLogger(t *testing.T) {
	var log testutil.Buffer
	l := &lineLogger{log: slog.New(slog.NewTextHandler(&log, nil))}
	_, _ = l.Write([]byte("first half "))
	_, _ = l.Write([]byte("and the rest\nsecond\n\n"))
	got := log.String()
	if !strings.Contains(got, `error="first half and the rest"`) || !strings.Contains(got, "error=second") || strings.Count(got, "\n") != 2 {
		t.Errorf("logged:\n%s", got)
	}
}

// envParentDB makes TestParentProcess run: it is the serve of
// TestChildExitsWithAKilledParent, in a process of its own.
const envParentDB = "GATEHOUSE_TEST_CHECKPOINT_PARENT_DB"

// TestParentProcess is not a test of its own: it runs Run on the database
// its parent test names, prints the child's process ID and waits to be
// killed.
func TestParentProcess(t *testing.T) {
	path := os.Getenv(envParentDB)
	if path == "" {
		t.Skip("runs only as a child process of TestChildExitsWithAKilledParent")
	}
	s, err := sqlite.OpenWith(t.Context(), path, sqlite.Options{NoAutoCheckpoint: true})
	if err != nil {
		t.Fatal(err)
	}
	Run(t.Context(), Config{Path: path, DB: s.DB(), Started: func(pid int) { fmt.Printf("child %d\n", pid) }})
}

// alive reports whether process pid runs (a zombie has exited).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(after, "Z") && !strings.HasPrefix(after, "X")
}

// TestChildExitsWithAKilledParent: when serve is killed (SIGKILL, no
// shutdown), the checkpoint process sees the end of its lifeline and exits.
func TestChildExitsWithAKilledParent(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	path, _, _ := walOnly(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestParentProcess$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envParentDB+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := 0
	sc := bufio.NewScanner(out)
	for pid == 0 && sc.Scan() {
		_, _ = fmt.Sscanf(sc.Text(), "child %d", &pid)
	}
	if pid == 0 {
		t.Fatal("the parent process printed no child")
	}
	if !alive(pid) {
		t.Fatalf("checkpoint process %d is not running", pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for deadline := time.Now().Add(10 * time.Second); alive(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("checkpoint process %d still runs 10 s after its parent was killed", pid)
		}
	}
}
