package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/discovery"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/token"
	"github.com/gatehouse-dev/gatehouse/verify"
)

// requestClientCert makes tc ask for a TLS client certificate without
// requiring one (RFC 8705 §2: a client without one still reaches every
// endpoint) and without verifying it: tls_client_auth chains it to
// --tls-client-ca and self_signed_tls_client_auth compares it with the
// registered one, both in the token endpoint. crypto/tls still checks that
// the client holds the certificate's private key (its CertificateVerify).
// No CA names are sent, so that clients send self-signed certificates too.
func requestClientCert(tc *tls.Config) {
	tc.ClientAuth = tls.RequestClientCert
}

// clientCertificates is where the token endpoint finds a request's client
// certificate: the TLS connection, or the --client-cert-header of a
// --trusted-proxies peer (package verify's CertificateSource, the same
// reading a resource server does).
func clientCertificates(cfg *config.Config) *verify.CertificateSource {
	return &verify.CertificateSource{Header: cfg.ClientCertHeader, TrustedProxies: cfg.TrustedProxyPrefixes()}
}

// clientCertificateFunc is the token endpoint's way to a request's client
// certificate, or nil when the server can see none.
func (s *Server) clientCertificateFunc() token.ClientCertificateFunc {
	if !s.cfg.ClientCertificates() {
		return nil
	}
	return clientCertificates(&s.cfg).Certificate
}

// mtlsTokenURL is the token endpoint's mutual-TLS alias as discovery
// advertises it, "" when there is none.
func (s *Server) mtlsTokenURL() string {
	base := s.cfg.MTLSEndpointBase()
	if base == "" || !s.cfg.ClientCertificates() {
		return ""
	}
	return base + discovery.PathToken
}

// mtlsMetadata adds RFC 8705's metadata when the server can see client
// certificates.
func (s *Server) mtlsMetadata(m discovery.Metadata) discovery.Metadata {
	if !s.cfg.ClientCertificates() {
		return m
	}
	methods := []string{storage.AuthMethodSelfSignedTLSClientAuth}
	if s.clientCAs != nil {
		methods = []string{storage.AuthMethodTLSClientAuth, storage.AuthMethodSelfSignedTLSClientAuth}
	}
	return discovery.WithMTLS(m, s.cfg.MTLSEndpointBase(), methods)
}

// listenMTLS opens the --mtls-addr listener, or returns nil when there is
// none. The caller opens it so that a bad address fails the start.
func (s *Server) listenMTLS() (net.Listener, error) {
	if s.cfg.MTLSAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", s.cfg.MTLSAddr)
	if err != nil {
		return nil, fmt.Errorf("mtls listener: %w", err)
	}
	s.log.Info("mutual TLS listening", "addr", ln.Addr().String(), "aliases", s.cfg.MTLSEndpointBase())
	return ln, nil
}

// serveMTLS serves every endpoint on ln with TLS, requesting client
// certificates (the mtls_endpoint_aliases of RFC 8705 §5), until ctx is
// done.
func (s *Server) serveMTLS(ctx context.Context, ln net.Listener) {
	r, err := newCertReloader(s.cfg.TLSCert, s.cfg.TLSKey, s.log, time.Now)
	if err != nil {
		s.log.Error("mtls listener failed", "error", err)
		_ = ln.Close()
		return
	}
	srv := s.httpServer(s.handler)
	srv.TLSConfig = tlsConfig(r)
	requestClientCert(srv.TLSConfig)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
		_ = srv.Shutdown(sctx)
		cancel()
	}()
	if err := srv.ServeTLS(ln, "", ""); err != nil && err != http.ErrServerClosed {
		s.log.Error("mtls listener failed", "error", err)
	}
}
