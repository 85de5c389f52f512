package mgmt

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/federation"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Federated credentials are a gatehouse extension: Auth0 has none. They
// live under the client, at /clients/{id}/federated-credentials, beside
// Auth0's /credentials (public keys and certificates), with the scopes of
// those (read:, create:, delete:client_credentials): both say how a client
// authenticates without a secret (docs/clients-without-secrets.md).

// codeInexistentFederated is the errorCode of a federated credential that
// does not exist.
const codeInexistentFederated = "inexistent_federated_credential"

// FederatedCredential is a federated credential's view. Audience is absent
// when the credential expects the server's issuer; MaxLifetime is the cap
// in seconds, absent for the default (an hour).
type FederatedCredential struct {
	ID          string            `json:"id"`
	ClientID    string            `json:"client_id"`
	Issuer      string            `json:"issuer"`
	Subject     string            `json:"subject"`
	Audience    string            `json:"audience,omitempty"`
	Claims      map[string]string `json:"claims"`
	MaxLifetime int64             `json:"max_lifetime,omitempty"`
	CreatedAt   *string           `json:"created_at"`
}

// ViewFederated is fc in the API's shape.
func ViewFederated(fc storage.FederatedCredential) FederatedCredential {
	claims := fc.Claims
	if claims == nil {
		claims = map[string]string{}
	}
	return FederatedCredential{ID: fc.ID, ClientID: fc.ClientID, Issuer: fc.Issuer, Subject: fc.Subject,
		Audience: fc.Audience, Claims: claims, MaxLifetime: int64(fc.MaxLifetime / time.Second), CreatedAt: ts(fc.CreatedAt)}
}

// federatedInput is the body of a POST.
type federatedInput struct {
	Issuer      *string           `json:"issuer"`
	Subject     *string           `json:"subject"`
	Audience    string            `json:"audience"`
	Claims      map[string]string `json:"claims"`
	MaxLifetime int64             `json:"max_lifetime"`
}

func (h *Handler) listFederated(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	id := r.PathValue("id")
	return listed(r, "federated_credentials", func(ctx context.Context) ([]storage.FederatedCredential, error) {
		return h.svc().ListFederatedCredentials(ctx, id)
	}, ViewFederated)
}

func (h *Handler) createFederated(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in federatedInput
	if err := decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	if in.Issuer == nil || in.Subject == nil {
		return 0, nil, badBody(`required fields "issuer" and "subject"`)
	}
	// Out of range is the admin service's to say, in the words of the
	// command line; only keep the multiplication from overflowing.
	in.MaxLifetime = min(max(in.MaxLifetime, -1), int64(federation.MaxMaxLifetime/time.Second)+1)
	fc, err := h.svc().AddFederatedCredential(r.Context(), r.PathValue("id"), admin.FederationInput{
		Issuer: *in.Issuer, Subject: *in.Subject, Audience: in.Audience, Claims: in.Claims,
		MaxLifetime: time.Duration(in.MaxLifetime) * time.Second,
	})
	if err != nil {
		return 0, nil, translate(err, resource{conflict: "federated_credential_conflict"})
	}
	return http.StatusCreated, ViewFederated(fc), nil
}

func (h *Handler) getFederated(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	list, err := h.svc().ListFederatedCredentials(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, translate(err, clientRes)
	}
	for _, fc := range list {
		if fc.ID == r.PathValue("credential_id") {
			return one(r, http.StatusOK, ViewFederated(fc))
		}
	}
	return 0, nil, newError(http.StatusNotFound, codeInexistentFederated, `federated credential "`+r.PathValue("credential_id")+`" not found`)
}

func (h *Handler) deleteFederated(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	return deleted(h.svc().RemoveFederatedCredential(r.Context(), r.PathValue("id"), r.PathValue("credential_id")))
}
