package interop_test

import (
	"html/template"
	"net"
	"net/http"
	"strings"
	"testing"
)

// spaPage is a single-page app with no library: PKCE S256 with WebCrypto,
// the authorization request, the code redeemed with fetch, /userinfo, a
// probe of the token endpoint, and the form_post landing (the server puts
// the posted code and state into the page's configuration).
var spaPage = template.Must(template.New("spa").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SPA</title></head>
<body>
<h1>SPA</h1>
<button id="login">Log in</button>
<button id="login-form-post">Log in with form_post</button>
<button id="probe">Probe the token endpoint</button>
<pre id="result"></pre>
<script>
const cfg = {{.}};
const b64url = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const out = (s) => { document.getElementById('result').textContent += s + '\n'; };
const form = (o) => ({ method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(o) });
async function login(mode) {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem('pkce', JSON.stringify({ verifier, state }));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const q = new URLSearchParams({ response_type: 'code', client_id: cfg.clientId, redirect_uri: cfg.redirect,
    scope: 'openid profile email', state, code_challenge: challenge, code_challenge_method: 'S256' });
  if (mode) { q.set('response_mode', mode); q.set('prompt', 'login'); }
  location.assign(cfg.issuer + '/authorize?' + q);
}
async function finish(code, state, iss) {
  const saved = JSON.parse(sessionStorage.getItem('pkce') || '{}');
  if (!saved.state || state !== saved.state) { out('error: state mismatch'); return; }
  if (iss !== cfg.issuer) { out('error: iss ' + iss); return; }
  const r = await fetch(cfg.issuer + '/oauth/token', form({ grant_type: 'authorization_code', code, redirect_uri: cfg.redirect,
    code_verifier: saved.verifier, client_id: cfg.clientId }));
  const tok = await r.json();
  if (!r.ok) { out('error: token ' + r.status + ' ' + JSON.stringify(tok)); return; }
  out('token: ' + tok.token_type);
  const u = await fetch(cfg.issuer + '/userinfo', { headers: { Authorization: 'Bearer ' + tok.access_token } });
  out('userinfo: ' + (await u.json()).email);
}
async function probe() {
  try {
    const r = await fetch(cfg.issuer + '/oauth/token', form({ grant_type: 'authorization_code', code: 'not-a-code',
      redirect_uri: cfg.redirect, code_verifier: 'x'.repeat(43), client_id: cfg.clientId }));
    out('probe: readable ' + r.status + ' ' + (await r.json()).error);
  } catch (e) {
    out('probe: refused ' + e.name);
  }
}
document.getElementById('login').onclick = () => login('');
document.getElementById('login-form-post').onclick = () => login('form_post');
document.getElementById('probe').onclick = probe;
const params = new URLSearchParams(location.search);
if (cfg.code) { out('posted: form_post'); finish(cfg.code, cfg.state, cfg.iss); }
else if (params.get('code')) finish(params.get('code'), params.get('state'), params.get('iss'));
</script>
</body></html>
`))

type spaConfig struct {
	Issuer   string `json:"issuer"`
	ClientID string `json:"clientId"`
	Redirect string `json:"redirect"`
	Code     string `json:"code,omitempty"`
	State    string `json:"state,omitempty"`
	ISS      string `json:"iss,omitempty"`
}

// serveSPA serves the page on ln (its origin); a POST (form_post) passes
// code, state and iss to it.
func serveSPA(t *testing.T, ln net.Listener, cfg spaConfig) string {
	t.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := cfg
		if r.Method == http.MethodPost {
			_ = r.ParseForm()
			c.Code, c.State, c.ISS = r.PostForm.Get("code"), r.PostForm.Get("state"), r.PostForm.Get("iss")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = spaPage.Execute(w, c)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestBrowserSPA is issue 16's browser acceptance: a real browser runs an
// spa client end to end from its registered web origin — PKCE, the code
// redeemed with fetch across origins (CORS), /userinfo — while the same page
// at another origin is refused by CORS; then a login with
// response_mode=form_post completes through gatehouse's auto-submitting
// page, whose one script its Content-Security-Policy allows.
func TestBrowserSPA(t *testing.T) {
	dir, node, chromium := browserTools(t)
	in := newInstance(t.TempDir())
	p := serve(t, "spa server", in, "--addr", "127.0.0.1:0")
	issuer := strings.TrimRight(p.issuer, "/")
	var err error
	var lns [2]net.Listener
	for i := range lns {
		if lns[i], err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	origin := "http://" + lns[0].Addr().String()
	c := in.admin(t, "client", "create", "--name", "SPA", "--app-type", "spa", "--first-party",
		"--redirect-uri", origin+"/", "--web-origin", origin)
	cfg := spaConfig{Issuer: issuer, ClientID: str(c, "client_id"), Redirect: origin + "/"}
	spa, other := serveSPA(t, lns[0], cfg), serveSPA(t, lns[1], cfg)
	const email, password = "alice@example.com", "correct horse battery staple"
	in.createUser(t, email, password)

	out, err := runBrowser(t.Context(), dir, node, "spa.mjs", "SPA="+spa, "OTHER="+other, "EMAIL="+email, "PASSWORD="+password, "CHROMIUM="+chromium)
	if err != nil {
		t.Fatalf("the browser script failed: %v\n%s\ngatehouse: %s", err, out, p.logs())
	}
	for _, s := range []string{"spa: code redeemed with fetch (CORS)", "spa: userinfo", "spa: its own origin reads the token endpoint",
		"other origin: refused by CORS", "form_post login completed"} {
		if !strings.Contains(out, "ok: "+s) {
			t.Errorf("the browser script did not report %q:\n%s", s, out)
		}
	}
}
