// Package audit records the audit trail (ARCHITECTURE.md, issue 5): who was given
// access to what, who failed to authenticate, who changed what and when keys
// rotated. Every event is stored append-only (storage.Storage.AppendAudit)
// and written as one structured log line (msg=audit). Events of the token
// hot path are queued in memory and written in batches by a background
// goroutine, so issuance never waits on the database (ARCHITECTURE.md); a full
// queue drops events and counts them. Admin changes, being rare, are written
// at once. Never a secret, a token or a key is recorded.
package audit
