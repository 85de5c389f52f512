package logbatch

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// MaxHeld is how many bytes a held Writer gathers before it writes them
// anyway.
const MaxHeld = 64 << 10

// Writer is an io.Writer in front of another. Outside a hold it writes
// through; between Hold and Release it gathers whatever is written, by any
// goroutine, in order, and writes it at Release (or whenever MaxHeld bytes
// have gathered) with one Write. It is safe for concurrent use; holds nest.
type Writer struct {
	mu    sync.Mutex
	w     io.Writer
	held  int
	buf   []byte
	delay time.Duration
	timer *time.Timer // armed while a delayed Writer holds lines
}

// New returns a Writer in front of w.
func New(w io.Writer) *Writer { return &Writer{w: w} }

// NewDelayed returns a Writer in front of w that also gathers what is
// written outside a hold, for at most delay after the first line it
// gathers (or until MaxHeld bytes), and writes it with one Write: nginx's
// `access_log … buffer= flush=`. A line then reaches w at most delay late,
// and a crash loses at most the last delay's lines; Flush writes at once
// (FlushAt calls it for warnings and errors, and serve at shutdown). A
// delay of 0 is New.
func NewDelayed(w io.Writer, delay time.Duration) *Writer {
	return &Writer{w: w, delay: max(delay, 0)}
}

// Write writes p through, or gathers it while the Writer is held. A log
// line is never split: a line that would pass MaxHeld first writes what
// has gathered.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held == 0 && b.delay == 0 {
		return b.w.Write(p)
	}
	if len(b.buf)+len(p) > MaxHeld {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
	}
	b.buf = append(b.buf, p...)
	if b.delay > 0 && b.timer == nil {
		b.timer = time.AfterFunc(b.delay, b.flushTimer)
	}
	return len(p), nil
}

// flushTimer writes what a delayed Writer gathered once its delay passed.
func (b *Writer) flushTimer() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timer = nil
	if b.held == 0 {
		_ = b.flushLocked()
	}
}

// Flush writes what has gathered now (outside a hold; a hold's lines go at
// its Release). serve calls it as it exits, so no line of a clean shutdown
// waits on a timer that will not fire.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held > 0 {
		return nil
	}
	return b.flushLocked()
}

// FlushAt returns h, whose records at level or above are written at once
// through b (Flush after each), with everything gathered before them: a
// warning or an error is not held back by a delayed Writer.
func FlushAt(h slog.Handler, b *Writer, level slog.Level) slog.Handler {
	return flushHandler{Handler: h, b: b, level: level}
}

type flushHandler struct {
	slog.Handler
	b     *Writer
	level slog.Level
}

func (h flushHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= h.level {
		_ = h.b.Flush()
	}
	return err
}

func (h flushHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushHandler{Handler: h.Handler.WithAttrs(attrs), b: h.b, level: h.level}
}

func (h flushHandler) WithGroup(name string) slog.Handler {
	return flushHandler{Handler: h.Handler.WithGroup(name), b: h.b, level: h.level}
}

// Hold starts gathering writes until the matching Release.
func (b *Writer) Hold() {
	b.mu.Lock()
	b.held++
	b.mu.Unlock()
}

// Release ends a Hold; the last Release writes what has gathered. A failed
// write drops the gathered lines, as an unbuffered write would have lost
// them.
func (b *Writer) Release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held == 0 {
		return
	}
	b.held--
	if b.held == 0 {
		_ = b.flushLocked()
	}
}

func (b *Writer) flushLocked() error {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	if cap(b.buf) > 4*MaxHeld {
		b.buf = nil // a burst of long lines: do not keep its memory
	} else {
		b.buf = b.buf[:0]
	}
	return err
}
