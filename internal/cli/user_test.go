package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
)

// runIn runs the command line with stdin as its standard input.
func (h *harness) runIn(stdin string, args ...string) result {
	var out, errb bytes.Buffer
	code := cli.Main(args, cli.Env{
		Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(stdin),
		Getenv: func(k string) string { return h.env[k] },
		Now:    func() time.Time { return h.now },
	})
	return result{out.String(), errb.String(), code}
}

func TestUserCommands(t *testing.T) {
	h := newHarness(t)
	r := h.runIn("correct horse battery\n", "user", "create", "--email", "Alice@Example.com", "--name", "Alice", "--password-stdin", "--json")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("user create: %s", r)
	}
	var u map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &u); err != nil {
		t.Fatalf("user create --json: %v in %q", err, r.stdout)
	}
	id, _ := u["user_id"].(string)
	if !strings.HasPrefix(id, "usr_") || u["email"] != "Alice@Example.com" || u["name"] != "Alice" || u["created_at"] != "2030-01-02T03:04:05Z" {
		t.Errorf("user create --json = %v", u)
	}
	if strings.Contains(r.stdout, "argon2") || strings.Contains(r.stdout, "correct horse") {
		t.Errorf("user create prints the hash or the password: %s", r.stdout)
	}

	// Errors are one line and exit 1.
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"taken email in another case", "another password\n", []string{"user", "create", "--email", "alice@example.com", "--password-stdin"}, `a user with email "alice@example.com" already exists`},
		{"no password-stdin", "", []string{"user", "create", "--email", "bob@example.com"}, "give --password-stdin"},
		{"password flag", "", []string{"user", "create", "--email", "bob@example.com", "--password", "x"}, "unknown flag: --password"},
		{"empty stdin", "", []string{"user", "create", "--email", "bob@example.com", "--password-stdin"}, "holds no password"},
		{"short password", "short\n", []string{"user", "create", "--email", "bob@example.com", "--password-stdin"}, "at least 8 characters"},
		{"bad email", "long enough\n", []string{"user", "create", "--email", "bob", "--password-stdin"}, `email "bob" must be an address`},
		{"show missing", "", []string{"user", "show", "usr_nobody"}, `user "usr_nobody" not found`},
		{"disable missing", "", []string{"user", "disable", "nobody@example.com"}, `user "nobody@example.com" not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.runIn(tc.stdin, tc.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("%s: want exit 1 and one line saying %q", r, tc.want)
			}
		})
	}

	h.now = t0.Add(time.Hour)
	dis := h.json("user", "disable", "alice@EXAMPLE.com").(map[string]any)
	if dis["disabled"] != true || dis["updated_at"] != "2030-01-02T04:04:05Z" {
		t.Errorf("user disable = %v", dis)
	}
	if en := h.json("user", "enable", id).(map[string]any); en["disabled"] != false {
		t.Errorf("user enable = %v", en)
	}
	if r := h.runIn("a brand new one\r\n", "user", "set-password", id, "--password-stdin"); r.code != 0 {
		t.Errorf("user set-password: %s", r)
	}
	list := h.json("user", "list").([]any)
	if len(list) != 1 || list[0].(map[string]any)["user_id"] != id {
		t.Errorf("user list = %v", list)
	}
	if out := h.ok("user", "show", id); !strings.Contains(out, "Alice@Example.com") || !strings.Contains(out, "email_verified:") {
		t.Errorf("user show = %q", out)
	}
	// The user commands work on the database only.
	h.env["GATEHOUSE_SERVER"] = "http://127.0.0.1:1"
	if r := h.run("user", "list"); r.code != 1 || !strings.Contains(r.stderr, "works on the database only") {
		t.Errorf("user list with GATEHOUSE_SERVER: %s", r)
	}
}

func TestCreateLoginClientCommand(t *testing.T) {
	h := newHarness(t)
	web := h.json("client", "create", "--name", "web", "--app-type", "regular_web",
		"--redirect-uri", "https://app.example.com/cb", "--redirect-uri", "http://127.0.0.1:8081/cb",
		"--logout-url", "https://app.example.com/").(map[string]any)
	if web["app_type"] != "regular_web" || web["client_secret"] == nil ||
		strings.Join(toStrings(web["grant_types"]), " ") != "authorization_code refresh_token" ||
		strings.Join(toStrings(web["redirect_uris"]), " ") != "https://app.example.com/cb http://127.0.0.1:8081/cb" ||
		strings.Join(toStrings(web["allowed_logout_urls"]), " ") != "https://app.example.com/" {
		t.Errorf("client create regular_web = %v", web)
	}
	spa := h.json("client", "create", "--name", "spa", "--app-type", "spa", "--redirect-uri", "https://spa.example.com/", "--first-party").(map[string]any)
	if spa["client_secret"] != nil || spa["first_party"] != true || spa["app_type"] != "spa" {
		t.Errorf("client create spa = %v: want no secret, first party", spa)
	}
	// Without --json a public client prints no secret and no warning, only
	// when running servers apply it.
	if r := h.run("client", "create", "--name", "native", "--app-type", "native", "--redirect-uri", "com.example.app:/cb"); r.code != 0 ||
		strings.Contains(r.stderr, "Store the client secret") || strings.Contains(r.stdout, "client_secret") {
		t.Errorf("client create native: %s", r)
	}
	m2m := h.json("client", "create", "--name", "svc").(map[string]any)
	if _, ok := m2m["app_type"]; ok {
		t.Errorf("an M2M client's JSON changed shape: %v", m2m)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"login flag on M2M", []string{"client", "create", "--name", "x", "--redirect-uri", "https://a.example.com/"}, "--redirect-uri is for login clients"},
		{"no redirect", []string{"client", "create", "--name", "x", "--app-type", "spa"}, "at least one redirect URI"},
		{"spa client_credentials", []string{"client", "create", "--name", "x", "--app-type", "spa", "--redirect-uri", "https://a.example.com/",
			"--grant-type", "authorization_code", "--grant-type", "client_credentials"}, "cannot use client_credentials"},
		{"unknown app type", []string{"client", "create", "--name", "x", "--app-type", "tv", "--redirect-uri", "https://a.example.com/"}, `app type "tv" must be one of`},
		{"open redirect pattern", []string{"client", "create", "--name", "x", "--app-type", "spa", "--redirect-uri", "https://*.example.com/"}, "wildcard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.run(tc.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("%s: want exit 1 and one line saying %q", r, tc.want)
			}
		})
	}
}

// TestAPISwitches: api create and update set and clear each of an API's
// switches; --json shows one only when on.
func TestAPISwitches(t *testing.T) {
	for _, field := range []string{"allow_offline_access", "token_reuse", "enforce_policies"} {
		t.Run(field, func(t *testing.T) {
			h := newHarness(t)
			flag := "--" + strings.ReplaceAll(field, "_", "-")
			api := h.json("api", "create", "--identifier", "https://on.example.com", flag).(map[string]any)
			if api[field] != true {
				t.Errorf("api create %s = %v", flag, api)
			}
			api = h.json("api", "update", "https://on.example.com", flag+"=false").(map[string]any)
			if _, ok := api[field]; ok {
				t.Errorf("api update %s=false = %v: want the field gone (false)", flag, api)
			}
			api = h.json("api", "update", "https://on.example.com", flag).(map[string]any)
			if api[field] != true {
				t.Errorf("api update %s = %v", flag, api)
			}
			if plain := h.json("api", "create", "--identifier", "https://plain.example.com").(map[string]any); len(plain) != 9 {
				t.Errorf("an API's JSON changed shape: %v", plain)
			}
		})
	}
}

// TestCreateLoginClientRemote: client create --app-type works through the
// management API too, with the output of local mode.
func TestCreateLoginClientRemote(t *testing.T) {
	h := newHarness(t)
	r := startServer(t, h)
	local := h.json("client", "create", "--name", "web", "--app-type", "regular_web", "--redirect-uri", "https://a.example.com/cb",
		"--logout-url", "https://a.example.com/").(map[string]any)
	var remote map[string]any
	h.asRemote(r, func() {
		remote = h.json("client", "create", "--name", "web", "--app-type", "regular_web", "--redirect-uri", "https://a.example.com/cb",
			"--logout-url", "https://a.example.com/").(map[string]any)
	})
	for _, k := range []string{"app_type", "grant_types", "redirect_uris", "allowed_logout_urls", "name"} {
		if fmt.Sprint(local[k]) != fmt.Sprint(remote[k]) {
			t.Errorf("%s: local %v, remote %v", k, local[k], remote[k])
		}
	}
	if str(remote, "client_secret") == "" {
		t.Errorf("remote create printed no secret: %v", remote)
	}
	h.asRemote(r, func() {
		spa := h.json("client", "create", "--name", "spa", "--app-type", "spa", "--redirect-uri", "https://spa.example.com/", "--first-party").(map[string]any)
		if spa["first_party"] != true || spa["client_secret"] != nil {
			t.Errorf("remote spa: %v", spa)
		}
		if res := h.run("client", "create", "--name", "x", "--app-type", "spa"); res.code != 1 || !strings.Contains(res.stderr, "redirect URI") {
			t.Errorf("remote spa without a redirect URI: %s", res)
		}
	})
}

// TestClientWebOrigins: client create|update --web-origin, on the database
// and through the management API alike; --web-origin= clears the list.
func TestClientWebOrigins(t *testing.T) {
	h := newHarness(t)
	r := startServer(t, h)
	for _, remote := range []bool{false, true} {
		run := func(f func()) {
			if remote {
				h.asRemote(r, f)
			} else {
				f()
			}
		}
		run(func() {
			spa := h.json("client", "create", "--name", "spa", "--app-type", "spa", "--redirect-uri", "https://spa.example.com/cb",
				"--web-origin", "https://spa.example.com", "--web-origin", "http://127.0.0.1:5173").(map[string]any)
			if got := strings.Join(toStrings(spa["web_origins"]), " "); got != "https://spa.example.com http://127.0.0.1:5173" {
				t.Errorf("remote %v: client create --web-origin: %v", remote, spa)
			}
			id := str(spa, "client_id")
			upd := h.json("client", "update", id, "--web-origin", "https://new.example.com").(map[string]any)
			if got := strings.Join(toStrings(upd["web_origins"]), " "); got != "https://new.example.com" {
				t.Errorf("remote %v: client update --web-origin: %v", remote, upd)
			}
			if upd := h.json("client", "update", id, "--web-origin=").(map[string]any); len(toStrings(upd["web_origins"])) != 0 {
				t.Errorf("remote %v: client update --web-origin= did not clear: %v", remote, upd)
			}
			if res := h.run("client", "update", id, "--web-origin", "https://spa.example.com/path"); res.code != 1 || !strings.Contains(res.stderr, "without a path") {
				t.Errorf("remote %v: a web origin with a path: %s", remote, res)
			}
			if res := h.run("client", "create", "--name", "x", "--web-origin", "https://a.example.com"); res.code != 1 || !strings.Contains(res.stderr, "--web-origin is for login clients") {
				t.Errorf("remote %v: --web-origin on an M2M client: %s", remote, res)
			}
		})
	}
}
