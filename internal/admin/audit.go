package admin

import (
	"context"
	"maps"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Auditor records admin changes in the audit trail (package audit; ARCHITECTURE.md
// §2: every admin change with its actor, never a secret).
type Auditor interface {
	Audit(ctx context.Context, e storage.AuditEvent) error
}

// record writes one successful change to the auditor, if any. The actor is
// WithActor's, or storage.ActorCLI when none is set (the command line acting
// on the database). A failed write is the auditor's to log; the change
// itself has been made and stands.
func (s *Service) record(ctx context.Context, action, target string, details map[string]string) {
	if s.Audit == nil {
		return
	}
	actor := Actor(ctx)
	if actor == "" {
		actor = storage.ActorCLI
	}
	if via := Via(ctx); via != "" {
		details = maps.Clone(details)
		if details == nil {
			details = map[string]string{}
		}
		details["client_id"] = via
	}
	_ = s.Audit.Audit(ctx, storage.AuditEvent{
		Time: s.now(), Actor: actor, Action: action, Target: target, Outcome: storage.OutcomeSuccess, Details: details,
	})
}

func joinScopes(scopes []string) string { return strings.Join(scopes, " ") }

// apiFields names the fields p changes, for the audit event (values are
// not secret, but names keep the event small).
func apiFields(p APIPatch) string {
	var f []string
	add := func(set bool, name string) {
		if set {
			f = append(f, name)
		}
	}
	add(p.Name != nil, "name")
	add(p.Scopes != nil, "scopes")
	add(p.TokenLifetime != nil, "token_lifetime")
	add(p.SigningAlg != nil, "signing_alg")
	add(p.TokenDialect != nil, "token_dialect")
	add(p.UserPolicy != nil || p.ClientPolicy != nil, "subject_type_authorization")
	add(p.EnforcePolicies != nil, "enforce_policies")
	return strings.Join(f, ",")
}

// clientFields names the fields p changes.
func clientFields(p ClientPatch) string {
	var f []string
	add := func(set bool, name string) {
		if set {
			f = append(f, name)
		}
	}
	add(p.Name != nil, "name")
	add(p.Description != nil, "description")
	add(p.Metadata != nil, "metadata")
	add(p.TokenEndpointAuthMethod != nil, "token_endpoint_auth_method")
	add(p.Disabled != nil, "disabled")
	add(p.WebOrigins != nil, "web_origins")
	add(p.AuthMethods != nil, "client_authentication_methods")
	add(p.JWKSURI != nil, "jwks_uri")
	return strings.Join(f, ",")
}
