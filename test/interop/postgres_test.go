package interop_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// postgresInstance returns a deployment on a schema of its own in the test
// PostgreSQL, dropped at cleanup: the DSN carries it as search_path. The
// server is testutil.PostgresDSN's: without one the test is skipped, unless
// GATEHOUSE_REQUIRE_POSTGRES=1; a server named but unreachable fails it.
func postgresInstance(t *testing.T) instance {
	t.Helper()
	dsn, _ := testutil.PostgresSchema(t, "gh_interop_")
	return instance{db: dsn, masterKey: newMasterKey()}
}

// within polls cond on every server until it holds on all of them, and
// returns how long after since that was; it fails the test if that takes
// longer than limit.
func within(t *testing.T, since time.Time, limit time.Duration, what string, servers []*proc, cond func(p *proc) (bool, string)) time.Duration {
	t.Helper()
	pending := slices.Clone(servers)
	var worst time.Duration
	for len(pending) > 0 {
		var last string
		pending = slices.DeleteFunc(pending, func(p *proc) bool {
			ok, state := cond(p)
			if ok {
				worst = max(worst, time.Since(since))
			}
			last = p.name + ": " + state
			return ok
		})
		if len(pending) > 0 && time.Since(since) > limit {
			t.Fatalf("%s: not on every server %s after the command exited; %s", what, limit, last)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("%s: on every server %s after the command exited", what, worst.Round(time.Millisecond))
	return worst
}

// TestPostgresInstances runs two `gatehouse serve` processes on one
// PostgreSQL schema, polling only once a second so that changes travel by
// LISTEN/NOTIFY: what the command line changes reaches both within one
// second (ARCHITECTURE.md), and both sign and publish the same keys.
func TestPostgresInstances(t *testing.T) {
	in := postgresInstance(t)
	// Both start at once on the empty schema: both migrate, both ensure
	// signing keys, one of each pair of racing writes wins.
	servers := make([]*proc, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, name := range []string{"instance A", "instance B"} {
		wg.Go(func() { servers[i], errs[i] = start(name, in, "--addr", "127.0.0.1:0", "--sync-interval", "1s") })
	}
	wg.Wait()
	for i, p := range servers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		t.Cleanup(p.kill)
	}
	a, b := servers[0], servers[1]

	aud := in.newAPI(t, "ES256")
	c := in.newClient(t, "scaled")
	extra := c
	added := in.admin(t, "client", "secret", "add", c.id)
	extra.secret, extra.secretID = str(added, "client_secret"), str(added, "id")
	other := in.newClient(t, "other")
	in.grant(t, other, aud)

	issues := func(cl client) func(p *proc) (bool, string) {
		return func(p *proc) (bool, string) {
			r, err := p.postToken(cl, aud)
			if err != nil {
				t.Fatal(err)
			}
			return r.status == http.StatusOK, r.String()
		}
	}
	refuses := func(cl client) func(p *proc) (bool, string) {
		return func(p *proc) (bool, string) {
			r, err := p.postToken(cl, aud)
			if err != nil {
				t.Fatal(err)
			}
			if r.status != http.StatusOK && (r.status != http.StatusUnauthorized || str(r.body, "error") != "invalid_client") {
				t.Fatalf("%s refused with %s, want 401 invalid_client", p.name, r)
			}
			return r.status == http.StatusUnauthorized, r.String()
		}
	}

	t.Run("a client created through the command line is usable on both once granted", func(t *testing.T) {
		r := in.run(t, nil, "grant", "create", "--client", c.id, "--audience", aud)
		if r.code != 0 {
			t.Fatalf("grant create: exit %d: %s", r.code, r.stderr)
		}
		within(t, r.exited, propagation, "the grant", servers, issues(c))
		within(t, r.exited, propagation, "the second secret", servers, issues(extra))
	})

	t.Run("a token minted by one verifies with the other's JWKS", func(t *testing.T) {
		ctx := ctxWithClient(t)
		for _, pair := range [][2]*proc{{a, b}, {b, a}} {
			tok := pair[0].token(t, c, aud)
			keys := oidc.NewRemoteKeySet(ctx, pair[1].base()+"/.well-known/jwks.json")
			if _, err := keys.VerifySignature(ctx, tok); err != nil {
				t.Errorf("a token of %s does not verify with the JWKS of %s: %v", pair[0].name, pair[1].name, err)
			}
		}
	})

	tests := []struct {
		name  string
		args  []string
		creds client
		cond  func(client) func(p *proc) (bool, string)
	}{
		{"a revoked secret is refused by both", []string{"client", "secret", "revoke", c.id, c.secretID}, c, refuses},
		{"a disabled client is refused by both", []string{"client", "disable", other.id}, other, refuses},
		{"a client enabled again is served by both", []string{"client", "enable", other.id}, other, issues},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := in.run(t, nil, tc.args...)
			if r.code != 0 {
				t.Fatalf("gatehouse %s: exit %d: %s", strings.Join(tc.args, " "), r.code, r.stderr)
			}
			within(t, r.exited, propagation, tc.name, servers, tc.cond(tc.creds))
			// The client's other secret is untouched.
			within(t, r.exited, propagation, "the other secret still works", servers, issues(extra))
		})
	}

	t.Run("a rotation is published by both", func(t *testing.T) {
		before := a.jwksKids(t)
		if got := b.jwksKids(t); !sameSet(before, got) {
			t.Fatalf("the instances publish different keys: %v and %v", before, got)
		}
		r := in.run(t, nil, "key", "rotate", "--force", "--json")
		if r.code != 0 {
			t.Fatalf("key rotate: exit %d: %s", r.code, r.stderr)
		}
		var want []string
		for _, k := range decodeKeys(t, r.stdout) {
			if k["state"] != "retired" {
				want = append(want, str(k, "kid"))
			}
		}
		within(t, r.exited, propagation, "the rotated JWKS", servers, func(p *proc) (bool, string) {
			got := p.jwksKids(t)
			return sameSet(got, want), strings.Join(got, " ")
		})
		// Both sign with the new current key: the next key of before.
		var current string
		for _, k := range decodeKeys(t, r.stdout) {
			if k["state"] == "current" && k["alg"] == "ES256" {
				current = str(k, "kid")
			}
		}
		for _, p := range servers {
			if kid := str(jwtPart(t, p.token(t, extra, aud), 0), "kid"); kid != current {
				t.Errorf("%s signs with %s, want the new current key %s", p.name, kid, current)
			}
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// decodeKeys decodes the --json output of a key command.
func decodeKeys(t *testing.T, out string) []map[string]any {
	t.Helper()
	var keys []map[string]any
	if err := json.Unmarshal([]byte(out), &keys); err != nil {
		t.Fatalf("key list --json: %v in %q", err, out)
	}
	return keys
}
