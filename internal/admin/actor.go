package admin

import "context"

type actorKey struct{}

// WithActor returns ctx naming who performs the operations done with it:
// the client ID of a management API token, for the audit trail (ARCHITECTURE.md:
// an audit event records its actor). The command line, acting on the
// database directly, names no actor.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// Actor returns the actor WithActor put in ctx, or "" for none.
func Actor(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

type viaKey struct{}

// WithPerson returns ctx naming a person (user ID) as the actor of the
// operations done with it, acting through the client clientID: a person's
// management API token. The audit event names the person as its actor and
// the client in its details (client_id).
func WithPerson(ctx context.Context, userID, clientID string) context.Context {
	return context.WithValue(WithActor(ctx, userID), viaKey{}, clientID)
}

// Via returns the client WithPerson put in ctx, or "" for none.
func Via(ctx context.Context) string {
	c, _ := ctx.Value(viaKey{}).(string)
	return c
}
