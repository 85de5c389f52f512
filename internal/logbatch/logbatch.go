package logbatch

import (
	"io"
	"sync"
)

// MaxHeld is how many bytes a held Writer gathers before it writes them
// anyway.
const MaxHeld = 64 << 10

// Writer is an io.Writer in front of another. Outside a hold it writes
// through; between Hold and Release it gathers whatever is written, by any
// goroutine, in order, and writes it at Release (or whenever MaxHeld bytes
// have gathered) with one Write. It is safe for concurrent use; holds nest.
type Writer struct {
	mu   sync.Mutex
	w    io.Writer
	held int
	buf  []byte
}

// New returns a Writer in front of w.
func New(w io.Writer) *Writer { return &Writer{w: w} }

// Write writes p through, or gathers it while the Writer is held. A log
// line is never split: a line that would pass MaxHeld first writes what
// has gathered.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held == 0 {
		return b.w.Write(p)
	}
	if len(b.buf)+len(p) > MaxHeld {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
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
