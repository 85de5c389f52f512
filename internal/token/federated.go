package token

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/federation"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Federation verifies a workload's platform token against a client's
// federated credentials (package federation).
type Federation interface {
	Verify(ctx context.Context, creds []storage.FederatedCredential, token string) (*storage.FederatedCredential, error)
}

var _ Federation = (*federation.Verifier)(nil)

// authenticateFederated authenticates a client by the platform token a
// workload sent as its client_assertion (RFC 7523 §2.2,
// docs/clients-without-secrets.md). The request names the client with
// client_id: a platform token's subject names a workload, which may be
// federated to several clients. Every failure is the same invalid_client;
// the check that failed goes to the log with the client and credential
// IDs, never the token. It is brute-force protected as secrets are: the
// throttle is asked first, and each token refused by a federated client
// counts as a guess (except when the issuer's keys could not be fetched,
// which no guess causes). An issuer that none of the client's credentials names is never
// fetched, and an unknown, disabled or unfederated client costs no fetch
// at all.
func (e *Endpoint) authenticateFederated(r *http.Request, snap *catalog.Snapshot, clientID, assertion string, now time.Time) (*catalog.Client, error) {
	addr := clientAddr(r)
	if clientID == "" {
		// No client named, and the assertion (iss is not sub) names none.
		e.authFailed(r, nil, metrics.ReasonAssertionClaims, addr, now)
		return nil, oauth.InvalidClient("client_id is required with a client_assertion whose iss is not its sub (a platform issuer's token)")
	}
	client, known := snap.Client(clientID)
	if ok, wait := e.cfg.AuthThrottle.Check(clientID, addr, now, known); !ok {
		if e.cfg.Metrics != nil {
			e.cfg.Metrics.AuthFailed(metrics.ReasonThrottled)
		}
		return nil, tooManyRequests("too many failed client authentications; retry later", wait)
	}
	var reason string
	var err error
	guess := true
	switch {
	case !known:
		reason, client = metrics.ReasonUnknownClient, nil
	case client.Disabled:
		reason = metrics.ReasonDisabledClient
	case len(client.Federated) == 0 || e.cfg.Federation == nil:
		// To a client without federation, an assertion whose iss is not
		// its sub is a private_key_jwt one whose claims do not hold.
		reason, guess = metrics.ReasonAssertionClaims, false
	default:
		if _, err = e.cfg.Federation.Verify(r.Context(), client.Federated, assertion); err == nil {
			return client, nil
		}
		reason = metrics.ReasonInvalidFederated
		var f *federation.Failure
		guess = !errors.As(err, &f) || f.Check != federation.FailKeys
	}
	if guess {
		e.cfg.AuthThrottle.Failed(clientID, addr, now, known)
	}
	if err != nil {
		e.cfg.Logger.Info("federated client authentication failed", "client_id", clientID, "error", err)
	}
	e.authFailed(r, client, reason, addr, now)
	return nil, oauth.InvalidClient("client authentication failed")
}
