package mgmt

import (
	"net/http"
)

// codeInexistentCredential is the errorCode of a credential that does not
// exist.
const codeInexistentCredential = "inexistent_credential"

// Auth0's client credentials (/clients/{id}/credentials) are the public
// keys and certificates a client authenticates with (private_key_jwt,
// mTLS). This server has none yet: clients authenticate with their
// secrets. The routes answer in Auth0's shapes so that tooling that reads
// or removes credentials (Terraform's destroy) works: a client's list is
// [], one credential is a 404, and creating one is a 400 that says why.

// clientExists answers the 404 of a client that does not exist.
func (h *Handler) clientExists(r *http.Request) *Error {
	if _, err := h.svc().GetClient(r.Context(), r.PathValue("id")); err != nil {
		return translate(err, clientRes)
	}
	return nil
}

// listCredentials answers a client's credentials: always a bare array, as
// Auth0's, whatever the paging asked.
func (h *Handler) listCredentials(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	if err := knownParams(r.URL.Query(), pagingParams, shapeParams); err != nil {
		return 0, nil, err
	}
	if err := h.clientExists(r); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, []struct{}{}, nil
}

func (h *Handler) createCredential(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	if err := h.clientExists(r); err != nil {
		return 0, nil, err
	}
	return 0, nil, badBody("client credentials (public_key, x509_cert) are not supported by this server yet: clients authenticate with their secrets (see /clients/{id}/secrets)")
}

// credentialNotFound answers a read or change of one credential.
func (h *Handler) credentialNotFound(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	if err := h.clientExists(r); err != nil {
		return 0, nil, err
	}
	return 0, nil, newError(http.StatusNotFound, codeInexistentCredential, `credential "`+r.PathValue("credential_id")+`" not found: the client has no credentials`)
}

// deleteCredential answers 204, as every DELETE of what does not exist.
func (h *Handler) deleteCredential(*http.Request, http.ResponseWriter) (int, any, *Error) {
	return deleted(nil)
}
