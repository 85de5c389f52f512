package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/storage/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/storage/storagetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		return open(t, filepath.Join(t.TempDir(), "g.db"))
	})
}

func TestTwoStoresOneFile(t *testing.T) {
	// The command line and the server: two Stores on one file, each with its
	// own connections, see each other's writes and change rows.
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "g.db")
	server, cli := open(t, path), open(t, path)

	seq, err := server.LatestChange(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := cli.CreateClient(ctx, storage.Client{ClientID: "c1", Name: "cli", AppType: storage.AppTypeNonInteractive, CreatedAt: now}); err != nil {
		t.Fatalf("CreateClient through the CLI store: %v", err)
	}
	changes, err := server.ChangesSince(ctx, seq, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Entity != storage.EntityClient || changes[0].ID != "c1" {
		t.Fatalf("server ChangesSince = %v, want the client change", changes)
	}
	if c, err := server.GetClient(ctx, "c1"); err != nil || c.Name != "cli" {
		t.Fatalf("server GetClient = %+v, %v", c, err)
	}

	if err := server.SetClientDisabled(ctx, "c1", true, now); err != nil {
		t.Fatal(err)
	}
	if c, err := cli.GetClient(ctx, "c1"); err != nil || !c.Disabled {
		t.Errorf("CLI GetClient after the server disabled it = %+v, %v", c, err)
	}
	latest, err := cli.LatestChange(ctx)
	if err != nil || latest != changes[0].Seq+1 {
		t.Errorf("CLI LatestChange = %d, %v; want %d", latest, err, changes[0].Seq+1)
	}

	// Writers on both Stores at once: busy_timeout and BEGIN IMMEDIATE keep
	// them from failing with SQLITE_BUSY.
	errs := make(chan error, 40)
	for i := range 20 {
		go func() {
			errs <- cli.AddSecret(ctx, storage.Secret{ID: "cli" + string(rune('a'+i)), ClientID: "c1", HashAlg: storage.SecretHashSHA256, Hash: []byte{1}})
		}()
		go func() {
			errs <- server.TouchSecrets(ctx, map[string]time.Time{"clia": now})
		}()
	}
	for range 40 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent write: %v", err)
		}
	}
	if secs, err := server.ListSecrets(ctx, "c1"); err != nil || len(secs) != 20 {
		t.Errorf("server ListSecrets: %d secrets, %v; want 20", len(secs), err)
	}
}

func TestPragmas(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "g.db")
	db := open(t, path).DB()

	// Every connection of the pool carries the pragmas: hold several at once.
	conns := make([]interface{ Close() error }, 0, 3)
	for range 3 {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		for pragma, want := range map[string]string{
			"journal_mode": "wal",
			"foreign_keys": "1",
			"busy_timeout": "5000",
			"synchronous":  "1", // NORMAL
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", pragma, err)
			}
			if got != want {
				t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
			}
		}
	}
	for _, c := range conns {
		_ = c.Close()
	}
}

func TestForeignKeysEnforced(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "g.db"))
	err := s.AddSecret(ctx, storage.Secret{ID: "s1", ClientID: "nobody", HashAlg: storage.SecretHashSHA256, Hash: []byte{1}})
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("AddSecret for a missing client: %v, want ErrNotFound", err)
	}
}

func TestOpenRejectsMemory(t *testing.T) {
	for _, path := range []string{"", ":memory:"} {
		if s, err := sqlite.Open(context.Background(), path); err == nil {
			_ = s.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

func TestOpenOddPath(t *testing.T) {
	// URI-special characters in the file name must not be taken as URI syntax.
	dir := t.TempDir()
	path := filepath.Join(dir, "odd?name#with%25.db")
	s := open(t, path)
	if err := s.CreateAPI(t.Context(), storage.API{Identifier: "x", TokenLifetime: time.Hour, SigningAlg: "RS256", TokenDialect: storage.DialectRFC9068}); err != nil {
		t.Fatal(err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "odd*name*with*.db"))
	if len(matches) != 1 || matches[0] != path {
		t.Errorf("database files = %v, want %s", matches, path)
	}
}

// Environment of TestWriterProcess when it runs as a child process.
const (
	envWriterDB     = "GATEHOUSE_SQLITE_TEST_WRITER_DB"
	envWriterPrefix = "GATEHOUSE_SQLITE_TEST_WRITER_PREFIX"
	perProcess      = 25
)

// TestWriterProcess is not a test of its own: TestProcesses runs the test
// binary again with only this test, as a separate process writing to the
// database file.
func TestWriterProcess(t *testing.T) {
	path := os.Getenv(envWriterDB)
	if path == "" {
		t.Skip("runs only as a child process of TestProcesses")
	}
	s := open(t, path)
	prefix := os.Getenv(envWriterPrefix)
	for i := range perProcess {
		id := fmt.Sprintf("%s-%d", prefix, i)
		if err := s.CreateClient(t.Context(), storage.Client{ClientID: id, CreatedAt: time.Now()}); err != nil {
			t.Fatalf("CreateClient %s: %v", id, err)
		}
	}
}

func TestProcesses(t *testing.T) {
	// Real processes on one file, as the command line and one or more
	// servers: writers in child processes and in this one, and a follower of
	// the change feed here that must see every change exactly once, in order.
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "g.db")
	s := open(t, path)

	const children = 3
	cmds := make([]*exec.Cmd, children)
	outs := make([]*bytes.Buffer, children)
	for i := range children {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestWriterProcess$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), envWriterDB+"="+path, fmt.Sprintf("%s=p%d", envWriterPrefix, i))
		outs[i] = &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i] // one writer: exec calls it from one goroutine
		if err := cmd.Start(); err != nil {
			t.Fatalf("start writer process: %v", err)
		}
		cmds[i] = cmd
	}

	writeErr := make(chan error, 1)
	go func() {
		for i := range perProcess {
			id := fmt.Sprintf("parent-%d", i)
			if err := s.CreateClient(ctx, storage.Client{ClientID: id, CreatedAt: time.Now()}); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	}()

	const total = (children + 1) * perProcess
	var seen []storage.Change
	var seq int64
	deadline := time.Now().Add(30 * time.Second)
	for len(seen) < total && time.Now().Before(deadline) {
		cs, err := s.ChangesSince(ctx, seq, 10)
		if err != nil {
			t.Fatalf("ChangesSince: %v", err)
		}
		if len(cs) == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		seen = append(seen, cs...)
		seq = cs[len(cs)-1].Seq
	}
	if err := <-writeErr; err != nil {
		t.Errorf("writer in this process: %v", err)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("writer process %d: %v\n%s", i, err, outs[i].String())
		}
	}

	all, err := s.ChangesSince(ctx, 0, 10*total)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != total {
		t.Errorf("ChangesSince(0): %d changes, want %d", len(all), total)
	}
	if !slices.Equal(seen, all) {
		t.Errorf("the follower saw %d changes, want the %d of the feed in order", len(seen), len(all))
	}
	clients, err := s.ListClients(ctx)
	if err != nil || len(clients) != total {
		t.Errorf("ListClients: %d clients, %v; want %d", len(clients), err, total)
	}
}

func TestBusyIsUnavailable(t *testing.T) {
	// Another process holds the write lock past the busy timeout: the write
	// fails with storage.ErrUnavailable (a 503, try again), not a 500.
	if testing.Short() {
		t.Skip("waits for the busy timeout")
	}
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "g.db")
	s := open(t, path)
	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	err = s.CreateClient(ctx, storage.Client{ClientID: "c"})
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("CreateClient while another process writes: %v, want ErrUnavailable", err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClient(ctx, storage.Client{ClientID: "c"}); err != nil {
		t.Errorf("CreateClient once the lock is released: %v", err)
	}
}
