package token

import (
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/dpop"
	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// empty reports whether the token is bound to nothing (a bearer token).
func (c *Confirmation) empty() bool { return c == nil || *c == Confirmation{} }

// headerDPoP is the DPoP header's canonical key: indexing the header map
// with it costs a bearer request one map lookup and no allocation.
const headerDPoP = "Dpop"

// confirmation is the cnf of the token a request with proof gets; nil for a
// bearer token.
func confirmation(proof *dpop.Proof) *Confirmation {
	if proof == nil {
		return nil
	}
	return &Confirmation{JKT: proof.JKT}
}

// tokenType is the token_type of a token bound by cnf (RFC 9449 §5).
func tokenType(cnf *Confirmation) string {
	if cnf != nil && cnf.JKT != "" {
		return dpop.TokenType
	}
	return "Bearer"
}

// checkProof checks the request's DPoP proof (RFC 9449 §4.3, §5), if it
// has one; only then does any DPoP work happen. A proof the server cannot
// accept is invalid_dpop_proof, a missing or stale server nonce
// use_dpop_nonce with the nonce to use (§8), both 400.
func (e *Endpoint) checkProof(r *http.Request) (*dpop.Proof, error) {
	values := r.Header[headerDPoP]
	if len(values) == 0 {
		return nil, nil
	}
	if len(values) > 1 {
		return nil, e.proofError(errors.New("more than one DPoP header"))
	}
	p, err := e.dpop.Check(values[0], dpop.Expect{Method: r.Method, URL: e.tokenURL, Aliases: e.aliasURLs})
	if err != nil {
		return nil, e.proofError(err)
	}
	return p, nil
}

// proofError is the token endpoint's answer to a refused proof.
func (e *Endpoint) proofError(err error) *oauth.Error {
	if errors.Is(err, dpop.ErrReplayFull) {
		return tooManyRequests(err.Error(), e.dpopRetry)
	}
	code := dpop.CodeInvalidProof
	if errors.Is(err, dpop.ErrUseNonce) {
		code = dpop.CodeUseNonce
	}
	oe := &oauth.Error{Code: code, Description: err.Error(), Status: http.StatusBadRequest}
	if n := e.dpop.Nonces(); n != nil {
		oe.Header = http.Header{dpop.NonceHeader: {n.Current(e.cfg.Now())}}
	}
	return oe
}

// requireBinding refuses a bearer token where the client or the API makes
// binding mandatory (Auth0's require_proof_of_possession and
// proof_of_possession.required): RFC 9449 §5.2 has the server reject a
// request without a proof (invalid_request: a required header is missing).
// An API that requires mTLS binding (RFC 8705) takes only a token bound to
// a client certificate (cnf.x5t#S256); a user-login grant never binds one,
// so it is refused there.
func requireBinding(client *catalog.Client, api *storage.API, cnf *Confirmation) error {
	public := client.TokenEndpointAuthMethod == storage.AuthMethodNone
	if api != nil && api.ProofOfPossession.Requires(public) {
		if api.ProofOfPossession.Mechanism == storage.PoPMTLS {
			if cnf == nil || cnf.X5T == "" {
				return oauth.InvalidRequest("the API " + quote(api.Identifier) + " requires certificate-bound access tokens (mTLS): present a TLS client certificate at the mutual-TLS endpoint (mtls_endpoint_aliases)")
			}
			return nil
		}
		if cnf.empty() {
			return oauth.InvalidRequest("the API " + quote(api.Identifier) + " requires DPoP-bound access tokens: send a DPoP proof (RFC 9449)")
		}
	}
	if client.RequireProofOfPossession && cnf.empty() {
		return oauth.InvalidRequest("the client requires proof of possession: send a DPoP proof (RFC 9449) or a TLS client certificate (RFC 8705)")
	}
	return nil
}

// withNonce adds the server's current DPoP nonce to a response to a
// request that carried a proof, so that the client has the next one before
// the one it holds expires (RFC 9449 §8.2).
func (e *Endpoint) withNonce(w http.ResponseWriter, proof *dpop.Proof) {
	if proof == nil {
		return
	}
	if n := e.dpop.Nonces(); n != nil {
		w.Header().Set(dpop.NonceHeader, n.Current(e.cfg.Now()))
	}
}
