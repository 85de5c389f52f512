package token

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// ClientCredentials is the client credentials grant (RFC 6749 §4.4): a
// confidential client obtains a token about itself. No refresh token is ever
// issued (RFC 6749 §4.4.3).
type ClientCredentials struct{}

var _ Grant = ClientCredentials{}

// Type returns "client_credentials".
func (ClientCredentials) Type() string { return storage.GrantClientCredentials }

// Authorize checks that the client is confidential (RFC 6749 §4.4: "MUST only
// be used by confidential clients") and asks for a token whose subject is the
// client itself.
func (ClientCredentials) Authorize(_ context.Context, req *Request) (*Authorization, error) {
	if req.Client.AppType != "" && req.Client.AppType != storage.AppTypeNonInteractive && req.Client.AppType != "regular_web" {
		return nil, oauth.UnauthorizedClient("only confidential clients may use the client_credentials grant")
	}
	return &Authorization{
		Subject:   req.Client.ClientID,
		Audience:  req.Audience,
		Resources: req.Resources,
		Scope:     req.Scope,
	}, nil
}
