package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxTokenSeries caps the client × audience pairs that get their own
// tokens_issued series; issuance beyond it is counted under Other.
const DefaultMaxTokenSeries = 2000

// Other is the label value that stands for any client or audience past the
// series cap, and for an unknown failure reason.
const Other = "other"

// Authentication failure reasons (RFC 6749 §5.2 invalid_client, split into
// classes an operator can act on; never the secret itself). The token
// endpoint passes one of these to Token.AuthFailed.
const (
	ReasonMissingCredentials = "missing_credentials" // no client_id or no secret sent
	ReasonUnknownClient      = "unknown_client"      // client_id names no client
	ReasonInvalidSecret      = "invalid_secret"      // no secret of the client matches
	ReasonInactiveSecret     = "inactive_secret"     // matches a secret that has expired or is not yet active
	ReasonDisabledClient     = "disabled_client"     // the client is disabled
	ReasonThrottled          = "throttled"           // refused by brute-force protection before checking
	ReasonWrongAuthMethod    = "wrong_auth_method"   // the right secret, by a method the client is not registered for
	// A client assertion (RFC 7523 §2.2): one that is malformed, names an
	// unknown key or whose signature does not verify; one whose signature
	// verifies but whose claims (iss, sub, aud, exp, nbf, iat, jti) do not
	// hold; and one whose jti was used before.
	ReasonInvalidAssertion  = "invalid_assertion"
	ReasonAssertionClaims   = "assertion_claims"
	ReasonReplayedAssertion = "replayed_assertion"
)

var reasons = []string{ReasonMissingCredentials, ReasonUnknownClient, ReasonInvalidSecret,
	ReasonInactiveSecret, ReasonDisabledClient, ReasonThrottled, ReasonWrongAuthMethod,
	ReasonInvalidAssertion, ReasonAssertionClaims, ReasonReplayedAssertion}

// Token holds the token endpoint's counters. Its methods are safe for
// concurrent use and cheap enough for the hot path (one map lookup and an
// atomic add once a pair has been seen).
//
// The token endpoint calls Issued after a successful issuance, with the
// authenticated client and the API the token is for — both registered
// objects, so callers cannot invent label values — and AuthFailed with one
// of the Reason constants when client authentication fails.
type Token struct {
	issued   *prometheus.CounterVec
	failures *prometheus.CounterVec
	max      int

	series seriesCache[pair, prometheus.Counter]
	other  prometheus.Counter
}

type pair struct{ client, audience string }

func newToken(max int) *Token {
	t := &Token{
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "tokens_issued_total",
			Help: "Access tokens issued, by client_id and audience (pairs beyond the series cap count as client_id=audience=\"other\").",
		}, []string{"client_id", "audience"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "token_auth_failures_total",
			Help: "Failed client authentications at the token endpoint, by reason class.",
		}, []string{"reason"}),
		max: max,
	}
	t.other = t.issued.WithLabelValues(Other, Other)
	for _, r := range reasons {
		t.failures.WithLabelValues(r)
	}
	t.failures.WithLabelValues(Other)
	return t
}

func (t *Token) register(reg prometheus.Registerer) {
	reg.MustRegister(t.issued, t.failures)
}

// Issued counts one access token issued to clientID for audience.
func (t *Token) Issued(clientID, audience string) {
	t.series.get(pair{clientID, audience}, func(held int) (prometheus.Counter, bool) {
		if held >= t.max {
			return t.other, false
		}
		return t.issued.WithLabelValues(clientID, audience), true
	}).Inc()
}

// AuthFailed counts one failed client authentication; reason is one of the
// Reason constants (anything else counts as Other).
func (t *Token) AuthFailed(reason string) {
	known := false
	for _, r := range reasons {
		if r == reason {
			known = true
			break
		}
	}
	if !known {
		reason = Other
	}
	t.failures.WithLabelValues(reason).Inc()
}
