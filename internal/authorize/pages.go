package authorize

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/webform"
)

// The hosted pages: server-rendered with html/template (contextual
// escaping), no script but the form_post page's one line (which works
// without it: a button submits the same form), usable without a mouse; every field has a label and
// errors are announced (role="alert").
var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1b1f24;margin:0}
main{max-width:24rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:.5rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.4rem;margin-top:0}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;border:1px solid #767676;border-radius:.25rem}
button{margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem;border-radius:.25rem;border:1px solid #0b57d0;background:#0b57d0;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#0b57d0}
button:focus,input:focus{outline:3px solid #f5a623;outline-offset:1px}
.alert{color:#a50e0e;background:#fce8e6;padding:.6rem;border-radius:.25rem}
.client{color:#444}
</style>
</head>
<body>
<main>{{end}}

{{define "foot"}}</main>
</body>
</html>
{{end}}

{{define "login"}}{{template "head" .}}
<h1>Log in</h1>
<p class="client">to continue to <strong>{{.ClientName}}</strong></p>
{{if .Error}}<p class="alert" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="request" value="{{.Request}}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required value="{{.Email}}"{{if not .Email}} autofocus{{end}}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required{{if .Email}} autofocus{{end}}>
<button type="submit">Log in</button>
</form>
{{template "foot" .}}{{end}}

{{define "consent"}}{{template "head" .}}
<h1>Authorize {{.ClientName}}</h1>
<p><strong>{{.ClientName}}</strong> is asking to:</p>
<ul>
{{range .Scopes}}<li>{{.}}</li>
{{end}}</ul>
{{if .Audience}}<p>for the API <strong>{{.Audience}}</strong>.</p>{{end}}
<p>You are logged in as {{.User}}.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="request" value="{{.Request}}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>
{{template "foot" .}}{{end}}

{{define "logout"}}{{template "head" .}}
<h1>Log out</h1>
<p>Do you want to log out{{if .User}} {{.User}}{{end}}{{if .ClientName}} and leave <strong>{{.ClientName}}</strong>{{end}}?</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="logout_request" value="{{.Request}}">
<button type="submit" name="confirm" value="yes">Log out</button>
</form>
{{template "foot" .}}{{end}}

{{define "loggedout"}}{{template "head" .}}
<h1>You are logged out</h1>
<p role="status">You can close this window.</p>
{{template "foot" .}}{{end}}

{{define "formpost"}}{{template "head" .}}
<h1>Back to {{.ClientName}}</h1>
<form method="post" action="{{.PostTo}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<p>If you are not sent on at once, press Continue.</p>
<button type="submit">Continue</button>
</form>
<script>` + formPostScript + `</script>
{{template "foot" .}}{{end}}

{{define "error"}}{{template "head" .}}
<h1>Something went wrong</h1>
<p class="alert" role="alert">{{.Error}}</p>
<p>You can close this window and try again from the application.</p>
{{template "foot" .}}{{end}}
`))

// formPostScript submits the form_post page's form; the page's CSP allows
// this script alone, by its digest.
const formPostScript = "document.forms[0].submit()"

// formPostCSP is the form_post page's Content-Security-Policy: the hosted
// pages' own, plus the one script.
var formPostCSP = func() string {
	sum := sha256.Sum256([]byte(formPostScript))
	return "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
}()

const pagesCSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"

type field struct{ Name, Value string }

type page struct {
	PostTo     template.URL // form_post: the client's registered redirect URI
	Fields     []field      // form_post: the response's parameters
	Title      string
	ClientName string
	Error      string
	Action     string
	CSRF       string
	Request    string
	Email      string
	Scopes     []string
	Audience   string
	User       string
}

// render writes a page. The pages may not be framed (clickjacking, RFC 6749
// §10.13), load nothing but their inline style, and send a Referer only to
// this origin, so that the browser keeps sending Origin on their forms.
func render(w http.ResponseWriter, status int, name string, p page, retryAfter time.Duration) {
	renderCSP(w, status, name, p, retryAfter, pagesCSP)
}

func renderCSP(w http.ResponseWriter, status int, name string, p page, retryAfter time.Duration, csp string) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, p); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	webform.PageHeaders(h, csp)
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	}
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func errorPage(w http.ResponseWriter, status int, msg string) {
	render(w, status, "error", page{Title: "Error", Error: msg}, 0)
}
