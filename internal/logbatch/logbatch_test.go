package logbatch_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/logbatch"
)

// writes records each Write it is given.
type writes struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, string(p))
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

func TestWriter(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(b *logbatch.Writer)
		want []string
	}{
		{"writes through when not held", func(b *logbatch.Writer) {
			fmt.Fprint(b, "a\n")
			fmt.Fprint(b, "b\n")
		}, []string{"a\n", "b\n"}},
		{"one write per hold", func(b *logbatch.Writer) {
			b.Hold()
			fmt.Fprint(b, "a\n")
			fmt.Fprint(b, "b\n")
			b.Release()
			fmt.Fprint(b, "c\n")
		}, []string{"a\nb\n", "c\n"}},
		{"holds nest", func(b *logbatch.Writer) {
			b.Hold()
			fmt.Fprint(b, "a\n")
			b.Hold()
			fmt.Fprint(b, "b\n")
			b.Release()
			fmt.Fprint(b, "c\n")
			b.Release()
		}, []string{"a\nb\nc\n"}},
		{"an empty hold writes nothing", func(b *logbatch.Writer) {
			b.Hold()
			b.Release()
		}, nil},
		{"a release without a hold is harmless", func(b *logbatch.Writer) {
			b.Release()
			fmt.Fprint(b, "a\n")
		}, []string{"a\n"}},
		{"MaxHeld bytes are written at once, lines whole", func(b *logbatch.Writer) {
			line := strings.Repeat("x", 1000) + "\n"
			b.Hold()
			for range 70 {
				fmt.Fprint(b, line)
			}
			b.Release()
		}, []string{strings.Repeat(strings.Repeat("x", 1000)+"\n", 65), strings.Repeat(strings.Repeat("x", 1000)+"\n", 5)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w writes
			tc.run(logbatch.New(&w))
			if fmt.Sprint(w.calls) != fmt.Sprint(tc.want) {
				t.Errorf("writes %q, want %q", short(w.calls), short(tc.want))
			}
		})
	}
}

func short(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		if len(x) > 40 {
			x = fmt.Sprintf("%s… (%d bytes)", x[:20], len(x))
		}
		out[i] = x
	}
	return out
}

// TestWriterFailure: a failed write is reported to a writer outside a hold
// and does not wedge the Writer inside one.
func TestWriterFailure(t *testing.T) {
	w := &writes{err: errors.New("disk full")}
	b := logbatch.New(w)
	if _, err := fmt.Fprint(b, "a\n"); err == nil {
		t.Error("a failed write through was not reported")
	}
	b.Hold()
	fmt.Fprint(b, "b\n")
	b.Release()
	w.err = nil
	b.Hold()
	fmt.Fprint(b, "c\n")
	b.Release()
	if got := fmt.Sprint(w.calls); got != fmt.Sprint([]string{"a\n", "b\n", "c\n"}) {
		t.Errorf("writes %q", w.calls)
	}
}

// TestWriterUnderSlog: lines logged by many goroutines during a hold all
// arrive, whole, in one write.
func TestWriterUnderSlog(t *testing.T) {
	var w writes
	b := logbatch.New(&w)
	log := slog.New(slog.NewTextHandler(b, nil))
	b.Hold()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				log.Info("line", "g", g, "i", i)
			}
		})
	}
	wg.Wait()
	b.Release()
	if len(w.calls) != 1 {
		t.Fatalf("%d writes, want 1", len(w.calls))
	}
	lines := strings.Split(strings.TrimSuffix(w.calls[0], "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	seen := map[string]bool{}
	for _, l := range lines {
		if !strings.Contains(l, "msg=line g=") {
			t.Fatalf("a torn line: %q", l)
		}
		seen[l[strings.Index(l, "g="):]] = true
	}
	if len(seen) != 400 {
		t.Errorf("%d distinct lines, want 400", len(seen))
	}
	var again bytes.Buffer
	log2 := slog.New(slog.NewTextHandler(logbatch.New(&again), nil))
	log2.Info("through")
	if !strings.Contains(again.String(), "msg=through") {
		t.Errorf("not written through: %q", again.String())
	}
}

// snapshot returns a copy of the writes so far.
func (w *writes) snapshot() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.calls...)
}

// TestDelayedWriter: a delayed Writer gathers lines written outside a hold
// and writes them with one Write once its delay passed (not before), or at
// MaxHeld bytes, or at Flush; FlushAt writes a warning at once with what
// came before it; a hold's Release writes what gathered.
func TestDelayedWriter(t *testing.T) {
	const delay = 50 * time.Millisecond
	waitFor := func(t *testing.T, w *writes, n int) []string {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if got := w.snapshot(); len(got) >= n {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("writes %q after 5s, want %d", w.snapshot(), n)
			}
		}
	}
	t.Run("one write per delay", func(t *testing.T) {
		var w writes
		b := logbatch.NewDelayed(&w, delay)
		start := time.Now()
		fmt.Fprint(b, "a\n")
		fmt.Fprint(b, "b\n")
		if got := w.snapshot(); len(got) != 0 {
			t.Fatalf("written before the delay: %q", got)
		}
		got := waitFor(t, &w, 1)
		if took := time.Since(start); took < delay {
			t.Errorf("written after %s, before the %s delay", took, delay)
		}
		if fmt.Sprint(got) != fmt.Sprint([]string{"a\nb\n"}) {
			t.Errorf("writes %q, want one of both lines", got)
		}
		fmt.Fprint(b, "c\n") // a new delay starts with the next line
		if got := waitFor(t, &w, 2); got[1] != "c\n" {
			t.Errorf("second write %q", got[1])
		}
	})
	t.Run("flush and warnings write at once", func(t *testing.T) {
		var w writes
		b := logbatch.NewDelayed(&w, time.Hour)
		log := slog.New(logbatch.FlushAt(slog.NewTextHandler(b, nil), b, slog.LevelWarn)).With("k", "v")
		log.Info("first")
		log.Info("second")
		if got := w.snapshot(); len(got) != 0 {
			t.Fatalf("info written at once: %q", got)
		}
		log.Warn("trouble")
		got := w.snapshot()
		if len(got) != 1 || strings.Count(got[0], "\n") != 3 || !strings.Contains(got[0], "msg=first") || !strings.Contains(got[0], "msg=trouble k=v") {
			t.Fatalf("after a warning: %q, want the three lines in one write, in order", got)
		}
		log.Info("last")
		if err := b.Flush(); err != nil {
			t.Fatal(err)
		}
		if got := w.snapshot(); len(got) != 2 || !strings.Contains(got[1], "msg=last") {
			t.Fatalf("after Flush: %q", got)
		}
	})
	t.Run("MaxHeld bytes and holds", func(t *testing.T) {
		var w writes
		b := logbatch.NewDelayed(&w, time.Hour)
		line := strings.Repeat("x", 1000) + "\n"
		for range 70 {
			fmt.Fprint(b, line)
		}
		if got := w.snapshot(); len(got) != 1 || len(got[0]) != 65*len(line) {
			t.Fatalf("after 70 KB: %d writes, want one of the first 65 lines", len(got))
		}
		b.Hold()
		fmt.Fprint(b, "held\n")
		if err := b.Flush(); err != nil || len(w.snapshot()) != 1 {
			t.Fatalf("Flush inside a hold wrote: %v %d", err, len(w.snapshot()))
		}
		b.Release()
		if got := w.snapshot(); len(got) != 2 || !strings.HasSuffix(got[1], "held\n") || len(got[1]) != 5*len(line)+5 {
			t.Fatalf("after Release: %d writes", len(got))
		}
	})
}
