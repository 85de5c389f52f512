package mgmt

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/clientcred"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func (v Credential) credential(clientID string) storage.Credential {
	return storage.Credential{ID: v.ID, ClientID: clientID, Type: v.CredentialType, Name: v.Name, KeyID: v.KeyID, Alg: v.Alg,
		SubjectDN: v.SubjectDN, ThumbprintSHA256: v.ThumbprintSHA256,
		CreatedAt: parseTS(v.CreatedAt), UpdatedAt: parseTS(v.UpdatedAt), ExpiresAt: parseTS(v.ExpiresAt)}
}

func credentialsPath(clientID string) string {
	return "/api/v2/clients/" + url.PathEscape(clientID) + "/credentials"
}

// AddCredential creates a credential of the client and, with attach,
// names it in the client's client_authentication_methods (a second
// request: between the two the credential exists but does not yet
// authenticate).
func (m *Remote) AddCredential(ctx context.Context, clientID string, in clientcred.Input, attach bool) (storage.Credential, error) {
	body := map[string]any{"credential_type": in.Type, "name": in.Name}
	for k, v := range map[string]string{"pem": in.PEM, "alg": in.Alg, "subject_dn": in.SubjectDN} {
		if v != "" {
			body[k] = v
		}
	}
	if !in.ExpiresAt.IsZero() {
		body["expires_at"] = in.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	if in.ParseExpiryFromCert {
		body["parse_expiry_from_cert"] = true
	}
	var v Credential
	if err := m.do(ctx, http.MethodPost, credentialsPath(clientID), nil, body, &v); err != nil {
		return storage.Credential{}, err
	}
	c := v.credential(clientID)
	if !attach {
		return c, nil
	}
	cur, err := m.GetClient(ctx, clientID)
	if err != nil {
		return c, err
	}
	methods := cur.AuthMethods
	if ids := methods.For(c.Type); ids != nil && !slices.Contains(*ids, c.ID) {
		*ids = append(*ids, c.ID)
	}
	if err := m.setAuthMethods(ctx, clientID, methods, cur.TokenEndpointAuthMethod); err != nil {
		return c, fmt.Errorf("credential %s was created but not attached: %w", c.ID, err)
	}
	return c, nil
}

// setAuthMethods PATCHes the client's client_authentication_methods;
// cleared, the client goes back to method.
func (m *Remote) setAuthMethods(ctx context.Context, clientID string, methods storage.ClientAuthMethods, method string) error {
	body := map[string]any{authMethodsField: viewAuthMethods(methods)}
	if methods.IsZero() && method != "" {
		body["token_endpoint_auth_method"] = method
	}
	return m.do(ctx, http.MethodPatch, "/api/v2/clients/"+url.PathEscape(clientID), nil, body, nil)
}

// ListCredentials lists a client's credentials.
func (m *Remote) ListCredentials(ctx context.Context, clientID string) ([]storage.Credential, error) {
	var list []Credential
	if err := m.do(ctx, http.MethodGet, credentialsPath(clientID), nil, nil, &list); err != nil {
		return nil, err
	}
	out := make([]storage.Credential, len(list))
	for i, v := range list {
		out[i] = v.credential(clientID)
	}
	return out, nil
}

// DeleteCredential deletes a credential; like the local one it fails for a
// missing credential, and with detach first takes it out of the client's
// authentication methods.
func (m *Remote) DeleteCredential(ctx context.Context, clientID, id string, detach bool) error {
	if err := m.do(ctx, http.MethodGet, credentialsPath(clientID)+"/"+url.PathEscape(id), nil, nil, nil); err != nil {
		return err
	}
	if detach {
		cur, err := m.GetClient(ctx, clientID)
		if err != nil {
			return err
		}
		if cur.AuthMethods.Uses(id) {
			if err := m.setAuthMethods(ctx, clientID, cur.AuthMethods.Without(id), cur.TokenEndpointAuthMethod); err != nil {
				return err
			}
		}
	}
	return m.do(ctx, http.MethodDelete, credentialsPath(clientID)+"/"+url.PathEscape(id), nil, nil, nil)
}
