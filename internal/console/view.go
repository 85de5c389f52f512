package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/webform"
)

//go:embed templates/*.html static/console.css
var files embed.FS

// csp is the console's Content-Security-Policy: its own style sheet and
// nothing else; no script at all, no framing, forms only to itself.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var pagesT = template.Must(template.New("").Funcs(template.FuncMap{
	"when": when,
	"age":  age,
	"join": func(s []string) string { return strings.Join(s, " ") },
	"has":  func(list []string, v string) bool { return contains(list, v) },
	"inc":  func(i int) int { return i + 1 },
	"seconds": func(d time.Duration) string {
		return strconv.FormatInt(int64(d/time.Second), 10)
	},
	"sh":      shellQuote,
	"literal": literal,
}).ParseFS(files, "templates/*.html"))

// shellQuote quotes s as one word of a POSIX shell: between single quotes,
// each single quote closing them, escaped, and opening them again. The
// test panel's curl snippet quotes every value, for an
// API identifier may hold $( ), backquotes, quotes and & (admin
// refuses only white space, control characters and #).
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// literal is s as a string literal that Go and JavaScript both read as s
// (JSON's), for the test panel's Go and Node snippets.
func literal(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

var css = func() []byte {
	b, err := files.ReadFile("static/console.css")
	if err != nil {
		panic(err)
	}
	return b
}()

func serveCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(css)
}

// link is a link a message page offers.
type link struct{ Href, Text string }

// view is what every page template gets.
type view struct {
	Title   string
	Nav     string // the section the page belongs to
	CSRF    string
	Flash   flash
	Message string
	Link    *link
	// Errors are the problems of the form just sent, by field name ("" for
	// the form as a whole); Form is what was sent, shown again.
	Errors map[string]string
	Form   url.Values
	Data   any
	Can    func(scope string) bool
}

// Field returns what was sent for the field, to fill the form again.
func (v view) Field(name string) string {
	if v.Form == nil {
		return ""
	}
	return v.Form.Get(name)
}

// render writes a page with the console's headers.
func (h *Handler) render(w http.ResponseWriter, status int, name string, v view) {
	var b bytes.Buffer
	if err := pagesT.ExecuteTemplate(&b, name, v); err != nil {
		h.cfg.Logger.Error("console page failed to render", "page", name, "err", err)
		status = http.StatusInternalServerError
		b.Reset()
		_ = pagesT.ExecuteTemplate(&b, "message", view{Title: "Something went wrong", Message: "The page could not be shown."})
	}
	webform.PageHeaders(w.Header(), csp)
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// message writes a page that says one thing (and, for 401 and 403, that
// nothing was changed).
func (h *Handler) message(w http.ResponseWriter, status int, title, msg string, l *link) {
	h.render(w, status, "message", view{Title: title, Message: msg, Link: l})
}

// page renders a page of the call's person.
func (c *call) page(status int, name, nav, title string, data any, errs map[string]string) {
	c.h.render(c.w, status, name, view{Title: title, Nav: nav, CSRF: c.csrf, Flash: c.flash, Data: data, Errors: errs, Form: c.form, Can: c.can})
}

// problems sorts the problems of an admin error (ErrInvalid, ErrNotFound,
// ErrAlreadyExists: the same messages as the command line and the API) to
// the fields they name, by the words each field is known by; the rest go
// to the form as a whole (""). Any other error is not the person's
// mistake: ok is false.
func problems(err error, fields map[string][]string) (map[string]string, bool) {
	if !errors.Is(err, admin.ErrInvalid) && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrAlreadyExists) {
		return nil, false
	}
	out := map[string]string{}
	for _, p := range strings.Split(err.Error(), "; ") {
		key := ""
		for name, words := range fields {
			for _, word := range words {
				if strings.Contains(strings.ToLower(p), word) && (key == "" || len(name) > len(key)) {
					key = name
				}
			}
		}
		if out[key] != "" {
			out[key] += "; "
		}
		out[key] += p
	}
	return out, true
}

// invalid answers an action's error: the form again with the problems
// beside their fields (422), or the failure page for an error that is not
// the person's.
func (c *call) invalid(err error, fields map[string][]string, show func(errs map[string]string)) {
	errs, ok := problems(err, fields)
	if !ok {
		c.h.fail(c.w, c.r, err)
		return
	}
	show(errs)
}

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// age is how long ago t was, in the largest whole unit.
func age(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		s = fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// PageSize is how many rows a list page shows.
const PageSize = 50

// pager is a list page's search and position.
type pager struct {
	Q           string
	Page, Pages int
	Total       int
	Prev, Next  string
}

// paginate returns the rows of page (from 1) of items and the pager; base
// is the list page's path, extra its other query parameters.
func paginate[T any](r *http.Request, items []T, base string, extra url.Values) ([]T, pager) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pages := max(1, (len(items)+PageSize-1)/PageSize)
	page = min(max(page, 1), pages)
	p := pager{Q: q, Page: page, Pages: pages, Total: len(items)}
	link := func(n int) string {
		v := url.Values{}
		for k, vs := range extra {
			v[k] = vs
		}
		if q != "" {
			v.Set("q", q)
		}
		v.Set("page", strconv.Itoa(n))
		return base + "?" + v.Encode()
	}
	if page > 1 {
		p.Prev = link(page - 1)
	}
	if page < pages {
		p.Next = link(page + 1)
	}
	lo := (page - 1) * PageSize
	return items[lo:min(lo+PageSize, len(items))], p
}

// matches reports whether any of fields contains q, case-insensitively.
func matches(q string, fields ...string) bool {
	if q == "" {
		return true
	}
	q = strings.ToLower(q)
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}

// recorder is the response of the in-process code exchange.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
