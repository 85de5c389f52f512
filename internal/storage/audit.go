package storage

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Audit actions (ARCHITECTURE.md: an audit event records who did what). Actions are
// dotted names, the object first.
const (
	AuditTokenIssued      = "token.issued"
	AuditAuthFailed       = "auth.failed"
	AuditAPICreated       = "api.created"
	AuditAPIUpdated       = "api.updated"
	AuditAPIDeleted       = "api.deleted"
	AuditClientCreated    = "client.created"
	AuditClientUpdated    = "client.updated"
	AuditClientDeleted    = "client.deleted"
	AuditClientDisabled   = "client.disabled"
	AuditClientEnabled    = "client.enabled"
	AuditSecretAdded      = "secret.added"
	AuditSecretRotated    = "secret.rotated"
	AuditSecretRevoked    = "secret.revoked"
	AuditGrantCreated     = "grant.created"
	AuditGrantUpdated     = "grant.updated"
	AuditGrantDeleted     = "grant.deleted"
	AuditKeyRotated       = "key.rotated"
	AuditRetentionCleanup = "audit.retention"
)

// A federated credential added to or removed from a client.
const (
	AuditFederationAdded   = "federation.added"
	AuditFederationRemoved = "federation.removed"
)

// Audit actions of client credentials: a public key or certificate added,
// its name or expiry changed, or deleted.
const (
	AuditCredentialAdded   = "credential.added"
	AuditCredentialUpdated = "credential.updated"
	AuditCredentialDeleted = "credential.deleted"
)

// Audit outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Audit actors that are not a client.
const (
	ActorCLI    = "cli"    // the command line, acting on the database directly
	ActorSystem = "system" // gatehouse itself (scheduled key rotation, retention)
)

// AuditEvent is one entry of the append-only audit trail (ARCHITECTURE.md): at
// Time, Actor (a client ID, ActorCLI or ActorSystem) did Action to Target
// with Outcome, from RemoteAddr in the request RequestID. Details holds a
// few non-secret facts (for an issued token: client, audience, scope, jti;
// for a failure: a reason class); never a secret, a token or a key. ID is
// assigned by the store, increasing in the order of appends.
type AuditEvent struct {
	ID         int64
	Time       time.Time
	Actor      string
	Action     string
	Target     string
	Outcome    string
	RemoteAddr string
	RequestID  string
	Details    map[string]string
}

// AuditFilter narrows ListAudit. ClientID matches events whose actor or
// target is that client; Actor and Action match exactly when not empty;
// Since is inclusive and Until exclusive (zero: no bound); Limit (0: no
// limit) keeps the newest events after skipping the Offset newest (a
// page of the trail; Offset counts only with a Limit).
type AuditFilter struct {
	ClientID string
	Actor    string
	Action   string
	Since    time.Time
	Until    time.Time
	Limit    int
	Offset   int
}

// CheckAuditEvent reports what makes e unfit to store: a zero time, or an
// empty actor, action or outcome.
func CheckAuditEvent(e AuditEvent) error {
	switch {
	case e.Time.IsZero():
		return errors.New("audit event: the time is zero")
	case e.Actor == "":
		return fmt.Errorf("audit event %s: the actor is empty", e.Action)
	case e.Action == "":
		return errors.New("audit event: the action is empty")
	case e.Outcome == "":
		return fmt.Errorf("audit event %s: the outcome is empty", e.Action)
	}
	return nil
}

// TokenActions are the audit actions of the token endpoint's hot path, one
// event per request: they are kept for a short retention
// (DeleteTokenEventsBefore), their hourly counts (TokenCount) for long.
var TokenActions = []string{AuditTokenIssued, AuditAuthFailed}

// TokenCount is the token endpoint's activity for one client and one API in
// one hour: tokens issued (Reused of them handed out again by token reuse)
// and requests refused (a failed client authentication, whose Audience is
// empty: it is refused before the audience is read). ClientID is the
// token.UnknownActor "unknown" for a client_id that names no client.
type TokenCount struct {
	Hour                    time.Time // the start of the hour, UTC
	ClientID                string
	Audience                string
	Issued, Reused, Refused int64
}

// TokenCountFilter narrows ListTokenCounts: ClientID and Audience match
// exactly when not empty; Since is inclusive and Until exclusive (zero: no
// bound), compared with the hour's start.
type TokenCountFilter struct {
	ClientID string
	Audience string
	Since    time.Time
	Until    time.Time
}

// CheckTokenCount reports what makes c unfit to store: an hour that is not
// the start of a UTC hour, an empty client, or a negative count.
func CheckTokenCount(c TokenCount) error {
	switch {
	case c.Hour.IsZero() || !c.Hour.Equal(c.Hour.Truncate(time.Hour)):
		return fmt.Errorf("token count: %s is not the start of an hour", c.Hour)
	case c.ClientID == "":
		return errors.New("token count: the client is empty")
	case c.Issued < 0 || c.Reused < 0 || c.Refused < 0 || c.Reused > c.Issued:
		return fmt.Errorf("token count of %s: issued %d, reused %d, refused %d", c.ClientID, c.Issued, c.Reused, c.Refused)
	}
	return nil
}

// SortTokenCounts returns counts ordered by hour, client and audience,
// the order in which a backend that locks rows should add them.
func SortTokenCounts(counts []TokenCount) []TokenCount {
	out := slices.Clone(counts)
	slices.SortFunc(out, func(a, b TokenCount) int {
		return cmp.Or(a.Hour.Compare(b.Hour), strings.Compare(a.ClientID, b.ClientID), strings.Compare(a.Audience, b.Audience))
	})
	return out
}
