package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// certCheckInterval is how often, at most, the certificate files are
// looked at for a change; handshakes in between use the loaded certificate.
const certCheckInterval = 5 * time.Second

// tlsConfig is the listener's TLS configuration: TLS 1.2 at least (RFC 9325
// §3.1.1: TLS 1.2 only with AEAD suites, TLS 1.3 preferred), Go's default
// cipher suites (AEAD with forward secrecy only for TLS 1.2) and curve
// preferences, and the certificate from reloader.
func tlsConfig(r *certReloader) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.GetCertificate,
	}
}

// certReloader serves a certificate from a pair of PEM files and picks up
// a replaced pair without a restart (certificate renewal): at most every
// certCheckInterval, a handshake stats both files and reloads them when
// either's modification time or size changed. A pair that does not load
// (half-written, mismatched) leaves the old certificate in place; the
// failure is logged once per change of the files.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	cert      atomic.Pointer[tls.Certificate]
	nextCheck atomic.Int64 // unix nanoseconds

	mu     sync.Mutex // one check at a time
	stamp  fileStamp  // of the loaded pair
	failed fileStamp  // of the last pair that failed to load
}

type fileStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

func newCertReloader(certFile, keyFile string, log *slog.Logger, now func() time.Time) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log, now: now}
	st, err := r.stat()
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: load %s and %s: %w", certFile, keyFile, err)
	}
	r.cert.Store(&cert)
	r.stamp = st
	r.nextCheck.Store(now().Add(certCheckInterval).UnixNano())
	return r, nil
}

func (r *certReloader) stat() (fileStamp, error) {
	c, err := os.Stat(r.certFile)
	if err != nil {
		return fileStamp{}, err
	}
	k, err := os.Stat(r.keyFile)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	now := r.now()
	if next := r.nextCheck.Load(); now.UnixNano() >= next && r.nextCheck.CompareAndSwap(next, now.Add(certCheckInterval).UnixNano()) {
		r.check()
	}
	return r.cert.Load(), nil
}

// check reloads the pair if the files changed since it was loaded.
func (r *certReloader) check() {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := r.stat()
	if err != nil {
		if r.failed != (fileStamp{}) {
			return // already said so
		}
		r.failed = fileStamp{certSize: -1}
		r.log.Error("tls: cannot read the certificate files; keeping the loaded certificate", "error", err)
		return
	}
	if st == r.stamp || st == r.failed {
		return
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.failed = st
		r.log.Error("tls: the changed certificate files do not load; keeping the loaded certificate", "cert", r.certFile, "key", r.keyFile, "error", err)
		return
	}
	r.cert.Store(&cert)
	r.stamp, r.failed = st, fileStamp{}
	r.log.Info("tls: certificate reloaded", "cert", r.certFile)
}
