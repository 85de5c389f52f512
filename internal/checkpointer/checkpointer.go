package checkpointer

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
)

// Environment of the child process. envChild names the database file; it is
// set only by Run, for the process it starts.
const (
	envChild    = "GATEHOUSE_SQLITE_CHECKPOINTER"
	envInterval = "GATEHOUSE_SQLITE_CHECKPOINT_INTERVAL"
)

// DefaultInterval is how often a checkpoint runs.
const DefaultInterval = time.Second

// Restart delays after the child stops: doubled after each failure that
// comes within minBackoff's run, up to maxBackoff.
const (
	minBackoff = time.Second
	maxBackoff = time.Minute
	// stopTimeout is how long Run waits for the child to exit once its
	// lifeline is closed before it kills it.
	stopTimeout = 5 * time.Second
)

// init turns the process into the checkpoint child when Run started it:
// every binary that links this package (gatehouse, and the test binaries of
// the packages that run serve) can be the child, without a command of its
// own, as moby's reexec does.
func init() {
	path, ok := os.LookupEnv(envChild)
	if !ok || path == "" {
		return
	}
	interval, err := time.ParseDuration(os.Getenv(envInterval))
	if err != nil || interval <= 0 {
		interval = DefaultInterval
	}
	os.Exit(child(path, interval, os.Stdin, os.Stdout))
}

// Config configures Run. Path and DB are required.
type Config struct {
	// Path is the SQLite database file.
	Path string
	// DB is serve's own handle on it, for the checkpoints Run makes in
	// process while no child runs.
	DB     *sql.DB
	Logger *slog.Logger
	// Interval is how often a checkpoint runs (DefaultInterval).
	Interval time.Duration
	// Executable is the program started as the child: by default this
	// process's own executable (on Linux /proc/self/exe, which still names
	// it after an upgrade replaced the file).
	Executable string
	// Started, if set, is called with the child's process ID each time one
	// starts.
	Started func(pid int)
}

// Run checkpoints cfg.Path until ctx is done: in a child process, started
// again after it stops (1 s, doubling to 1 min while it keeps failing; one
// warning per outage), and in this process while none runs. It returns once
// the child has exited.
func Run(ctx context.Context, cfg Config) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	backoff := minBackoff
	failing := false // warned of this outage
	for {
		started := time.Now()
		err := runChild(ctx, cfg)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > maxBackoff { // it ran: a new outage
			backoff, failing = minBackoff, false
		}
		if !failing {
			failing = true
			cfg.Logger.Warn("the SQLite checkpoint process stopped; checkpointing in serve until it restarts",
				"error", err, "retry_in", backoff.String())
		}
		inProcess(ctx, cfg, backoff)
		backoff = min(2*backoff, maxBackoff)
	}
}

// runChild starts the child and waits until it exits (its error) or ctx is
// done (nil, once the child has exited).
func runChild(ctx context.Context, cfg Config) error {
	exe := cfg.Executable
	if exe == "" {
		var err error
		if exe, err = self(); err != nil {
			return err
		}
	}
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("lifeline: %w", err)
	}
	defer lifeW.Close()
	out := &lineLogger{log: cfg.Logger}
	cmd := exec.Command(exe)
	cmd.Env = childEnv(os.Environ(), cfg)
	cmd.Stdin = lifeR
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Start()
	_ = lifeR.Close()
	if err != nil {
		return fmt.Errorf("start %s: %w", exe, err)
	}
	if cfg.Started != nil {
		cfg.Started(cmd.Process.Pid)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			err = errors.New("exited")
		}
		return fmt.Errorf("checkpoint process: %w", err)
	case <-ctx.Done():
		_ = lifeW.Close() // end of file on the child's standard input: it exits
		t := time.NewTimer(stopTimeout)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			_ = cmd.Process.Kill()
			<-done
		}
		return nil
	}
}

// inProcess checkpoints every cfg.Interval for d, or until ctx is done.
func inProcess(ctx context.Context, cfg Config, d time.Duration) {
	end := time.NewTimer(d)
	defer end.Stop()
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-end.C:
			return
		case <-t.C:
			if _, _, err := sqlite.Checkpoint(ctx, cfg.DB); err != nil && ctx.Err() == nil {
				cfg.Logger.Debug("checkpoint in serve", "error", err)
			}
		}
	}
}

// self returns the path that starts this executable again.
func self() (string, error) {
	if runtime.GOOS == "linux" {
		if _, err := os.Stat("/proc/self/exe"); err == nil {
			return "/proc/self/exe", nil
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the executable: %w", err)
	}
	return exe, nil
}

// childEnv is env for the child: the database file and interval, and of
// the rest only the Go runtime's settings (GOGC, GOMAXPROCS, GODEBUG, ...)
// and TMPDIR. Nothing else of serve's environment reaches it: not the master
// key, not a database password, not a tracing exporter's headers.
func childEnv(env []string, cfg Config) []string {
	out := make([]string, 0, 8)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if k == envChild || k == envInterval || (!strings.HasPrefix(k, "GO") && k != "TMPDIR") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, envChild+"="+cfg.Path, envInterval+"="+cfg.Interval.String())
}

// child is the checkpoint process: a checkpoint every interval until
// lifeline reaches end of file (serve closed it, or exited). A failure is
// reported once per outage on report, a line that serve logs.
func child(path string, interval time.Duration, lifeline io.Reader, report io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, lifeline)
		cancel()
	}()
	db, err := sqlite.OpenForCheckpoints(ctx, path)
	if err != nil {
		fmt.Fprintln(report, err)
		return 1
	}
	defer db.Close()
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return 0
		case <-t.C:
			_, _, err := sqlite.Checkpoint(ctx, db)
			switch {
			case err != nil && !failing && ctx.Err() == nil:
				failing = true
				fmt.Fprintln(report, err)
			case err == nil:
				failing = false
			}
		}
	}
}

// lineLogger logs each line the child writes as a warning.
type lineLogger struct {
	log *slog.Logger
	mu  sync.Mutex
	buf []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(l.buf[:i])); line != "" {
			l.log.Warn("SQLite checkpoint process", "error", line)
		}
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 4096 { // a line without end: log what there is
		l.log.Warn("SQLite checkpoint process", "error", string(l.buf))
		l.buf = nil
	}
	return len(p), nil
}
