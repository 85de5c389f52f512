package cli_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
)

// lockedWrites keeps, under a lock, each write made to it.
type lockedWrites struct {
	mu     sync.Mutex
	writes []string
}

func (w *lockedWrites) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func (w *lockedWrites) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.writes, "")
}

var listening = regexp.MustCompile(`msg="gatehouse listening" addr=(\S+)`)

// TestServeBatchesAuditLines runs serve and checks that the audit lines of
// the tokens it issues reach standard error in a write per batch, not in a
// system call per token: serve hands the logbatch.Writer under its logger
// to the audit writer. The request lines likewise arrive gathered
// (--log-flush-interval), and the last lines are written at shutdown.
func TestServeBatchesAuditLines(t *testing.T) {
	h := newHarness(t)
	h.ok("api", "create", "--identifier", "https://api.example.com/")
	c := h.object("client", "create", "--name", "svc")
	id, plain := c["client_id"].(string), c["client_secret"].(string)
	h.ok("grant", "create", "--client", id, "--audience", "https://api.example.com/")

	var stderr lockedWrites
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- cli.Main([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "info", "--log-flush-interval", "1s"}, cli.Env{
			Stdout: io.Discard, Stderr: &stderr, Getenv: func(k string) string { return h.env[k] }, Context: ctx,
		})
	}()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); {
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		}
		time.Sleep(5 * time.Millisecond)
	}
	if addr == "" {
		t.Fatalf("serve did not start: %s", stderr.String())
	}
	const n = 20
	for range n {
		resp, err := http.PostForm("http://"+addr+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {id}, "client_secret": {plain}, "audience": {"https://api.example.com/"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("token: %d", resp.StatusCode)
		}
	}
	cancel() // the shutdown writes the queued events
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, stderr.String())
	}
	stderr.mu.Lock()
	defer stderr.mu.Unlock()
	lines, writes := 0, 0
	for _, w := range stderr.writes {
		if k := strings.Count(w, "action=token.issued"); k > 0 {
			lines += k
			writes++
		}
	}
	// The audit writer logs each batch it writes to the database in one
	// write, and writes a batch a second (audit.DefaultFlushInterval), or at
	// once again while events keep arriving during a slow database write (a
	// loaded machine, -race): not a fixed number of writes, but never one per
	// token. Half as many writes as tokens at most; one per token (20) is the
	// failure this catches.
	if lines != n || writes > n/2 {
		t.Errorf("%d token.issued lines in %d writes, want %d in at most %d (a write per audit batch)", lines, writes, n, n/2)
	}
	lines, writes = 0, 0
	for _, w := range stderr.writes {
		if k := strings.Count(w, "msg=request "); k > 0 {
			lines += k
			writes++
		}
	}
	if lines != n || writes > n/2 {
		t.Errorf("%d request lines in %d writes, want %d gathered in at most %d", lines, writes, n, n/2)
	}
}

// TestServeWritesItsLastLinesAtExit: lines gathered for
// --log-flush-interval are written when serve exits, not lost with the
// timer that would have written them.
func TestServeWritesItsLastLinesAtExit(t *testing.T) {
	h := newHarness(t)
	var stderr lockedWrites
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- cli.Main([]string{"serve", "--addr", "127.0.0.1:0", "--log-flush-interval", "1s"}, cli.Env{
			Stdout: io.Discard, Stderr: &stderr, Getenv: func(k string) string { return h.env[k] }, Context: ctx,
		})
	}()
	for deadline := time.Now().Add(10 * time.Second); !listening.MatchString(stderr.String()); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", stderr.String())
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, stderr.String())
	}
	if out := stderr.String(); !strings.Contains(out, `msg="gatehouse stopped"`) {
		t.Errorf("the shutdown's lines were not written by the time serve exited:\n%s", out)
	}
}

// checkpointProcesses returns the IDs of the processes whose environment
// names dbPath as the database of a SQLite checkpoint process.
func checkpointProcesses(t *testing.T, dbPath string) []int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	want := "\x00GATEHOUSE_SQLITE_CHECKPOINTER=" + dbPath + "\x00"
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err == nil && strings.Contains("\x00"+string(env), want) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestServeCheckpointsInAChildProcess: on SQLite, serve starts a checkpoint
// process for its database file (package checkpointer) and stops it when it
// exits; --sqlite-checkpointer=false starts none.
func TestServeCheckpointsInAChildProcess(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
		want  int
	}{
		{"default", nil, 1},
		{"off", []string{"--sqlite-checkpointer=false"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			path := strings.TrimPrefix(h.db, "sqlite:")
			var stderr lockedWrites
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan int, 1)
			go func() {
				done <- cli.Main(append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.flags...), cli.Env{
					Stdout: io.Discard, Stderr: &stderr, Getenv: func(k string) string { return h.env[k] }, Context: ctx,
				})
			}()
			for deadline := time.Now().Add(10 * time.Second); !listening.MatchString(stderr.String()); time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("serve did not start: %s", stderr.String())
				}
			}
			var pids []int
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				pids = checkpointProcesses(t, path)
				if len(pids) >= tc.want || time.Now().After(deadline) {
					break
				}
			}
			if tc.want == 0 {
				time.Sleep(200 * time.Millisecond)
				pids = checkpointProcesses(t, path)
			}
			if len(pids) != tc.want {
				t.Errorf("%d checkpoint processes for %s, want %d", len(pids), path, tc.want)
			}
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("serve exited %d: %s", code, stderr.String())
			}
			if left := checkpointProcesses(t, path); len(left) > 0 {
				t.Errorf("checkpoint processes %v still run after serve exited", left)
			}
			if out := stderr.String(); strings.Contains(out, "level=WARN") && strings.Contains(out, "checkpoint") {
				t.Errorf("checkpoint warnings:\n%s", out)
			}
		})
	}
}
