package cli_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
)

// testMasterKey is a fixed GATEHOUSE_MASTER_KEY: 32 bytes, base64.
var testMasterKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 32))

// t0 is the harness clock's start: whole seconds, so RFC 3339 output is exact.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// harness runs the command line in-process against its own SQLite database
// in a temporary directory, with a fixed master key and a clock the test
// moves. It never reads the process environment or the working directory.
type harness struct {
	t   *testing.T
	dir string
	db  string
	env map[string]string
	now time.Time
}

// newHarness is a harness whose database exists (gatehouse migrate), as
// the admin commands need.
func newHarness(t *testing.T) *harness {
	t.Helper()
	h := newEmptyHarness(t)
	h.ok("migrate")
	return h
}

// newEmptyHarness is a harness with no database yet.
func newEmptyHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{t: t, dir: dir, db: "sqlite:" + filepath.Join(dir, "g.db"), now: t0}
	h.env = map[string]string{"GATEHOUSE_MASTER_KEY": testMasterKey, "GATEHOUSE_DB": h.db}
	return h
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

// use makes h report to t (a subtest) until the returned function runs.
func (h *harness) use(t *testing.T) func() {
	old := h.t
	h.t = t
	return func() { h.t = old }
}

func (h *harness) run(args ...string) result {
	var out, errb bytes.Buffer
	code := cli.Main(args, cli.Env{
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string { return h.env[k] },
		Now:    func() time.Time { return h.now },
	})
	return result{out.String(), errb.String(), code}
}

// ok runs a command that must succeed and returns its standard output.
// Standard error may only hold the "store the secret now" notice and, after
// a change, the one that says when running servers apply it.
func (h *harness) ok(args ...string) string {
	h.t.Helper()
	r := h.run(args...)
	if r.code != 0 {
		h.t.Fatalf("gatehouse %s: %s", strings.Join(args, " "), r)
	}
	for line := range strings.Lines(r.stderr) {
		if !strings.HasPrefix(line, "Store the client secret now") && !strings.HasPrefix(line, "Running servers on this database apply the change") {
			h.t.Fatalf("gatehouse %s: unexpected stderr %q", strings.Join(args, " "), r.stderr)
		}
	}
	return r.stdout
}

// json runs a command with --json that must succeed with an empty stderr and
// exactly one JSON value on stdout, and returns that value decoded (numbers
// as json.Number).
func (h *harness) json(args ...string) any {
	h.t.Helper()
	args = append(slices.Clone(args), "--json")
	r := h.run(args...)
	if r.code != 0 || r.stderr != "" {
		h.t.Fatalf("gatehouse %s: %s", strings.Join(args, " "), r)
	}
	v, err := decodeOne(r.stdout)
	if err != nil {
		h.t.Fatalf("gatehouse %s: %v in %q", strings.Join(args, " "), err, r.stdout)
	}
	return v
}

func decodeOne(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}

func (h *harness) object(args ...string) map[string]any {
	h.t.Helper()
	v := h.json(args...)
	m, ok := v.(map[string]any)
	if !ok {
		h.t.Fatalf("gatehouse %s --json: want an object, got %T", strings.Join(args, " "), v)
	}
	return m
}

func (h *harness) array(args ...string) []map[string]any {
	h.t.Helper()
	v := h.json(args...)
	list, ok := v.([]any)
	if !ok {
		h.t.Fatalf("gatehouse %s --json: want an array, got %T", strings.Join(args, " "), v)
	}
	out := make([]map[string]any, len(list))
	for i, e := range list {
		if out[i], ok = e.(map[string]any); !ok {
			h.t.Fatalf("gatehouse %s --json: element %d is %T, not an object", strings.Join(args, " "), i, e)
		}
	}
	return out
}

// snapshot is every object in the database as the command line lists it.
func (h *harness) snapshot(clientIDs ...string) string {
	h.t.Helper()
	var b strings.Builder
	lists := [][]string{{"api", "list"}, {"client", "list"}, {"grant", "list"}, {"key", "list"}}
	for _, id := range clientIDs {
		lists = append(lists, []string{"client", "secret", "list", id})
	}
	for _, args := range lists {
		r := h.run(append(args, "--json")...)
		if r.code != 0 {
			h.t.Fatalf("gatehouse %s: %s", strings.Join(args, " "), r)
		}
		b.WriteString(r.stdout)
	}
	return b.String()
}

// oneLineError returns what is wrong with r as the result of bad input:
// it must exit non-zero, print nothing on stdout and exactly one line,
// "gatehouse: ...", on stderr.
func oneLineError(r result) []string {
	var p []string
	if r.code == 0 {
		p = append(p, "exit code 0, want non-zero")
	}
	if r.stdout != "" {
		p = append(p, fmt.Sprintf("stdout %q, want nothing", r.stdout))
	}
	if !strings.HasSuffix(r.stderr, "\n") || strings.Count(r.stderr, "\n") != 1 {
		p = append(p, fmt.Sprintf("stderr %q is not exactly one line", r.stderr))
	}
	if !strings.HasPrefix(r.stderr, "gatehouse: ") {
		p = append(p, fmt.Sprintf("stderr %q does not start with %q", r.stderr, "gatehouse: "))
	}
	return p
}

// expect reports every problem.
func expect(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

// The --json shapes of docs/reference/cli.md.

type kind int

const (
	kString kind = iota
	kInt
	kBool
	kStrings // array of strings
	kScopes  // array of {value, description}
	kTime    // RFC 3339 UTC string
	kTimeOrNull
)

type shape map[string]kind

var (
	apiShape = shape{"identifier": kString, "name": kString, "scopes": kScopes, "token_lifetime": kInt,
		"signing_alg": kString, "token_dialect": kString, "created_at": kTime, "user_access": kString, "client_access": kString}
	clientShape = shape{"client_id": kString, "name": kString, "description": kString, "grant_types": kStrings,
		"disabled": kBool, "created_at": kTime, "auth_method": kString}
	newClientShape = with(clientShape, "client_secret", kString)
	secretShape    = shape{"id": kString, "hint": kString, "created_at": kTime, "not_before": kTimeOrNull,
		"expires_at": kTimeOrNull, "last_used_at": kTimeOrNull}
	newSecretShape = with(secretShape, "client_secret", kString)
	grantShape     = shape{"id": kString, "client_id": kString, "audience": kString, "scope": kStrings, "subject_type": kString}
	keyShape       = shape{"kid": kString, "alg": kString, "state": kString, "created_at": kTime}
)

func with(s shape, name string, k kind) shape {
	out := shape{name: k}
	for n, k := range s {
		out[n] = k
	}
	return out
}

// shapeProblems reports every way obj departs from want: missing or extra
// fields, wrong JSON types, times that are not RFC 3339 UTC.
func shapeProblems(obj map[string]any, want shape) []string {
	var p []string
	for name := range obj {
		if _, ok := want[name]; !ok {
			p = append(p, fmt.Sprintf("unexpected field %q", name))
		}
	}
	for name, k := range want {
		v, ok := obj[name]
		if !ok {
			p = append(p, fmt.Sprintf("missing field %q", name))
			continue
		}
		if msg := kindProblem(v, k); msg != "" {
			p = append(p, fmt.Sprintf("field %q = %#v: %s", name, v, msg))
		}
	}
	slices.Sort(p)
	return p
}

func kindProblem(v any, k kind) string {
	switch k {
	case kString:
		if _, ok := v.(string); !ok {
			return "want a string"
		}
	case kInt:
		n, ok := v.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			return "want an integer"
		}
	case kBool:
		if _, ok := v.(bool); !ok {
			return "want a boolean"
		}
	case kStrings:
		list, ok := v.([]any)
		if !ok {
			return "want an array of strings"
		}
		for _, e := range list {
			if _, ok := e.(string); !ok {
				return "want an array of strings"
			}
		}
	case kScopes:
		list, ok := v.([]any)
		if !ok {
			return "want an array of {value, description}"
		}
		for _, e := range list {
			m, ok := e.(map[string]any)
			if !ok || len(shapeProblems(m, shape{"value": kString, "description": kString})) > 0 {
				return "want an array of {value, description}"
			}
		}
	case kTimeOrNull:
		if v == nil {
			return ""
		}
		return kindProblem(v, kTime)
	case kTime:
		s, ok := v.(string)
		if !ok {
			return "want an RFC 3339 UTC time string"
		}
		if _, err := time.Parse(time.RFC3339, s); err != nil || !strings.HasSuffix(s, "Z") {
			return "want an RFC 3339 UTC time such as 2030-01-02T03:04:05Z"
		}
	}
	return ""
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// TestJSONShapes checks the --json output of every admin command against the
// field names and types of docs/reference/cli.md.
func TestJSONShapes(t *testing.T) {
	h := newHarness(t)
	api := h.object("api", "create", "--identifier", "https://shapes.test", "--name", "Shapes",
		"--scope", "read", "--scope", "write", "--token-lifetime", "2h", "--signing-alg", "EdDSA", "--token-dialect", "auth0")
	client := h.object("client", "create", "--name", "svc", "--description", "the service")
	id := str(client, "client_id")
	added := h.object("client", "secret", "add", id, "--expires-in", "1h")
	rotated := h.object("client", "secret", "rotate", id)
	grant := h.object("grant", "create", "--client", id, "--audience", "https://shapes.test", "--scope", "read")
	secrets := h.array("client", "secret", "list", id)

	objects := []struct {
		name string
		got  map[string]any
		want shape
	}{
		{"api create", api, apiShape},
		{"api show", h.object("api", "show", "https://shapes.test"), apiShape},
		{"client create", client, newClientShape},
		{"client show", h.object("client", "show", id), clientShape},
		{"client disable", h.object("client", "disable", id), clientShape},
		{"client enable", h.object("client", "enable", id), clientShape},
		{"secret add", added, newSecretShape},
		{"secret rotate", rotated, newSecretShape},
		{"grant create", grant, grantShape},
	}
	for _, tc := range objects {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range shapeProblems(tc.got, tc.want) {
				t.Error(p)
			}
		})
	}
	arrays := []struct {
		name string
		got  []map[string]any
		want shape
		len  int
	}{
		{"api list", h.array("api", "list"), apiShape, 1},
		{"client list", h.array("client", "list"), clientShape, 1},
		{"secret list", secrets, secretShape, 3},
		{"grant list", h.array("grant", "list"), grantShape, 1},
		{"grant list --client", h.array("grant", "list", "--client", id), grantShape, 1},
		{"key list", h.array("key", "list"), keyShape, 2},
	}
	for _, tc := range arrays {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.got) != tc.len {
				t.Errorf("%d elements, want %d", len(tc.got), tc.len)
			}
			for i, obj := range tc.got {
				for _, p := range shapeProblems(obj, tc.want) {
					t.Errorf("element %d: %s", i, p)
				}
			}
		})
	}

	t.Run("values", func(t *testing.T) {
		defer h.use(t)()
		want := map[string]any{
			"identifier": "https://shapes.test", "name": "Shapes", "token_lifetime": json.Number("7200"),
			"signing_alg": "EdDSA", "token_dialect": "auth0", "created_at": rfc3339(t0),
		}
		for k, v := range want {
			if api[k] != v {
				t.Errorf("api %s = %#v, want %#v", k, api[k], v)
			}
		}
		scopes, _ := json.Marshal(api["scopes"])
		if string(scopes) != `[{"description":"","value":"read"},{"description":"","value":"write"}]` {
			t.Errorf("api scopes = %s", scopes)
		}
		if str(client, "description") != "the service" || client["disabled"] != false ||
			!slices.Equal(toStrings(client["grant_types"]), []string{"client_credentials"}) {
			t.Errorf("client = %v", client)
		}
		if got := h.object("client", "disable", id)["disabled"]; got != true {
			t.Errorf("client disable: disabled = %v", got)
		}
		if got := h.object("client", "enable", id)["disabled"]; got != false {
			t.Errorf("client enable: disabled = %v", got)
		}
		if str(added, "expires_at") != rfc3339(t0.Add(time.Hour)) || added["not_before"] != nil || added["last_used_at"] != nil {
			t.Errorf("secret add --expires-in 1h = %v", added)
		}
		if !slices.Equal(toStrings(grant["scope"]), []string{"read"}) || str(grant, "client_id") != id ||
			str(grant, "audience") != "https://shapes.test" {
			t.Errorf("grant = %v", grant)
		}
		for _, k := range h.array("key", "list") {
			if str(k, "alg") != "EdDSA" {
				t.Errorf("key %v: an EdDSA API created a key of another algorithm", k)
			}
		}
	})

	t.Run("secret list shows no secret", func(t *testing.T) {
		defer h.use(t)()
		plains := []string{str(client, "client_secret"), str(added, "client_secret"), str(rotated, "client_secret")}
		for _, p := range plains {
			if len(p) < 32 {
				t.Fatalf("plain secret %q is too short to be one", p)
			}
		}
		listings := []string{h.run("client", "secret", "list", id, "--json").stdout, h.ok("client", "secret", "list", id)}
		for _, out := range listings {
			for _, p := range plains {
				if strings.Contains(out, p) || strings.Contains(out, p[len(p)/2:]) {
					t.Errorf("secret list shows (part of) a plain secret: %q", out)
				}
			}
		}
		ids := []string{}
		for _, s := range secrets {
			ids = append(ids, str(s, "id"))
		}
		if !slices.Contains(ids, str(added, "id")) || !slices.Contains(ids, str(rotated, "id")) {
			t.Errorf("secret list ids %v lack the added %q or rotated %q secret", ids, str(added, "id"), str(rotated, "id"))
		}
	})
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := []string{}
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// TestDefaults checks what api create fills in: RS256 (the only RSA keys the
// package generates), the rfc9068 dialect, 24 h and the identifier as name.
func TestDefaults(t *testing.T) {
	h := newHarness(t)
	api := h.object("api", "create", "--identifier", "urn:gatehouse:defaults")
	want := map[string]any{"identifier": "urn:gatehouse:defaults", "name": "urn:gatehouse:defaults",
		"token_lifetime": json.Number("86400"), "signing_alg": "RS256", "token_dialect": "rfc9068"}
	for k, v := range want {
		if api[k] != v {
			t.Errorf("%s = %#v, want %#v", k, api[k], v)
		}
	}
	if scopes, ok := api["scopes"].([]any); !ok || len(scopes) != 0 {
		t.Errorf("scopes = %#v, want []", api["scopes"])
	}
	var states []string
	for _, k := range h.array("key", "list") {
		if str(k, "alg") != "RS256" {
			t.Errorf("key %v is not RS256", k)
		}
		states = append(states, str(k, "state"))
	}
	slices.Sort(states)
	if !slices.Equal(states, []string{"current", "next"}) {
		t.Errorf("key states %v, want one current and one next", states)
	}
	// There is no ES256 key to rotate.
	before := h.snapshot()
	r := h.run("key", "rotate", "--alg", "ES256", "--force")
	problems := oneLineError(r)
	if !strings.Contains(r.stderr, "ES256") {
		problems = append(problems, fmt.Sprintf("stderr %q does not name ES256", r.stderr))
	}
	if h.snapshot() != before {
		problems = append(problems, "key rotate --alg ES256 changed the database")
	}
	expect(t, problems)
}

// TestTables checks the readable output: list commands print a header row
// and one row per object; show commands print "name: value" lines.
func TestTables(t *testing.T) {
	h := newHarness(t)
	h.ok("api", "create", "--identifier", "https://tables.test", "--scope", "read", "--signing-alg", "ES256")
	c := h.object("client", "create", "--name", "svc")
	id := str(c, "client_id")
	g := h.object("grant", "create", "--client", id, "--audience", "https://tables.test", "--scope", "read")
	sec := h.array("client", "secret", "list", id)[0]

	tests := []struct {
		name   string
		args   []string
		header []string // nil: a "name: value" listing
		fields []string // for "name: value" listings
		row    []string // values that must appear together on one row/line set
	}{
		{name: "api list", args: []string{"api", "list"},
			header: []string{"IDENTIFIER", "NAME", "SCOPES", "TOKEN_LIFETIME", "SIGNING_ALG", "TOKEN_DIALECT", "CREATED_AT"},
			row:    []string{"https://tables.test", "read", "86400", "ES256", "rfc9068", rfc3339(t0)}},
		{name: "client list", args: []string{"client", "list"},
			header: []string{"CLIENT_ID", "NAME", "GRANT_TYPES", "DISABLED", "CREATED_AT"},
			row:    []string{id, "svc", "client_credentials", "false", rfc3339(t0)}},
		{name: "secret list", args: []string{"client", "secret", "list", id},
			header: []string{"ID", "HINT", "CREATED_AT", "NOT_BEFORE", "EXPIRES_AT", "LAST_USED_AT"},
			row:    []string{str(sec, "id"), str(sec, "hint"), rfc3339(t0)}},
		{name: "grant list", args: []string{"grant", "list"},
			header: []string{"ID", "CLIENT_ID", "AUDIENCE", "SCOPE", "SUBJECT_TYPE"},
			row:    []string{str(g, "id"), id, "https://tables.test", "read", "client"}},
		{name: "key list", args: []string{"key", "list"},
			header: []string{"KID", "ALG", "STATE", "CREATED_AT"},
			row:    []string{"ES256", "current", rfc3339(t0)}},
		{name: "api show", args: []string{"api", "show", "https://tables.test"},
			fields: []string{"identifier", "name", "scopes", "token_lifetime", "signing_alg", "token_dialect", "user_access", "client_access", "enforce_policies", "proof_of_possession", "created_at"},
			row:    []string{"https://tables.test", "ES256"}},
		{name: "client show", args: []string{"client", "show", id},
			fields: []string{"client_id", "name", "description", "grant_types", "disabled", "require_proof_of_possession", "created_at", "auth_method"},
			row:    []string{id, "svc", "client_credentials"}},
		{name: "version", args: []string{"version"}, fields: []string{"version", "commit", "go", "sqlite_schema_version", "postgres_schema_version"}},
		{name: "migrate", args: []string{"migrate"}, fields: []string{"schema_version"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer h.use(t)()
			out := h.ok(tc.args...)
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if tc.header != nil {
				if got := strings.Fields(lines[0]); !slices.Equal(got, tc.header) {
					t.Errorf("header %q, want %q", got, tc.header)
				}
				found := false
				for _, l := range lines[1:] {
					if containsAll(l, tc.row) {
						found = true
					}
				}
				if !found {
					t.Errorf("no row holds all of %q:\n%s", tc.row, out)
				}
				return
			}
			var names []string
			for _, l := range lines {
				name, _, ok := strings.Cut(l, ":")
				if !ok {
					t.Errorf("line %q is not \"name: value\"", l)
				}
				names = append(names, name)
			}
			if !slices.Equal(names, tc.fields) {
				t.Errorf("fields %q, want %q", names, tc.fields)
			}
			if !containsAll(out, tc.row) {
				t.Errorf("output lacks one of %q:\n%s", tc.row, out)
			}
		})
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestBadInput checks that bad input exits non-zero with one line on stderr
// and changes nothing in the database.
func TestBadInput(t *testing.T) {
	h := newHarness(t)
	h.ok("api", "create", "--identifier", "https://bad.test", "--scope", "read", "--scope", "write", "--signing-alg", "ES256")
	c := h.object("client", "create", "--name", "svc")
	id := str(c, "client_id")
	h.ok("grant", "create", "--client", id, "--audience", "https://bad.test", "--scope", "read")
	h.ok("api", "create", "--identifier", "https://nogrant.test", "--signing-alg", "ES256")
	later := rfc3339(t0.Add(2 * time.Hour))

	tests := []struct {
		name string
		args []string
		want string // a part of the error line, case-insensitive
		env  map[string]string
	}{
		{name: "unknown flag", args: []string{"api", "list", "--frobnicate"}, want: "unknown flag: --frobnicate"},
		{name: "unknown flag on create", args: []string{"client", "create", "--name", "x", "--secret", "s"}, want: "unknown flag: --secret"},
		{name: "unknown command", args: []string{"frobnicate"}, want: `unknown command "frobnicate"`},
		{name: "unknown api subcommand", args: []string{"api", "frobnicate"}, want: "frobnicate"},
		{name: "unknown secret subcommand", args: []string{"client", "secret", "frobnicate", id}, want: "frobnicate"},
		{name: "identifier with white space", args: []string{"api", "create", "--identifier", "orders api", "--signing-alg", "ES256"}, want: "white space"},
		{name: "identifier with fragment", args: []string{"api", "create", "--identifier", "https://x.test/#f", "--signing-alg", "ES256"}, want: "fragment"},
		{name: "identifier empty", args: []string{"api", "create", "--identifier", "", "--signing-alg", "ES256"}, want: "identifier"},
		{name: "identifier duplicate", args: []string{"api", "create", "--identifier", "https://bad.test", "--signing-alg", "ES256"}, want: "already exists"},
		{name: "identifier duplicate with a new alg", args: []string{"api", "create", "--identifier", "https://bad.test", "--signing-alg", "EdDSA"}, want: "already exists"},
		{name: "token lifetime 0", args: []string{"api", "create", "--identifier", "https://zero.test", "--signing-alg", "ES256", "--token-lifetime", "0"}, want: "lifetime"},
		{name: "token lifetime 31 days", args: []string{"api", "create", "--identifier", "https://long.test", "--signing-alg", "ES256", "--token-lifetime", "744h"}, want: "lifetime"},
		{name: "token lifetime negative", args: []string{"api", "create", "--identifier", "https://neg.test", "--signing-alg", "ES256", "--token-lifetime", "-1h"}, want: "lifetime"},
		{name: "token lifetime fractional", args: []string{"api", "create", "--identifier", "https://frac.test", "--signing-alg", "ES256", "--token-lifetime", "1500ms"}, want: "lifetime"},
		{name: "token lifetime not a duration", args: []string{"api", "create", "--identifier", "https://day.test", "--signing-alg", "ES256", "--token-lifetime", "1d"}, want: "token-lifetime"},
		{name: "unknown signing alg", args: []string{"api", "create", "--identifier", "https://hs.test", "--signing-alg", "HS256"}, want: "HS256"},
		{name: "unknown token dialect", args: []string{"api", "create", "--identifier", "https://dia.test", "--signing-alg", "ES256", "--token-dialect", "okta"}, want: "okta"},
		{name: "scope given twice", args: []string{"api", "create", "--identifier", "https://twice.test", "--signing-alg", "ES256", "--scope", "a", "--scope", "a"}, want: "twice"},
		{name: "scope with a space", args: []string{"api", "create", "--identifier", "https://space.test", "--signing-alg", "ES256", "--scope", "a b"}, want: "scope"},
		{name: "api create missing identifier", args: []string{"api", "create", "--signing-alg", "ES256"}, want: "identifier"},
		{name: "api create positional argument", args: []string{"api", "create", "https://pos.test"}, want: "unknown command"},
		{name: "api show unknown", args: []string{"api", "show", "https://nope.test"}, want: "not found"},
		{name: "api delete unknown", args: []string{"api", "delete", "https://nope.test"}, want: "not found"},
		{name: "api show no argument", args: []string{"api", "show"}, want: "URI"},
		{name: "client create missing name", args: []string{"client", "create"}, want: "name"},
		{name: "client create blank name", args: []string{"client", "create", "--name", "  "}, want: "name"},
		{name: "client show unknown", args: []string{"client", "show", "nosuch"}, want: "not found"},
		{name: "client delete unknown", args: []string{"client", "delete", "nosuch"}, want: "not found"},
		{name: "client disable unknown", args: []string{"client", "disable", "nosuch"}, want: "not found"},
		{name: "client enable unknown", args: []string{"client", "enable", "nosuch"}, want: "not found"},
		{name: "client show no argument", args: []string{"client", "show"}, want: "ID"},
		{name: "secret add unknown client", args: []string{"client", "secret", "add", "nosuch"}, want: "not found"},
		{name: "secret rotate unknown client", args: []string{"client", "secret", "rotate", "nosuch"}, want: "not found"},
		{name: "secret list unknown client", args: []string{"client", "secret", "list", "nosuch"}, want: "not found"},
		{name: "secret revoke unknown secret", args: []string{"client", "secret", "revoke", id, "sec_nosuch"}, want: "not found"},
		{name: "secret revoke missing secret id", args: []string{"client", "secret", "revoke", id}, want: "SECRET_ID"},
		{name: "secret add bad not-before", args: []string{"client", "secret", "add", id, "--not-before", "tomorrow"}, want: "--not-before"},
		{name: "secret add not-before without time", args: []string{"client", "secret", "add", id, "--not-before", "2030-01-03"}, want: "--not-before"},
		{name: "secret add negative expires-in", args: []string{"client", "secret", "add", id, "--expires-in", "-1h"}, want: "--expires-in"},
		{name: "secret add bad expires-in", args: []string{"client", "secret", "add", id, "--expires-in", "soon"}, want: "--expires-in"},
		{name: "secret add expires before active", args: []string{"client", "secret", "add", id, "--not-before", later, "--expires-in", "1h"}, want: "expire"},
		{name: "secret rotate negative grace", args: []string{"client", "secret", "rotate", id, "--grace", "-1h"}, want: "--grace"},
		{name: "grant create unknown client", args: []string{"grant", "create", "--client", "nosuch", "--audience", "https://nogrant.test"}, want: "not found"},
		{name: "grant create unknown audience", args: []string{"grant", "create", "--client", id, "--audience", "https://nope.test"}, want: "not found"},
		{name: "grant create undefined scope", args: []string{"grant", "create", "--client", id, "--audience", "https://nogrant.test", "--scope", "read"}, want: `"read"`},
		{name: "grant create one undefined scope", args: []string{"grant", "create", "--client", id, "--audience", "https://bad.test", "--scope", "write", "--scope", "admin"}, want: `"admin"`},
		{name: "grant create duplicate", args: []string{"grant", "create", "--client", id, "--audience", "https://bad.test"}, want: "already"},
		{name: "grant create missing audience", args: []string{"grant", "create", "--client", id}, want: "audience"},
		{name: "grant create missing client", args: []string{"grant", "create", "--audience", "https://bad.test"}, want: "client"},
		{name: "grant list unknown client", args: []string{"grant", "list", "--client", "nosuch"}, want: "not found"},
		{name: "grant delete unknown", args: []string{"grant", "delete", "cgr_nosuch"}, want: "not found"},
		{name: "key rotate too soon", args: []string{"key", "rotate"}, want: "--force"},
		{name: "key rotate unknown alg", args: []string{"key", "rotate", "--alg", "HS256", "--force"}, want: "HS256"},
		{name: "key rotate alg without keys", args: []string{"key", "rotate", "--alg", "PS256", "--force"}, want: "PS256"},
		{name: "unsupported database", args: []string{"api", "list", "--db", "mysql://localhost/g"}, want: "sqlite"},
		{name: "bad master key", args: []string{"api", "create", "--identifier", "https://mk.test", "--signing-alg", "ES256"},
			env: map[string]string{"GATEHOUSE_MASTER_KEY": "c2hvcnQ="}, want: "GATEHOUSE_MASTER_KEY"},
		{name: "bad master key for key rotate", args: []string{"key", "rotate", "--force"},
			env: map[string]string{"GATEHOUSE_MASTER_KEY": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))}, want: "master key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer h.use(t)()
			before := h.snapshot(id)
			saved := h.env
			h.env = map[string]string{}
			for k, v := range saved {
				h.env[k] = v
			}
			for k, v := range tc.env {
				h.env[k] = v
			}
			r := h.run(tc.args...)
			h.env = saved
			problems := oneLineError(r)
			if !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(tc.want)) {
				problems = append(problems, fmt.Sprintf("stderr %q does not mention %q", r.stderr, tc.want))
			}
			if after := h.snapshot(id); after != before {
				problems = append(problems, fmt.Sprintf("the database changed:\nbefore %s\nafter %s", before, after))
			}
			expect(t, problems)
		})
	}
}

// TestSecretLifecycle covers secret add --not-before/--expires-in, rotate
// --grace capping older secrets (not-yet-active ones included) and revoke.
func TestSecretLifecycle(t *testing.T) {
	h := newHarness(t)
	c := h.object("client", "create", "--name", "svc")
	id := str(c, "client_id")
	first := h.array("client", "secret", "list", id)[0]

	future := h.object("client", "secret", "add", id, "--not-before", "2030-01-04T05:04:05+02:00")
	futureExpiring := h.object("client", "secret", "add", id, "--not-before", rfc3339(t0.Add(48*time.Hour)), "--expires-in", "72h")
	soon := h.object("client", "secret", "add", id, "--expires-in", "30m")
	later := h.object("client", "secret", "add", id, "--expires-in", "2h")

	adds := []struct {
		name                 string
		got                  map[string]any
		notBefore, expiresAt any
	}{
		{"not-before with offset is stored in UTC", future, rfc3339(t0.Add(48 * time.Hour)), nil},
		{"not-before and expires-in", futureExpiring, rfc3339(t0.Add(48 * time.Hour)), rfc3339(t0.Add(72 * time.Hour))},
		{"expires-in 30m", soon, nil, rfc3339(t0.Add(30 * time.Minute))},
		{"expires-in 2h", later, nil, rfc3339(t0.Add(2 * time.Hour))},
	}
	for _, tc := range adds {
		t.Run("add/"+tc.name, func(t *testing.T) {
			if tc.got["not_before"] != tc.notBefore || tc.got["expires_at"] != tc.expiresAt || str(tc.got, "created_at") != rfc3339(t0) {
				t.Errorf("got %v, want not_before %v, expires_at %v, created_at %s", tc.got, tc.notBefore, tc.expiresAt, rfc3339(t0))
			}
			if !strings.HasPrefix(str(tc.got, "client_secret"), "gths_") {
				t.Errorf("client_secret %q lacks the recognisable prefix", str(tc.got, "client_secret"))
			}
		})
	}

	// Rotate ten minutes later with a one-hour grace: the cap is t0+70m.
	h.now = t0.Add(10 * time.Minute)
	capAt := rfc3339(t0.Add(70 * time.Minute))
	rotated := h.object("client", "secret", "rotate", id, "--grace", "1h")
	if rotated["not_before"] != nil || rotated["expires_at"] != nil || str(rotated, "created_at") != rfc3339(h.now) || str(rotated, "client_secret") == "" {
		t.Errorf("rotate: new secret %v, want active now, no expiry, with its client_secret", rotated)
	}
	expiry := map[string]any{}
	for _, s := range h.array("client", "secret", "list", id) {
		expiry[str(s, "id")] = s["expires_at"]
	}
	caps := []struct {
		name string
		id   string
		want any
	}{
		{"never-expiring secret is capped", str(first, "id"), capAt},
		{"not-yet-active secret is capped", str(future, "id"), capAt},
		{"not-yet-active secret with a later expiry is capped", str(futureExpiring, "id"), capAt},
		{"earlier expiry is left alone", str(soon, "id"), rfc3339(t0.Add(30 * time.Minute))},
		{"later expiry is capped", str(later, "id"), capAt},
		{"the new secret does not expire", str(rotated, "id"), nil},
	}
	if len(expiry) != len(caps) {
		t.Errorf("secret list has %d secrets, want %d", len(expiry), len(caps))
	}
	for _, tc := range caps {
		t.Run("rotate/"+tc.name, func(t *testing.T) {
			if got, ok := expiry[tc.id]; !ok || got != tc.want {
				t.Errorf("expires_at of %s = %v (listed: %v), want %v", tc.id, got, ok, tc.want)
			}
		})
	}

	t.Run("rotate without --grace caps at 24h", func(t *testing.T) {
		defer h.use(t)()
		h.now = t0.Add(20 * time.Minute)
		again := h.object("client", "secret", "rotate", id)
		for _, s := range h.array("client", "secret", "list", id) {
			switch str(s, "id") {
			case str(rotated, "id"):
				if s["expires_at"] != rfc3339(h.now.Add(24*time.Hour)) {
					t.Errorf("previous new secret expires_at %v, want %s", s["expires_at"], rfc3339(h.now.Add(24*time.Hour)))
				}
			case str(again, "id"):
				if s["expires_at"] != nil {
					t.Errorf("new secret expires_at %v, want null", s["expires_at"])
				}
			case str(first, "id"):
				if s["expires_at"] != capAt {
					t.Errorf("an earlier cap moved: %v, want %s", s["expires_at"], capAt)
				}
			}
		}
	})

	t.Run("revoke", func(t *testing.T) {
		defer h.use(t)()
		out := h.object("client", "secret", "revoke", id, str(soon, "id"))
		if str(out, "deleted") != str(soon, "id") {
			t.Errorf("revoke --json = %v", out)
		}
		for _, s := range h.array("client", "secret", "list", id) {
			if str(s, "id") == str(soon, "id") {
				t.Errorf("revoked secret %s is still listed", str(soon, "id"))
			}
		}
		r := h.run("client", "secret", "revoke", id, str(soon, "id"))
		expect(t, oneLineError(r))
		other := h.object("client", "create", "--name", "other")
		r = h.run("client", "secret", "revoke", str(other, "client_id"), str(later, "id"))
		expect(t, oneLineError(r))
		if len(h.array("client", "secret", "list", id)) != 6 {
			t.Errorf("revoking through another client removed a secret")
		}
	})
}

// TestKeyCommands covers key list and key rotate: refused without --force
// while the next key is younger than the JWKS cache lifetime, --force,
// --alg, and previous keys shown as retired once their tokens have expired.
func TestKeyCommands(t *testing.T) {
	h := newHarness(t)
	h.ok("api", "create", "--identifier", "https://es.test", "--signing-alg", "ES256", "--token-lifetime", "1h")
	h.ok("api", "create", "--identifier", "https://ed.test", "--signing-alg", "EdDSA")
	// state lists the kids by algorithm and state.
	state := func() map[string]map[string][]string {
		out := map[string]map[string][]string{}
		for _, k := range h.array("key", "list") {
			alg, st := str(k, "alg"), str(k, "state")
			if out[alg] == nil {
				out[alg] = map[string][]string{}
			}
			out[alg][st] = append(out[alg][st], str(k, "kid"))
			slices.Sort(out[alg][st])
		}
		return out
	}
	one := func(kids []string) string {
		if len(kids) != 1 {
			return fmt.Sprintf("%d keys", len(kids))
		}
		return kids[0]
	}
	s0 := state()
	for _, alg := range []string{"ES256", "EdDSA"} {
		if len(s0[alg]) != 2 || len(s0[alg]["current"]) != 1 || len(s0[alg]["next"]) != 1 {
			t.Fatalf("%s keys after api create: %v, want one current and one next", alg, s0[alg])
		}
	}
	if len(s0) != 2 {
		t.Fatalf("keys of %d algorithms, want 2: %v", len(s0), s0)
	}

	t.Run("refused without --force", func(t *testing.T) {
		defer h.use(t)()
		h.now = t0.Add(time.Minute)
		r := h.run("key", "rotate")
		problems := oneLineError(r)
		if !strings.Contains(r.stderr, "--force") {
			problems = append(problems, fmt.Sprintf("stderr %q does not mention --force", r.stderr))
		}
		expect(t, problems)
		if s := state(); fmt.Sprint(s) != fmt.Sprint(s0) {
			t.Errorf("a refused rotation changed the keys: %v", s)
		}
	})

	var s1 map[string]map[string][]string
	t.Run("--force --alg rotates one algorithm", func(t *testing.T) {
		defer h.use(t)()
		h.now = t0.Add(2 * time.Minute)
		out := h.array("key", "rotate", "--force", "--alg", "ES256")
		for i, k := range out {
			for _, p := range shapeProblems(k, keyShape) {
				t.Errorf("key rotate --json element %d: %s", i, p)
			}
		}
		s1 = state()
		es, es0 := s1["ES256"], s0["ES256"]
		if one(es["previous"]) != one(es0["current"]) || one(es["current"]) != one(es0["next"]) ||
			len(es["next"]) != 1 || es["next"][0] == es0["next"][0] || len(es) != 3 {
			t.Errorf("ES256 after rotate: %v, before: %v", es, es0)
		}
		if fmt.Sprint(s1["EdDSA"]) != fmt.Sprint(s0["EdDSA"]) {
			t.Errorf("EdDSA keys changed by --alg ES256: %v, before %v", s1["EdDSA"], s0["EdDSA"])
		}
	})

	t.Run("without --force once the next key is old enough", func(t *testing.T) {
		defer h.use(t)()
		h.now = t0.Add(2*time.Minute + 5*time.Minute) // the JWKS cache lifetime after the newest key
		h.ok("key", "rotate")
		s := state()
		wantPrev := map[string][]string{
			"ES256": slices.Sorted(slices.Values(append(slices.Clone(s1["ES256"]["previous"]), s1["ES256"]["current"]...))),
			"EdDSA": s1["EdDSA"]["current"],
		}
		for _, alg := range []string{"ES256", "EdDSA"} {
			if one(s[alg]["current"]) != one(s1[alg]["next"]) || !slices.Equal(s[alg]["previous"], wantPrev[alg]) ||
				len(s[alg]["next"]) != 1 || len(s[alg]["retired"]) != 0 {
				t.Errorf("%s after rotate: %v, before %v", alg, s[alg], s1[alg])
			}
		}
	})

	t.Run("previous keys retire after the longest token lifetime", func(t *testing.T) {
		defer h.use(t)()
		// The first ES256 previous key left the current state at t0+2m; a
		// token it signed may live 24h, the longest lifetime of any API.
		h.now = t0.Add(2*time.Minute + 24*time.Hour - time.Second)
		s := state()
		if len(s["ES256"]["retired"])+len(s["EdDSA"]["retired"]) != 0 || len(s["ES256"]["previous"]) != 2 || len(s["EdDSA"]["previous"]) != 1 {
			t.Errorf("a key retired while a token it signed may still be valid: %v", s)
		}
		// An hour more is ample for any safety margin.
		h.now = t0.Add(7*time.Minute + 25*time.Hour)
		s = state()
		if len(s["ES256"]["retired"]) != 2 || len(s["EdDSA"]["retired"]) != 1 || len(s["ES256"]["previous"])+len(s["EdDSA"]["previous"]) != 0 {
			t.Errorf("at t0+7m+25h: %v, want every previous key retired", s)
		}
	})
}

// TestAPIDeleteRemovesGrants checks that deleting an API deletes its grants
// and nothing else.
func TestAPIDeleteRemovesGrants(t *testing.T) {
	h := newHarness(t)
	h.ok("api", "create", "--identifier", "https://gone.test", "--scope", "read", "--signing-alg", "ES256")
	h.ok("api", "create", "--identifier", "https://kept.test", "--signing-alg", "ES256")
	var ids []string
	for _, name := range []string{"a", "b"} {
		id := str(h.object("client", "create", "--name", name), "client_id")
		ids = append(ids, id)
		h.ok("grant", "create", "--client", id, "--audience", "https://gone.test", "--scope", "read")
	}
	kept := h.object("grant", "create", "--client", ids[0], "--audience", "https://kept.test")

	out := h.object("api", "delete", "https://gone.test")
	if str(out, "deleted") != "https://gone.test" {
		t.Errorf("api delete --json = %v", out)
	}
	grants := h.array("grant", "list")
	if len(grants) != 1 || str(grants[0], "id") != str(kept, "id") {
		t.Errorf("grants after api delete: %v, want only %v", grants, kept)
	}
	for _, id := range ids {
		if n := len(h.array("grant", "list", "--client", id)); id == ids[1] && n != 0 {
			t.Errorf("client %s still has %d grants", id, n)
		}
	}
	if apis := h.array("api", "list"); len(apis) != 1 || str(apis[0], "identifier") != "https://kept.test" {
		t.Errorf("apis after delete: %v", apis)
	}
	if clients := h.array("client", "list"); len(clients) != 2 {
		t.Errorf("api delete touched clients: %v", clients)
	}
	expect(t, oneLineError(h.run("api", "show", "https://gone.test")))
	if out := h.object("grant", "delete", str(kept, "id")); str(out, "deleted") != str(kept, "id") {
		t.Errorf("grant delete --json = %v", out)
	}
	if grants := h.array("grant", "list"); len(grants) != 0 {
		t.Errorf("grants after grant delete: %v", grants)
	}
	// The identifier is free again.
	h.ok("api", "create", "--identifier", "https://gone.test", "--signing-alg", "ES256")
}

// TestClientDelete checks that deleting a client deletes its grants and
// secrets, and not other clients'.
func TestClientDelete(t *testing.T) {
	h := newHarness(t)
	h.ok("api", "create", "--identifier", "https://del.test", "--signing-alg", "ES256")
	a := str(h.object("client", "create", "--name", "a"), "client_id")
	b := str(h.object("client", "create", "--name", "b"), "client_id")
	for _, id := range []string{a, b} {
		h.ok("grant", "create", "--client", id, "--audience", "https://del.test")
	}
	h.ok("client", "delete", a)
	if grants := h.array("grant", "list"); len(grants) != 1 || str(grants[0], "client_id") != b {
		t.Errorf("grants after client delete: %v", grants)
	}
	expect(t, oneLineError(h.run("client", "secret", "list", a)))
	if n := len(h.array("client", "secret", "list", b)); n != 1 {
		t.Errorf("the other client has %d secrets, want 1", n)
	}
}

// TestMigrateVersion checks migrate and version, and that version needs no
// database.
func TestMigrateVersion(t *testing.T) {
	h := newEmptyHarness(t)
	v := h.object("version")
	if str(v, "version") == "" || !strings.HasPrefix(str(v, "go"), "go") || len(v) != 5 ||
		v["sqlite_schema_version"] == json.Number("0") || v["postgres_schema_version"] == json.Number("0") {
		t.Errorf("version --json = %v", v)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "g.db")); err == nil {
		t.Errorf("version created the database")
	}
	m := h.object("migrate")
	n, err := m["schema_version"].(json.Number).Int64()
	if err != nil || n < 1 || len(m) != 1 {
		t.Fatalf("migrate --json = %v", m)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "g.db")); err != nil {
		t.Errorf("migrate did not create the database: %v", err)
	}
	if again := h.object("migrate"); again["schema_version"] != m["schema_version"] {
		t.Errorf("second migrate = %v, first %v", again, m)
	}
	// --db overrides GATEHOUSE_DB.
	other := filepath.Join(h.dir, "other.db")
	h.ok("migrate", "--db", "sqlite:"+other)
	if _, err := os.Stat(other); err != nil {
		t.Errorf("migrate --db did not create %s: %v", other, err)
	}
}

// TestSyncNotice: a change made on the database says when running servers
// apply it; a read, and --json, print nothing on standard error.
func TestSyncNotice(t *testing.T) {
	h := newHarness(t)
	r := h.run("api", "create", "--identifier", "https://notice.test")
	if r.code != 0 || !strings.Contains(r.stderr, "within their --sync-interval (250ms by default, 1s at most)") {
		t.Errorf("api create: %s", r)
	}
	for _, args := range [][]string{{"api", "list"}, {"api", "show", "https://notice.test"}, {"api", "create", "--identifier", "https://notice2.test", "--json"}} {
		if r := h.run(args...); r.code != 0 || r.stderr != "" {
			t.Errorf("%v: %s", args, r)
		}
	}
}
