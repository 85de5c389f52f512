package client

import (
	"crypto/tls"
	"errors"
	"net/http"
	"time"
)

// withCertificate returns the HTTP client that presents cert (RFC 8705):
// hc with a clone of its *http.Transport (http.DefaultTransport's when it
// has none) whose TLS configuration holds cert, or hc itself when cert is
// nil.
func withCertificate(hc *http.Client, cert *tls.Certificate) (*http.Client, error) {
	if cert == nil {
		return hc, nil
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	var base *http.Transport
	switch t := hc.Transport.(type) {
	case nil:
		base = http.DefaultTransport.(*http.Transport)
	case *http.Transport:
		base = t
	default:
		return nil, errors.New("Certificate needs HTTPClient's Transport to be an *http.Transport or nil")
	}
	tr := base.Clone()
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
	out := *hc
	out.Transport = tr
	return &out, nil
}
