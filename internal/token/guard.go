package token

import (
	"net/http"
	"net/netip"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/clientip"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/requestid"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/throttle"
)

// Auditor receives the endpoint's audit events (package audit). Enqueue
// must not block: the hot path never waits on storage (ARCHITECTURE.md).
type Auditor interface {
	Enqueue(e audit.Event) bool
}

var _ Auditor = (*audit.Recorder)(nil)

// Metrics counts issued tokens and failed client authentications (package
// metrics, whose label values are bounded).
type Metrics interface {
	Issued(clientID, audience string)
	AuthFailed(reason string)
}

var _ Metrics = (*metrics.Token)(nil)

// UnknownActor is the actor of an auth.failed event whose client_id names no
// client: what was sent is not recorded, as it may be anything (a secret
// pasted into the wrong field included).
const UnknownActor = "unknown"

// authFailed counts and audits a failed client authentication; client is
// nil when the client_id names no client.
func (e *Endpoint) authFailed(r *http.Request, client *catalog.Client, reason string, addr netip.Addr, now time.Time) {
	if e.cfg.Metrics != nil {
		e.cfg.Metrics.AuthFailed(reason)
	}
	if e.cfg.Audit == nil {
		return
	}
	actor := UnknownActor
	if client != nil {
		actor = client.ClientID
	}
	e.cfg.Audit.Enqueue(audit.Event{
		Time: now, Actor: actor, Action: storage.AuditAuthFailed, Target: actor, Outcome: storage.OutcomeFailure,
		RemoteAddr: addr, RequestID: requestid.FromContext(r.Context()), Reason: reason,
	})
}

// issued counts and audits a token issued for audience, by every grant
// (reused: handed out again by token reuse). The event takes the jti from
// tok later, off the hot path.
func (e *Endpoint) issued(r *http.Request, client *catalog.Client, audience, scope, tok string, reused bool, now time.Time) {
	if e.cfg.Metrics != nil {
		e.cfg.Metrics.Issued(client.ClientID, audience)
	}
	if e.cfg.Audit == nil {
		return
	}
	ev := audit.Event{
		Time: now, Actor: client.ClientID, Action: storage.AuditTokenIssued, Target: audience, Outcome: storage.OutcomeSuccess,
		RemoteAddr: clientAddr(r), RequestID: requestid.FromContext(r.Context()), Audience: audience, Scope: scope, Reused: reused,
	}
	ev.SetToken(tok)
	e.cfg.Audit.Enqueue(ev)
}

// tooManyRequests is the 429 of docs/reference/protocol.md's error table: RFC 6749 §5.2
// shaped, with Retry-After (RFC 9110 §10.2.3) of at least a second.
func tooManyRequests(desc string, retryAfter time.Duration) *oauth.Error {
	return &oauth.Error{Code: oauth.CodeTooManyRequests, Status: http.StatusTooManyRequests, Description: desc,
		RetryAfter: max(retryAfter, time.Second)}
}

// checkQuota spends one token of the client's quota and of its quota for
// api, or, when either is spent, spends nothing and answers 429 with that
// quota's RateLimit-Policy and RateLimit fields
// (draft-ietf-httpapi-ratelimit-headers) and Retry-After.
func (e *Endpoint) checkQuota(client *catalog.Client, api *storage.API, now time.Time) error {
	cq, aq := e.cfg.Quota, e.cfg.APIQuota
	if cq == nil && aq == nil {
		return nil
	}
	key := throttle.ClientAPI{Client: client.ClientID, API: api.Identifier}
	if cq != nil {
		if v := cq.Check(client.ClientID, now); !v.OK {
			return quotaSpent("the client's token quota of "+v.Policy.String()+" is spent; retry later", cq.PolicyHeader(), v)
		}
	}
	if aq != nil {
		// Take checks first and spends nothing when refused.
		if v := aq.Take(key, now); !v.OK {
			return quotaSpent("the client's token quota of "+v.Policy.String()+" for this API is spent; retry later", aq.PolicyHeader(), v)
		}
	}
	if cq != nil {
		cq.Take(client.ClientID, now)
	}
	return nil
}

func quotaSpent(desc, policy string, v throttle.Verdict) *oauth.Error {
	err := tooManyRequests(desc, v.RetryAfter)
	err.Header = http.Header{"Ratelimit-Policy": {policy}, "Ratelimit": {v.Header()}}
	return err
}

// methodAllowed reports whether a client may authenticate with method
// (RFC 7591 §2 token_endpoint_auth_method). A client registered for
// client_secret_basic must use it; one registered for client_secret_post,
// which is also what a client registered with no method is stored as, may
// use either (docs/reference/protocol.md accepts both). A client that
// authenticates with credentials (client_authentication_methods) or keys
// at a jwks_uri has no use for a secret, as in Auth0, where those and
// token_endpoint_auth_method exclude each other.
func methodAllowed(c *catalog.Client, method string) bool {
	if !c.AuthMethods.IsZero() || c.JWKSURI != "" || c.TokenEndpointAuthMethod == storage.AuthMethodPrivateKeyJWT {
		return false
	}
	return c.TokenEndpointAuthMethod != storage.AuthMethodClientSecretBasic || method == oauth.AuthClientSecretBasic
}

// clientAddr is the request's client address as the server's middleware
// resolved it (trusted proxies honoured; package clientip).
func clientAddr(r *http.Request) netip.Addr { return clientip.FromRequest(r) }
