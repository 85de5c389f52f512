package server

import (
	"bytes"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func serial(t *testing.T, r *certReloader) string {
	t.Helper()
	c, err := r.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.SerialNumber.String()
}

// touch gives both files a new modification time, as a renewal that writes
// them does.
func touch(t *testing.T, at time.Time, files ...string) {
	t.Helper()
	for _, f := range files {
		if err := os.Chtimes(f, at, at); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCertReloader: a renewed pair is served after the next check; a bad
// pair keeps the old certificate and is logged once; checks happen at most
// every certCheckInterval.
func TestCertReloader(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	first := testutil.WriteCert(t, certFile, keyFile, "first").SerialNumber.String()
	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	}), nil))
	clk := &clock{t: time.Unix(1_000_000, 0)}
	r, err := newCertReloader(certFile, keyFile, log, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	if got := serial(t, r); got != first {
		t.Fatalf("serving %s, want %s", got, first)
	}

	// Renewed: not looked at before the interval has passed, then served.
	second := testutil.WriteCert(t, certFile, keyFile, "second").SerialNumber.String()
	touch(t, time.Now().Add(time.Minute), certFile, keyFile)
	if got := serial(t, r); got != first {
		t.Fatal("the files were checked before certCheckInterval passed")
	}
	clk.add(certCheckInterval)
	if got := serial(t, r); got != second {
		t.Fatalf("after the interval: serving %s, want the renewed %s", got, second)
	}

	// A bad pair (key of another certificate) keeps the second, logged once.
	otherDir := t.TempDir()
	testutil.WriteCert(t, filepath.Join(otherDir, "c.pem"), keyFile, "mismatch")
	touch(t, time.Now().Add(2*time.Minute), certFile, keyFile)
	for range 3 {
		clk.add(certCheckInterval)
		if got := serial(t, r); got != second {
			t.Fatalf("a bad pair replaced the certificate: serving %s", got)
		}
	}
	logMu.Lock()
	n := strings.Count(logs.String(), "do not load")
	logMu.Unlock()
	if n != 1 {
		t.Fatalf("the bad pair was logged %d times, want once:\n%s", n, logs.String())
	}

	// Fixed: the next good pair is picked up.
	third := testutil.WriteCert(t, certFile, keyFile, "third").SerialNumber.String()
	touch(t, time.Now().Add(3*time.Minute), certFile, keyFile)
	clk.add(certCheckInterval)
	if got := serial(t, r); got != third {
		t.Fatalf("after the fix: serving %s, want %s", got, third)
	}

	// A pair missing at start is an error, not a server without a
	// certificate.
	if _, err := newCertReloader(filepath.Join(dir, "nope.pem"), keyFile, log, clk.now); err == nil {
		t.Fatal("a missing certificate file was accepted")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
