package cli_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
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
