package server

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/oidc"
)

// Snapshots is where the CORS policy reads the clients' web origins
// (*catalog.Catalog).
type Snapshots interface {
	Snapshot() *catalog.Snapshot
}

var (
	_ Snapshots    = (*catalog.Catalog)(nil)
	_ oidc.Origins = (*webOrigins)(nil)
)

// corsHeaders are the request headers a browser app may send to the token
// and userinfo endpoints: the form's or JSON's type, HTTP Basic or a Bearer
// token, the client telemetry header Auth0's SDKs add, and a DPoP proof
// (RFC 9449 §4.1).
var corsHeaders = []string{"authorization", "auth0-client", "content-type", "dpop"}

// corsMaxAge is how long a browser may cache a preflight's answer (s).
const corsMaxAge = 600

// webOrigins is the CORS policy of the endpoints browser apps call (the
// Fetch standard's CORS protocol): a response is readable by a page only
// when its Origin is, exactly, one of the web origins of the client the
// request is for; no credentials mode (no cookies are read, so
// Access-Control-Allow-Credentials is never sent). A preflight names no
// client, so it is answered for an origin that some client lists.
type webOrigins struct {
	src Snapshots
	// idx is the set of every client's origins for one snapshot, rebuilt
	// on the first preflight after a change (linear in the clients).
	idx atomic.Pointer[originIndex]
}

type originIndex struct {
	snap    *catalog.Snapshot
	origins map[string]bool
}

// AnyAllows reports whether some client lists origin.
func (c *webOrigins) AnyAllows(origin string) bool {
	snap := c.src.Snapshot()
	idx := c.idx.Load()
	if idx == nil || idx.snap != snap {
		idx = &originIndex{snap: snap, origins: map[string]bool{}}
		snap.EachClient(func(cl *catalog.Client) bool {
			for _, o := range cl.WebOrigins {
				idx.origins[o] = true
			}
			return true
		})
		c.idx.Store(idx)
	}
	return idx.origins[origin]
}

// ClientAllows reports whether the client lists origin.
func (c *webOrigins) ClientAllows(origin, clientID string) bool {
	cl, ok := c.src.Snapshot().Client(clientID)
	return ok && !cl.Disabled && slices.Contains(cl.WebOrigins, origin)
}

// allow lets the page at origin read the response, and the server's DPoP
// nonce in it (RFC 9449 §8).
func allow(w http.ResponseWriter, origin string) {
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Set("Access-Control-Expose-Headers", "DPoP-Nonce")
}

// preflight answers an OPTIONS preflight for methods: 204 with the CORS
// headers when some client lists the origin and the method and headers
// asked for are ones these endpoints take, else 403 without them (the
// browser then refuses the request). It reports whether r was a preflight.
func (c *webOrigins) preflight(w http.ResponseWriter, r *http.Request, methods string) bool {
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	w.Header().Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	origin := r.Header.Get("Origin")
	ok := origin != "" && c.AnyAllows(origin) && strings.Contains(", "+methods+", ", ", "+r.Header.Get("Access-Control-Request-Method")+", ")
	for _, h := range strings.Split(r.Header.Get("Access-Control-Request-Headers"), ",") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" && !slices.Contains(corsHeaders, h) {
			ok = false
		}
	}
	if !ok {
		w.WriteHeader(http.StatusForbidden)
		return true
	}
	h := w.Header()
	allow(w, origin)
	h.Set("Access-Control-Allow-Methods", methods)
	h.Set("Access-Control-Allow-Headers", strings.Join(corsHeaders, ", "))
	h.Set("Access-Control-Max-Age", strconv.Itoa(corsMaxAge))
	w.WriteHeader(http.StatusNoContent)
	return true
}

// userinfo wraps the userinfo endpoint, which applies the policy to its
// answers itself (oidc.Userinfo.Origins): preflights are answered here.
func (c *webOrigins) userinfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.preflight(w, r, "GET, POST") {
			next.ServeHTTP(w, r)
		}
	})
}

// token wraps the token endpoint: preflights are answered here, and a
// request with an Origin is answered with Access-Control-Allow-Origin when
// the client it names (client_id in the form or JSON body, or HTTP Basic)
// lists that origin. Requests without Origin (servers, machines) are passed
// on untouched: their bodies are not read twice.
func (c *webOrigins) token(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.preflight(w, r, "POST") {
			return
		}
		origin := r.Header.Get("Origin")
		if origin == "" || r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Origin")
		body, err := io.ReadAll(r.Body) // capped by observe
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
		if id := requestClientID(r, body); id != "" && c.ClientAllows(origin, id) {
			allow(w, origin)
		}
		next.ServeHTTP(w, r)
	})
}

// errReader returns err (or io.EOF) once the body read ahead is consumed, so
// that the endpoint sees a body that was too large as such.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

// requestClientID is the client_id a token request names: HTTP Basic's
// user name, else the body's (form or JSON). A malformed request names none;
// the endpoint refuses it as ever.
func requestClientID(r *http.Request, body []byte) string {
	if id, _, ok := r.BasicAuth(); ok {
		if u, err := url.QueryUnescape(id); err == nil {
			return u
		}
		return ""
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded":
		if v, err := url.ParseQuery(string(body)); err == nil && len(v["client_id"]) == 1 {
			return v.Get("client_id")
		}
	case "application/json":
		var v struct {
			ClientID string `json:"client_id"`
		}
		if json.Unmarshal(body, &v) == nil {
			return v.ClientID
		}
	}
	return ""
}
