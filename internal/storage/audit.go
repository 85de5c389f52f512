package storage

import (
	"errors"
	"fmt"
	"time"
)

// Audit actions (DESIGN §2: an audit event records who did what). Actions are
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

// AuditEvent is one entry of the append-only audit trail (DESIGN §2): at
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
// target is that client; Since is inclusive and Until exclusive (zero: no
// bound); Limit (0: no limit) keeps the newest events.
type AuditFilter struct {
	ClientID string
	Since    time.Time
	Until    time.Time
	Limit    int
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
