package logbatch_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

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
