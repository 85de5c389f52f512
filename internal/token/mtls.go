package token

import (
	"crypto/x509"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/dpop"
	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/mtlsauth"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// ClientCertificateFunc returns a request's TLS client certificate and the
// intermediates presented with it (nil when none), or an error when a
// trusted proxy's certificate header cannot be read (RFC 8705 §2, §3).
type ClientCertificateFunc func(r *http.Request) (*x509.Certificate, []*x509.Certificate, error)

// requestCert is the request's client certificate, read once per request
// and only when something needs it: a bearer request without mTLS never
// looks.
type requestCert struct {
	get   ClientCertificateFunc
	read  bool
	cert  *x509.Certificate
	chain []*x509.Certificate
	err   error
}

func (c *requestCert) certificate(r *http.Request) (*x509.Certificate, []*x509.Certificate, error) {
	if !c.read {
		c.read = true
		if c.get != nil {
			c.cert, c.chain, c.err = c.get(r)
		}
	}
	return c.cert, c.chain, c.err
}

// errCertHeader is the answer when a trusted proxy's certificate header
// cannot be read: the request, as the proxy passed it on, is malformed.
func errCertHeader(err error) error {
	return oauth.InvalidRequest("the TLS client certificate cannot be read: " + errors.Unwrap(err).Error())
}

// confirmation is the cnf of the token the request gets: the DPoP proof's
// key (RFC 9449 §6.1), and the request's client certificate when the client
// asks for it (RFC 8705 §3.4 tls_client_certificate_bound_access_tokens) or
// the API requires mTLS binding (proof_of_possession); nil for a bearer
// token; an error when a certificate is needed and the request has none.
func (e *Endpoint) confirmation(r *http.Request, rc *requestCert, client *catalog.Client, api *storage.API, proof *dpop.Proof) (*Confirmation, error) {
	cnf := confirmation(proof)
	public := client.TokenEndpointAuthMethod == storage.AuthMethodNone
	mtlsRequired := api != nil && api.ProofOfPossession.Mechanism == storage.PoPMTLS && api.ProofOfPossession.Requires(public)
	if !client.CertificateBoundTokens && !mtlsRequired {
		return cnf, nil
	}
	cert, _, err := rc.certificate(r)
	if err != nil {
		return nil, errCertHeader(err)
	}
	if cert == nil {
		return nil, oauth.InvalidRequest("the access tokens are certificate-bound (the client's tls_client_certificate_bound_access_tokens, or the API's proof_of_possession mtls) and the request presented no TLS client certificate: use the mutual-TLS endpoint (mtls_endpoint_aliases)")
	}
	if cnf == nil {
		cnf = &Confirmation{}
	}
	cnf.X5T = mtlsauth.Thumbprint(cert)
	return cnf, nil
}

// certCredentials are what a client registered to authenticate by TLS
// certificate (RFC 8705 §2): the subject DNs or the subject alternative
// name of tls_client_auth, the certificate thumbprints of
// self_signed_tls_client_auth.
type certCredentials struct {
	subjectDNs  []string
	san         storage.SAN
	thumbprints []string
}

// any reports whether anything is registered.
func (cc *certCredentials) any() bool {
	return len(cc.subjectDNs) > 0 || cc.san.Kind != "" || len(cc.thumbprints) > 0
}

// matchCertificate returns the method by which cert authenticates a client
// registered with cc, or "": self_signed_tls_client_auth when cert is one
// of the registered certificates (§2.2, no chain or expiry checked), else
// tls_client_auth when it chains to roots, is valid at now for client
// authentication, and its subject is a registered DN or it holds the
// registered subject alternative name (§2.1, §2.1.2).
func matchCertificate(cert *x509.Certificate, chain []*x509.Certificate, roots *x509.CertPool, cc certCredentials, now time.Time) string {
	matched := false
	for _, t := range cc.thumbprints {
		if mtlsauth.MatchThumbprint(cert, t) {
			matched = true // keep comparing: constant work per credential
		}
	}
	if matched {
		return storage.AuthMethodSelfSignedTLSClientAuth
	}
	if len(cc.subjectDNs) == 0 && cc.san.Kind == "" || mtlsauth.VerifyChain(cert, chain, roots, now) != nil {
		return ""
	}
	for _, dn := range cc.subjectDNs {
		if ok, _ := mtlsauth.MatchSubjectDN(cert, dn); ok {
			return storage.AuthMethodTLSClientAuth
		}
	}
	if cc.san.Kind != "" {
		if ok, _ := mtlsauth.MatchSAN(cert, cc.san.Kind, cc.san.Value); ok {
			return storage.AuthMethodTLSClientAuth
		}
	}
	return ""
}

// certFailure is why a certificate failed to authenticate a client, for the
// metric and the audit event, and whether it counts as a guess.
type certFailure struct {
	reason string
	guess  bool
}

var (
	certNone     = certFailure{metrics.ReasonMissingCredentials, false}
	certUnknown  = certFailure{metrics.ReasonUnknownClient, true}
	certMismatch = certFailure{metrics.ReasonInvalidCertificate, true}
	certDisabled = certFailure{metrics.ReasonDisabledClient, false}
)

// authenticateCertificate is the entry point for a client that
// authenticates with its TLS certificate (RFC 8705 §2): a request with a
// client_id and neither secret nor assertion, from a client registered for
// tls_client_auth or self_signed_tls_client_auth (its
// client_authentication_methods), or from an unknown client_id with a
// certificate. handled is false for every other request, which goes on to
// the secret and public-client checks as before. The certificate must
// match as matchCertificate says; every failure is the same
// invalid_client, and a registered client without a certificate is
// answered as one without credentials, so that the answer does not tell
// which client IDs use certificates.
func (e *Endpoint) authenticateCertificate(r *http.Request, snap *catalog.Snapshot, req *oauth.TokenRequest, rc *requestCert, now time.Time) (client *catalog.Client, handled bool, err error) {
	client, known := snap.Client(req.ClientID)
	cc := certCredentialsOf(client, now)
	usesCert := known && cc.any()
	if known && !usesCert {
		return nil, false, nil
	}
	cert, chain, cerr := rc.certificate(r)
	if cerr != nil {
		return nil, true, errCertHeader(cerr)
	}
	if !known && cert == nil {
		return nil, false, nil
	}
	addr := clientAddr(r)
	if ok, wait := e.cfg.AuthThrottle.Check(req.ClientID, addr, now, known); !ok {
		if e.cfg.Metrics != nil {
			e.cfg.Metrics.AuthFailed(metrics.ReasonThrottled)
		}
		return nil, true, tooManyRequests("too many failed client authentications; retry later", wait)
	}
	fail := func(f certFailure, c *catalog.Client, desc string) (*catalog.Client, bool, error) {
		if f.guess {
			e.cfg.AuthThrottle.Failed(req.ClientID, addr, now, known)
		}
		e.authFailed(r, c, f.reason, addr, now)
		return nil, true, oauth.InvalidClient(desc)
	}
	switch {
	case !known:
		return fail(certUnknown, nil, "client authentication failed")
	case cert == nil:
		return fail(certNone, client, "client authentication is required (HTTP Basic or client_id and client_secret in the body)")
	case matchCertificate(cert, chain, e.cfg.ClientCAs, cc, now) == "":
		return fail(certMismatch, client, "client authentication failed")
	case client.Disabled:
		return fail(certDisabled, client, "client authentication failed")
	}
	return client, true, nil
}

// certCredentialsOf is what the client registered for RFC 8705's methods
// and is active at now: the subject DNs of its tls_client_auth credentials
// (Auth0's cert_subject_dn) and its subject alternative name, the
// thumbprints of its self_signed_tls_client_auth credentials (x509_cert).
func certCredentialsOf(c *catalog.Client, now time.Time) certCredentials {
	if c == nil {
		return certCredentials{}
	}
	cc := certCredentials{san: c.TLSClientAuthSAN}
	for _, cr := range c.AuthCredentials(storage.CredentialCertSubjectDN) {
		if cr.ActiveAt(now) && cr.SubjectDN != "" {
			cc.subjectDNs = append(cc.subjectDNs, cr.SubjectDN)
		}
	}
	for _, cr := range c.AuthCredentials(storage.CredentialX509Cert) {
		if cr.ActiveAt(now) && cr.ThumbprintSHA256 != "" {
			cc.thumbprints = append(cc.thumbprints, cr.ThumbprintSHA256)
		}
	}
	return cc
}
