package mgmt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/clientcred"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// codeInexistentCredential is the errorCode of a credential that does not
// exist.
const codeInexistentCredential = "inexistent_credential"

// Auth0's client credentials (/clients/{id}/credentials) are the public
// keys and certificates a client authenticates with: public_key for
// private_key_jwt, cert_subject_dn and x509_cert for mutual TLS. A
// credential authenticates only once the client's
// client_authentication_methods names it (PATCH /clients/{id}), as in
// Auth0, so that a key is added, then switched to, then the old one
// removed.

// Credential is a client credential in Auth0's shape; its PEM is never
// returned.
type Credential struct {
	ID               string  `json:"id"`
	Name             string  `json:"name"`
	CredentialType   string  `json:"credential_type"`
	KeyID            string  `json:"kid,omitempty"`
	Alg              string  `json:"alg,omitempty"`
	SubjectDN        string  `json:"subject_dn,omitempty"`
	ThumbprintSHA256 string  `json:"thumbprint_sha256,omitempty"`
	CreatedAt        *string `json:"created_at"`
	UpdatedAt        *string `json:"updated_at"`
	ExpiresAt        *string `json:"expires_at,omitempty"`
}

func (Credential) gatehouseFields() []string { return nil }

func viewCredential(c storage.Credential) Credential {
	return Credential{ID: c.ID, Name: c.Name, CredentialType: c.Type, KeyID: c.KeyID, Alg: c.Alg, SubjectDN: c.SubjectDN,
		ThumbprintSHA256: c.ThumbprintSHA256, CreatedAt: ts(c.CreatedAt), UpdatedAt: ts(c.UpdatedAt), ExpiresAt: ts(c.ExpiresAt)}
}

// credentialInput is the body of POST /clients/{id}/credentials, and a
// credential of client_authentication_methods (by id, or fully defined).
type credentialInput struct {
	ID                  string     `json:"id,omitempty"`
	CredentialType      string     `json:"credential_type"`
	Name                string     `json:"name"`
	PEM                 string     `json:"pem"`
	Alg                 string     `json:"alg"`
	ExpiresAt           *time.Time `json:"expires_at"`
	ParseExpiryFromCert bool       `json:"parse_expiry_from_cert"`
	SubjectDN           string     `json:"subject_dn"`
	// Read back by Auth0's SDKs from an earlier answer and sent again:
	// accepted and ignored, as the server sets them.
	KeyID            string     `json:"kid,omitempty"`
	ThumbprintSHA256 string     `json:"thumbprint_sha256,omitempty"`
	CreatedAt        *time.Time `json:"created_at,omitempty"`
	UpdatedAt        *time.Time `json:"updated_at,omitempty"`
}

func (in credentialInput) clientcred() clientcred.Input {
	out := clientcred.Input{Type: in.CredentialType, Name: in.Name, PEM: in.PEM, Alg: in.Alg, SubjectDN: in.SubjectDN,
		ParseExpiryFromCert: in.ParseExpiryFromCert}
	if in.ExpiresAt != nil {
		out.ExpiresAt = in.ExpiresAt.UTC()
	}
	return out
}

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
	list, err := h.svc().ListCredentials(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, translate(err, clientRes)
	}
	return http.StatusOK, orEmptyViews(mapAll(list, viewCredential)), nil
}

func orEmptyViews(v []Credential) []Credential {
	if v == nil {
		return []Credential{}
	}
	return v
}

// createCredential stores a credential of the client; it authenticates
// once client_authentication_methods names it.
func (h *Handler) createCredential(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	if err := h.clientExists(r); err != nil {
		return 0, nil, err
	}
	var in credentialInput
	if err := decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	if in.ID != "" {
		return 0, nil, badBody(`field "id" is set by the server`)
	}
	c, err := h.svc().AddCredential(r.Context(), r.PathValue("id"), in.clientcred(), false)
	if err != nil {
		return 0, nil, translate(err, resource{conflict: CodeClientConflict})
	}
	return one(r, http.StatusCreated, viewCredential(c))
}

func (h *Handler) getCredential(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	if err := h.clientExists(r); err != nil {
		return 0, nil, err
	}
	c, err := h.svc().GetCredential(r.Context(), r.PathValue("id"), r.PathValue("credential_id"))
	if err != nil {
		return 0, nil, credentialError(err)
	}
	return one(r, http.StatusOK, viewCredential(c))
}

// credentialError is translate with the credential's own 404 code.
func credentialError(err error) *Error {
	if errors.Is(err, storage.ErrNotFound) && admin.NotFoundKind(err) == "credential" {
		return newError(http.StatusNotFound, codeInexistentCredential, err.Error())
	}
	return translate(err, resource{})
}

// credentialPatch is the body of PATCH /clients/{id}/credentials/{id}:
// Auth0 takes expires_at (null: never); name too, here.
type credentialPatch struct {
	ExpiresAt json.RawMessage `json:"expires_at"`
	Name      *string         `json:"name"`
}

func (h *Handler) updateCredential(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	if err := h.clientExists(r); err != nil {
		return 0, nil, err
	}
	var in credentialPatch
	if err := decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	p := admin.CredentialPatch{Name: in.Name}
	if in.ExpiresAt != nil {
		var exp time.Time
		if !bytes.Equal(in.ExpiresAt, []byte("null")) {
			if err := json.Unmarshal(in.ExpiresAt, &exp); err != nil {
				return 0, nil, badBody(`field "expires_at" must be an RFC 3339 time or null`)
			}
		}
		p.ExpiresAt = &exp
	}
	c, err := h.svc().UpdateCredential(r.Context(), r.PathValue("id"), r.PathValue("credential_id"), p)
	if err != nil {
		return 0, nil, credentialError(err)
	}
	return one(r, http.StatusOK, viewCredential(c))
}

// deleteCredential deletes a credential the client's authentication
// methods no longer use; Auth0 refuses to delete one still in use, and so
// does this (409, in Auth0's words, which Terraform recognises).
func (h *Handler) deleteCredential(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	err := h.svc().DeleteCredential(r.Context(), r.PathValue("id"), r.PathValue("credential_id"), false)
	if errors.Is(err, admin.ErrCredentialInUse) {
		return 0, nil, newError(http.StatusConflict, CodeClientConflict,
			"the credential is still associated with a client authentication method; remove it from client_authentication_methods first")
	}
	return deleted(err)
}

// authMethodsField is Auth0's client_authentication_methods, which a client
// body may carry: null, or an object of methods, each with its credentials
// by id or fully defined (created with the client, as Auth0 does).
const authMethodsField = "client_authentication_methods"

type authMethodsBody struct {
	PrivateKeyJWT           *credentialRefs `json:"private_key_jwt"`
	TLSClientAuth           *credentialRefs `json:"tls_client_auth"`
	SelfSignedTLSClientAuth *credentialRefs `json:"self_signed_tls_client_auth"`
}

type credentialRefs struct {
	Credentials []credentialInput `json:"credentials"`
}

// definesCredentials reports whether b defines a credential in full
// rather than naming one by id.
func (b *authMethodsBody) definesCredentials() bool {
	if b == nil {
		return false
	}
	for _, refs := range []*credentialRefs{b.PrivateKeyJWT, b.TLSClientAuth, b.SelfSignedTLSClientAuth} {
		if refs != nil && slices.ContainsFunc(refs.Credentials, func(c credentialInput) bool { return c.ID == "" }) {
			return true
		}
	}
	return false
}

// parseAuthMethods reads client_authentication_methods; nil for null.
func parseAuthMethods(raw json.RawMessage) (*authMethodsBody, *Error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	var b authMethodsBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, badBody(fmt.Sprintf("field %q must be null or an object of private_key_jwt, tls_client_auth and self_signed_tls_client_auth, each {\"credentials\":[…]}: %v",
			authMethodsField, err))
	}
	return &b, nil
}

// applyAuthMethods resolves b for the client: a credential given by id
// must be one of the client's, of the method's type; a fully defined one
// is created (not yet in use). It returns the methods to store.
func (h *Handler) applyAuthMethods(ctx context.Context, clientID string, b *authMethodsBody) (storage.ClientAuthMethods, *Error) {
	var out storage.ClientAuthMethods
	if b == nil {
		return out, nil
	}
	methods := []struct {
		name, typ string
		refs      *credentialRefs
	}{
		{storage.AuthMethodPrivateKeyJWT, storage.CredentialPublicKey, b.PrivateKeyJWT},
		{storage.AuthMethodTLSClientAuth, storage.CredentialCertSubjectDN, b.TLSClientAuth},
		{storage.AuthMethodSelfSignedTLSClientAuth, storage.CredentialX509Cert, b.SelfSignedTLSClientAuth},
	}
	// Every method is checked before any credential is created, so that a
	// refusal leaves none behind (each counts toward MaxCredentials, and a
	// retry would find its key taken).
	for _, m := range methods {
		if m.refs == nil {
			continue
		}
		if len(m.refs.Credentials) == 0 {
			return out, badBody(fmt.Sprintf("%s.%s needs at least one credential", authMethodsField, m.name))
		}
		for i := range m.refs.Credentials {
			cr := &m.refs.Credentials[i]
			if cr.ID != "" {
				c, err := h.svc().GetCredential(ctx, clientID, cr.ID)
				if err != nil || c.Type != m.typ {
					return out, badBody(fmt.Sprintf("%s.%s: credential %q is not a %s credential of the client", authMethodsField, m.name, cr.ID, m.typ))
				}
				continue
			}
			if cr.CredentialType == "" {
				cr.CredentialType = m.typ
			}
			if cr.CredentialType != m.typ {
				return out, badBody(fmt.Sprintf("%s.%s takes %s credentials, not %s", authMethodsField, m.name, m.typ, cr.CredentialType))
			}
			if _, err := clientcred.New(clientID, "", cr.clientcred(), time.Now()); err != nil {
				return out, badBody(err.Error())
			}
		}
	}
	for _, m := range methods {
		if m.refs == nil {
			continue
		}
		ids := out.For(m.typ)
		for _, cr := range m.refs.Credentials {
			if cr.ID == "" {
				c, err := h.svc().AddCredential(ctx, clientID, cr.clientcred(), false)
				if err != nil {
					return out, translate(err, resource{conflict: CodeClientConflict})
				}
				cr.ID = c.ID
			}
			if !slices.Contains(*ids, cr.ID) {
				*ids = append(*ids, cr.ID)
			}
		}
	}
	return out, nil
}

// viewAuthMethods is Auth0's client_authentication_methods of c: null when
// the client authenticates with secrets, else each method's credentials by
// id.
func viewAuthMethods(m storage.ClientAuthMethods) map[string]any {
	if m.IsZero() {
		return nil
	}
	out := map[string]any{}
	for name, ids := range map[string][]string{storage.AuthMethodPrivateKeyJWT: m.PrivateKeyJWT,
		storage.AuthMethodTLSClientAuth: m.TLSClientAuth, storage.AuthMethodSelfSignedTLSClientAuth: m.SelfSignedTLSClientAuth} {
		if len(ids) == 0 {
			continue
		}
		refs := make([]map[string]string, len(ids))
		for i, id := range ids {
			refs[i] = map[string]string{"id": id}
		}
		out[name] = map[string]any{"credentials": refs}
	}
	return out
}
