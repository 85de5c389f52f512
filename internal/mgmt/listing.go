package mgmt

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Paging bounds, as Auth0's: per_page and take are at most 100.
const (
	DefaultPerPage = 50
	MaxPerPage     = 100
)

// Query parameters every read of an Auth0-shaped resource takes: Auth0's
// field selection, and gatehouse's own switch for the times Auth0's objects
// do not have (created_at, updated_at), which the command line asks for.
const (
	paramFields        = "fields"
	paramIncludeFields = "include_fields"
	// ParamTimes asks for created_at and updated_at on resource servers
	// and clients, which Auth0's shapes do not carry: Auth0's tooling never
	// sends it, so what it exports it can send back.
	ParamTimes = "gatehouse_times"
)

var pagingParams = []string{"page", "per_page", "include_totals", "from", "take"}

// paging is a listing's page/per_page/include_totals, or its checkpoint
// (from/take).
type paging struct {
	page, perPage int
	totals        bool
	// checkpoint: from/take were given (take is then perPage).
	checkpoint bool
	from       string // the cursor after which the page starts; "" is the start
}

func parsePaging(q url.Values) (paging, *Error) {
	p := paging{perPage: DefaultPerPage}
	var problems []string
	num := func(name string, min, max int, dst *int) {
		vals, ok := q[name]
		if !ok {
			return
		}
		n, err := strconv.Atoi(vals[0])
		if len(vals) > 1 || err != nil || n < min || n > max {
			problems = append(problems, fmt.Sprintf("%s must be one integer from %d to %d", name, min, max))
			return
		}
		*dst = n
	}
	num("page", 0, 1<<20, &p.page)
	num("per_page", 1, MaxPerPage, &p.perPage)
	if vals, ok := q["include_totals"]; ok {
		switch {
		case len(vals) == 1 && vals[0] == "true":
			p.totals = true
		case len(vals) == 1 && vals[0] == "false":
		default:
			problems = append(problems, "include_totals must be true or false")
		}
	}
	_, hasFrom := q["from"]
	_, hasTake := q["take"]
	if hasFrom || hasTake {
		// Checkpoint paging (Auth0's from/take/next); per_page and
		// include_totals, which Auth0's SDKs send on every listing, have no
		// meaning there, but a page number contradicts it.
		p.checkpoint, p.perPage = true, DefaultPerPage
		if _, ok := q["page"]; ok {
			problems = append(problems, "page cannot be combined with from/take: page through the list with one or the other")
		}
		num("take", 1, MaxPerPage, &p.perPage)
		if vals := q["from"]; len(vals) > 1 {
			problems = append(problems, "from is given more than once")
		} else if len(vals) == 1 && vals[0] != "" {
			c, err := base64.RawURLEncoding.DecodeString(vals[0])
			if err != nil || len(c) == 0 {
				problems = append(problems, fmt.Sprintf("from %q is not a checkpoint this server gave as next", vals[0]))
			}
			p.from = string(c)
		}
	}
	if len(problems) > 0 {
		return paging{}, badQuery(strings.Join(problems, "; "))
	}
	return p, nil
}

// envelope is a page with totals, {total, start, limit, <items>}, or a
// checkpoint page, {<items>, next}.
type envelope map[string]any

// pageOf returns the items of the page p asks for and, for checkpoint
// paging, the checkpoint of the next page: items after p.from in the order
// of cursors, next the cursor of the last one returned when more follow,
// "" on the last page.
func pageOf[T any](p paging, items []T, cursor func(T) string) (page []T, next string) {
	if p.checkpoint {
		start := 0
		if p.from != "" {
			start = len(items)
			if i := slices.IndexFunc(items, func(it T) bool { return cursor(it) > p.from }); i >= 0 {
				start = i
			}
		}
		end := min(start+p.perPage, len(items))
		if end < len(items) {
			next = base64.RawURLEncoding.EncodeToString([]byte(cursor(items[end-1])))
		}
		return items[start:end], next
	}
	start := min(p.page*p.perPage, len(items))
	end := min(start+p.perPage, len(items))
	return items[start:end], ""
}

func orEmptyOf[T any](items []T) []T {
	if items == nil {
		return []T{}
	}
	return items
}

// timeCursor is the checkpoint of an item listed in order of creation, then
// ID: the creation time in fixed-width nanoseconds, so that cursors compare
// as the items are ordered.
func timeCursor(t time.Time, id string) string {
	return fmt.Sprintf("%020d/%s", t.UnixNano(), id)
}

// listing describes one Auth0 listing.
type listing[T, V any] struct {
	key  string                                 // the items' key in an envelope
	load func(ctx context.Context) ([]T, error) //
	view func(T) V                              //
	// cursor orders the items and is their checkpoint (from/next); nil:
	// the store's order, and no checkpoint paging.
	cursor func(T) string
	// filters are the query parameters the handler reads itself.
	filters []string
	// keep, if set, says which items pass the handler's filters.
	keep func(T) bool
}

// listed serves a list that pages by page/per_page only, in the order the
// store gives (from/take are a 400 that says so); filters are the query
// parameters the handler reads itself.
func listed[T, V any](r *http.Request, key string, load func(ctx context.Context) ([]T, error), view func(T) V, filters ...string) (int, any, *Error) {
	return listing[T, V]{key: key, load: load, view: view, filters: filters}.serve(r)
}

// serve answers the listing: every query parameter known (or a 400 that
// names the others), the items filtered, ordered, paged and shaped.
func (l listing[T, V]) serve(r *http.Request) (int, any, *Error) {
	q := r.URL.Query()
	if err := knownParams(q, l.filters, pagingParams, shapeParams); err != nil {
		return 0, nil, err
	}
	p, perr := parsePaging(q)
	if perr != nil {
		return 0, nil, perr
	}
	if p.checkpoint && l.cursor == nil {
		return 0, nil, badQuery("from and take are not offered on this list: page through it with page and per_page")
	}
	sh, perr := parseShape(q)
	if perr != nil {
		return 0, nil, perr
	}
	items, err := l.load(r.Context())
	if err != nil {
		return 0, nil, translate(err, resource{})
	}
	if l.keep != nil {
		items = slices.DeleteFunc(items, func(it T) bool { return !l.keep(it) })
	}
	if l.cursor != nil {
		slices.SortStableFunc(items, func(a, b T) int { return cmp.Compare(l.cursor(a), l.cursor(b)) })
	}
	page, next := pageOf(p, items, l.cursor)
	shaped := shapeAll(sh, page, l.view)
	switch {
	case p.checkpoint:
		out := envelope{l.key: shaped}
		if next != "" {
			out["next"] = next
		}
		return http.StatusOK, out, nil
	case p.totals:
		return http.StatusOK, envelope{"total": len(items), "start": p.page * p.perPage, "limit": p.perPage, l.key: shaped}, nil
	}
	return http.StatusOK, shaped, nil
}

func shapeAll[T, V any](sh shape, items []T, view func(T) V) []any {
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = sh.apply(view(it))
	}
	return out
}

var shapeParams = []string{paramFields, paramIncludeFields, ParamTimes}

// knownParams reports, as one 400, the query parameters of q outside the
// given sets, so none is silently ignored.
func knownParams(q url.Values, sets ...[]string) *Error {
	var unknown []string
	for name := range q {
		if !slices.ContainsFunc(sets, func(set []string) bool { return slices.Contains(set, name) }) {
			unknown = append(unknown, strconv.Quote(name))
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	known := slices.Concat(sets...)
	return badQuery(fmt.Sprintf("unsupported query parameter %s; this operation takes %s", strings.Join(unknown, ", "), strings.Join(known, ", ")))
}

// shape is the field selection of a read: Auth0's fields/include_fields,
// and whether gatehouse's times are shown.
type shape struct {
	fields  []string // nil: every field
	include bool     // fields are the ones to keep (true) or to drop
	times   bool
}

func parseShape(q url.Values) (shape, *Error) {
	sh := shape{include: true}
	var problems []string
	if vals, ok := q[paramFields]; ok {
		if len(vals) > 1 {
			problems = append(problems, "fields is given more than once; list them separated by commas")
		} else {
			for f := range strings.SplitSeq(vals[0], ",") {
				if f = strings.TrimSpace(f); f != "" {
					sh.fields = append(sh.fields, f)
				}
			}
		}
	}
	boolParam := func(name string, dst *bool) {
		if vals, ok := q[name]; ok {
			switch {
			case len(vals) == 1 && vals[0] == "true":
				*dst = true
			case len(vals) == 1 && vals[0] == "false":
				*dst = false
			default:
				problems = append(problems, name+" must be true or false")
			}
		}
	}
	boolParam(paramIncludeFields, &sh.include)
	boolParam(ParamTimes, &sh.times)
	if len(problems) > 0 {
		return shape{}, badQuery(strings.Join(problems, "; "))
	}
	return sh, nil
}

// gatehouseOnly is a view with fields that Auth0's object does not have,
// shown only when the caller asks with gatehouse_times=true.
type gatehouseOnly interface {
	gatehouseFields() []string
}

// apply returns v as the shape asks: v itself when it changes nothing,
// else its JSON object with the fields selected.
func (sh shape) apply(v any) any {
	g, hidden := v.(gatehouseOnly)
	if sh.fields == nil && (sh.times || !hidden) {
		return v
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return v // writeJSON reports it
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return v
	}
	if hidden && !sh.times {
		for _, f := range g.gatehouseFields() {
			delete(obj, f)
		}
	}
	if sh.fields != nil {
		for k := range obj {
			if slices.Contains(sh.fields, k) != sh.include {
				delete(obj, k)
			}
		}
	}
	return obj
}

// one answers a read or write of one object. A read's query may select
// fields and ask for gatehouse's times, and anything else is a 400. A
// write has been made when it answers: its query is only read for
// gatehouse_times=true (a malformed or unknown parameter cannot undo it).
func one(r *http.Request, status int, v any) (int, any, *Error) {
	q := r.URL.Query()
	if r.Method != http.MethodGet {
		return status, shape{include: true, times: q.Get(ParamTimes) == "true"}.apply(v), nil
	}
	if err := knownParams(q, shapeParams); err != nil {
		return 0, nil, err
	}
	sh, err := parseShape(q)
	if err != nil {
		return 0, nil, err
	}
	return status, sh.apply(v), nil
}
