package interop_test

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Schedule of TestPostgresScheduledRotation: keys sign for rotationPeriod;
// the check interval derives from it (a tenth: 600ms).
const (
	rotationPeriod = 6 * time.Second
	rotationMaxAge = 2 * time.Second
)

// rotationsLogged returns the algorithms of the scheduled rotations that p
// logged, one entry per rotation.
func rotationsLogged(t *testing.T, p *proc) []string {
	t.Helper()
	var algs []string
	for _, line := range p.stderr.all() {
		var rec struct{ Msg, Alg string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "signing keys rotated on schedule" {
			algs = append(algs, rec.Alg)
		}
	}
	return algs
}

// TestPostgresScheduledRotation runs two `gatehouse serve` processes on one
// PostgreSQL schema with a short key rotation period. Both check for due keys
// several times a second; when the period has passed exactly one of them
// rotates each algorithm (the key-rotation lease), the other picks the new
// keys up from the change feed, and both publish the same JWKS and sign with
// the new current keys.
func TestPostgresScheduledRotation(t *testing.T) {
	in := postgresInstance(t)
	// No key is older than t0, so no second rotation is due before
	// t0 + 2 periods.
	t0 := time.Now()
	rs, es := in.newAPI(t, "RS256"), in.newAPI(t, "ES256") // creates the ES256 keys
	c := in.newClient(t, "rotating")
	in.grant(t, c, rs)
	in.grant(t, c, es)

	args := []string{"--addr", "127.0.0.1:0", "--log-level", "debug", "--key-rotation-period", rotationPeriod.String(), "--jwks-max-age", rotationMaxAge.String()}
	servers := make([]*proc, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, name := range []string{"instance A", "instance B"} {
		wg.Go(func() { servers[i], errs[i] = start(name, in, args...) })
	}
	wg.Wait()
	for i, p := range servers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		t.Cleanup(p.kill)
	}
	started := time.Now()
	keys := func() map[string]map[string][]string { // alg → state → kids
		t.Helper()
		r := in.run(t, nil, "key", "list", "--json")
		if r.code != 0 {
			t.Fatalf("key list: exit %d: %s", r.code, r.stderr)
		}
		out := map[string]map[string][]string{}
		for _, k := range decodeKeys(t, r.stdout) {
			alg, state := str(k, "alg"), str(k, "state")
			if out[alg] == nil {
				out[alg] = map[string][]string{}
			}
			out[alg][state] = append(out[alg][state], str(k, "kid"))
		}
		return out
	}
	before := keys()
	for _, alg := range []string{"RS256", "ES256"} {
		if len(before[alg]["current"]) != 1 || len(before[alg]["next"]) != 1 || len(before[alg]["previous"]) != 0 {
			t.Fatalf("%s keys at start: %v, want one current and one next", alg, before[alg])
		}
	}
	for _, p := range servers {
		if got := rotationsLogged(t, p); len(got) != 0 {
			t.Fatalf("%s rotated at start: %v", p.name, got)
		}
	}

	// Wait until both publish six keys (per algorithm previous, current and
	// a new next); the period plus two check intervals, plus a margin.
	var jwks []string
	deadline := started.Add(rotationPeriod + 5*time.Second)
	for {
		a, b := servers[0].jwksKids(t), servers[1].jwksKids(t)
		if len(a) == 6 && sameSet(a, b) {
			jwks = a
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rotation published by both within %s of the start: %s publishes %v, %s publishes %v",
				time.Since(started).Round(time.Millisecond), servers[0].name, a, servers[1].name, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("both publish the rotated JWKS %s after the start", time.Since(started).Round(time.Millisecond))

	after := keys()
	var want []string
	for _, alg := range []string{"RS256", "ES256"} {
		k := after[alg]
		if !slices.Equal(k["previous"], before[alg]["current"]) || !slices.Equal(k["current"], before[alg]["next"]) ||
			len(k["next"]) != 1 || len(k["retired"]) != 0 {
			t.Errorf("%s keys after the period: %v, want one rotation of %v", alg, k, before[alg])
		}
		want = append(want, k["previous"]...)
		want = append(want, k["current"]...)
		want = append(want, k["next"]...)
	}
	if !sameSet(jwks, want) {
		t.Errorf("both publish %v, want the stored previous, current and next keys %v", jwks, want)
	}

	// Exactly one rotation per algorithm, by one instance or the other. The
	// lines may reach stderr up to --log-flush-interval (50 ms) after the
	// keys reach the JWKS: wait a little for the two.
	var all []string
	for wait := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		all = nil
		for _, p := range servers {
			all = append(all, rotationsLogged(t, p)...)
		}
		if len(all) >= 2 || time.Now().After(wait) {
			break
		}
	}
	for _, p := range servers {
		t.Logf("%s rotated %v", p.name, rotationsLogged(t, p))
	}
	if elapsed := time.Since(t0); elapsed >= 2*rotationPeriod {
		t.Fatalf("the logs were read %s after the keys were created, when a second rotation may be due: the machine is too slow for this test", elapsed)
	}
	slices.Sort(all)
	if !slices.Equal(all, []string{"ES256", "RS256"}) {
		t.Errorf("the instances logged the rotations %v, want ES256 and RS256 once each", all)
	}

	// Both sign with the new current keys, and each one's tokens verify
	// with the other's JWKS.
	ctx := ctxWithClient(t)
	for _, pair := range [][2]*proc{{servers[0], servers[1]}, {servers[1], servers[0]}} {
		remote := oidc.NewRemoteKeySet(ctx, pair[1].base()+"/.well-known/jwks.json")
		for alg, aud := range map[string]string{"RS256": rs, "ES256": es} {
			tok := pair[0].token(t, c, aud)
			if kid := str(jwtPart(t, tok, 0), "kid"); kid != after[alg]["current"][0] {
				t.Errorf("%s signs %s tokens with %s, want the new current key %s", pair[0].name, alg, kid, after[alg]["current"][0])
			}
			if _, err := remote.VerifySignature(ctx, tok); err != nil {
				t.Errorf("a %s token of %s does not verify with the JWKS of %s: %v", alg, pair[0].name, pair[1].name, err)
			}
		}
	}
	for _, p := range servers {
		refused := 0
		for _, line := range p.stderr.all() {
			if strings.Contains(line, "another instance holds the rotation lease") {
				refused++
			}
		}
		t.Logf("%s found the rotation lease taken %d times; %d log lines", p.name, refused, len(p.stderr.all()))
	}
	if t.Failed() {
		for _, p := range servers {
			t.Log(strings.Join(p.stderr.all(), "\n"))
		}
	}
}
