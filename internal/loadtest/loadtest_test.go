package loadtest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tokenServer is a fake client-credentials endpoint: it answers 200 with a
// token for good credentials and 401 for any secret "wrong", and counts
// requests per client and new connections.
type tokenServer struct {
	*httptest.Server
	mu    sync.Mutex
	perID map[string]int
	// peers are the client addresses that sent requests: one per
	// connection the tool used. (Counting accepted connections instead
	// would also count strays from other test processes on this machine.)
	peers   map[string]bool
	handler func(w http.ResponseWriter, r *http.Request) bool // true: handled
}

func newTokenServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request) bool) *tokenServer {
	t.Helper()
	ts := &tokenServer{perID: map[string]int{}, peers: map[string]bool{}, handler: handler}
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	ts.mu.Lock()
	ts.peers[r.RemoteAddr] = true
	ts.mu.Unlock()
	if ts.handler != nil && ts.handler(w, r) {
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	id, sec, ok := r.BasicAuth()
	if !ok {
		id, sec = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	ts.mu.Lock()
	ts.perID[id]++
	ts.mu.Unlock()
	if sec == "wrong" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"access_token":"t.` + id + `.s","token_type":"Bearer","expires_in":60,"scope":"` + r.PostForm.Get("scope") + `"}`))
}

func creds(secrets ...string) []Credential {
	out := make([]Credential, len(secrets))
	for i, s := range secrets {
		out[i] = Credential{ClientID: "c" + string(rune('a'+i)), ClientSecret: s}
	}
	return out
}

// TestRequestCount: a request-count run sends exactly that many requests,
// round-robin over the clients, and sorts the answers into tokens and errors
// by status, over keep-alive connections.
func TestRequestCount(t *testing.T) {
	for _, auth := range []string{AuthPost, AuthBasic} {
		t.Run(auth, func(t *testing.T) {
			ts := newTokenServer(t, nil)
			res, err := Run(context.Background(), Config{
				TokenURL: ts.URL + "/oauth/token", Audience: "https://api", Scope: "read",
				Credentials: creds("s1", "s2", "wrong"), Auth: auth, Workers: 4, Requests: 300,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != 300 || res.OK != 200 {
				t.Errorf("requests %d tokens %d, want 300 and 200", res.Requests, res.OK)
			}
			if len(res.Errors) != 1 || res.Errors["401"] != 100 {
				t.Errorf("errors %v, want 100 × 401", res.Errors)
			}
			for _, id := range []string{"ca", "cb", "cc"} {
				if n := ts.perID[id]; n != 100 {
					t.Errorf("client %s got %d requests, want 100", id, n)
				}
			}
			if got := res.Latency.Count(); got != 300 {
				t.Errorf("latency count %d, want 300", got)
			}
			ts.mu.Lock()
			n := len(ts.peers)
			ts.mu.Unlock()
			if n > 4 {
				t.Errorf("%d connections for 4 workers: keep-alive is not working", n)
			}
			if s := res.Summary(); s.Tokens != 200 || s.Workers != 4 || s.Clients != 3 || s.LatencyMS.Max <= 0 {
				t.Errorf("summary %+v", s)
			}
		})
	}
}

// TestErrorKinds: every failure lands under its own key.
func TestErrorKinds(t *testing.T) {
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request) bool
		key     string
	}{
		{"status 503", func(w http.ResponseWriter, _ *http.Request) bool {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}, "503"},
		{"status 429", func(w http.ResponseWriter, _ *http.Request) bool {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}, "429"},
		{"200 without a token", func(w http.ResponseWriter, _ *http.Request) bool {
			_, _ = w.Write([]byte(`{"token_type":"Bearer"}`))
			return true
		}, ErrBadResponse},
		{"connection closed", func(w http.ResponseWriter, _ *http.Request) bool {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close()
			}
			return true
		}, ErrTransport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTokenServer(t, tt.handler)
			res, err := Run(context.Background(), Config{TokenURL: ts.URL, Credentials: creds("s"), Workers: 2, Requests: 10})
			if err != nil {
				t.Fatal(err)
			}
			if res.OK != 0 || res.Requests != 10 || res.Errors[tt.key] != 10 || len(res.Errors) != 1 {
				t.Errorf("tokens %d requests %d errors %v, want 10 × %s", res.OK, res.Requests, res.Errors, tt.key)
			}
		})
	}
}

// TestDuration: a duration run stops by itself, and what it counts is what
// the server saw.
func TestDuration(t *testing.T) {
	ts := newTokenServer(t, nil)
	res, err := Run(context.Background(), Config{TokenURL: ts.URL, Credentials: creds("a", "b"), Workers: 3, Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	served := ts.perID["ca"] + ts.perID["cb"]
	if res.OK == 0 || res.OK != res.Requests || int64(served) != res.Requests {
		t.Errorf("tokens %d requests %d, server saw %d", res.OK, res.Requests, served)
	}
	if res.Elapsed < 100*time.Millisecond {
		t.Errorf("elapsed %s, shorter than the duration", res.Elapsed)
	}
}

// TestCancel: a cancelled context ends the run; requests cut short are not
// counted as errors.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	release := make(chan struct{})
	ts := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) bool {
		once.Do(cancel)
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return true
	})
	t.Cleanup(func() { close(release) }) // runs before the server closes
	res, err := Run(ctx, Config{TokenURL: ts.URL, Credentials: creds("a"), Workers: 2, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 0 || res.OK != 0 {
		t.Errorf("tokens %d errors %v after cancel, want none", res.OK, res.Errors)
	}
}

// TestProgress: the progress callback runs while requests are in flight and
// reports the counts so far.
func TestProgress(t *testing.T) {
	reported := make(chan Progress, 1)
	ts := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) bool {
		<-reported // answer only once a progress line was written
		return false
	})
	var first Progress
	var calls atomic.Int64
	res, err := Run(context.Background(), Config{
		TokenURL: ts.URL, Credentials: creds("a"), Workers: 1, Requests: 1, ProgressInterval: time.Millisecond,
		Progress: func(p Progress) {
			if calls.Add(1) == 1 {
				first = p
				reported <- p
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if first.Requests != 0 || first.Elapsed <= 0 {
		t.Errorf("first progress %+v, want no request finished yet", first)
	}
	if res.OK != 1 {
		t.Errorf("tokens %d, want 1", res.OK)
	}
}

func TestValidate(t *testing.T) {
	good := Config{TokenURL: "http://127.0.0.1:1/oauth/token", Credentials: creds("a"), Requests: 1}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"valid", func(*Config) {}, nil},
		{"no url", func(c *Config) { c.TokenURL = "" }, []string{"token URL"}},
		{"relative url", func(c *Config) { c.TokenURL = "/oauth/token" }, []string{"token URL"}},
		{"ftp url", func(c *Config) { c.TokenURL = "ftp://h/x" }, []string{"token URL"}},
		{"no credentials", func(c *Config) { c.Credentials = nil }, []string{"no client credentials"}},
		{"empty secret", func(c *Config) { c.Credentials = []Credential{{ClientID: "x"}} }, []string{"credential 1"}},
		{"auth", func(c *Config) { c.Auth = "client_secret_jwt" }, []string{"auth method"}},
		{"private_key_jwt without keys", func(c *Config) { c.Auth = AuthPrivateKeyJWT }, []string{"private_key"}},
		{"workers", func(c *Config) { c.Workers = -1 }, []string{"workers"}},
		{"both", func(c *Config) { c.Duration = time.Second }, []string{"not both"}},
		{"neither", func(c *Config) { c.Requests = 0 }, []string{"give a duration or a request count"}},
		{"negative duration", func(c *Config) { c.Requests, c.Duration = 0, -time.Second }, []string{"negative"}},
		{"everything at once", func(c *Config) { c.TokenURL, c.Credentials, c.Workers = "", nil, -2 }, []string{"token URL", "no client credentials", "workers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if _, err := Run(context.Background(), c); err == nil {
				t.Error("Run accepted an invalid config")
			}
		})
	}
}

func TestCredentialsFile(t *testing.T) {
	in := "{\"client_id\":\"a\",\"client_secret\":\"s1\"}\n\n{\"client_id\":\"b\",\"client_secret\":\"s2\"}\n"
	got, err := ReadCredentials(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1] != (Credential{ClientID: "b", ClientSecret: "s2"}) {
		t.Fatalf("got %v", got)
	}
	var sb strings.Builder
	if err := WriteCredentials(&sb, got); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCredentials(strings.NewReader(sb.String()))
	if err != nil || len(back) != 2 || back[0] != got[0] {
		t.Fatalf("round trip: %v %v", back, err)
	}
	for name, bad := range map[string]string{
		"not json":       "{\"client_id\":\"a\",\"client_secret\":\"s\"}\nnope\n",
		"missing secret": "{\"client_id\":\"a\"}\n",
		"empty":          "\n\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadCredentials(strings.NewReader(bad))
			if err == nil {
				t.Fatal("no error")
			}
			if name == "not json" && !strings.Contains(err.Error(), "line 2") {
				t.Errorf("error %q does not name line 2", err)
			}
		})
	}
	if _, err := ReadCredentials(errReader{}); err == nil {
		t.Error("read error not reported")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

// TestRate: with a rate, request n is not sent before start + n/rate, and
// every request is still answered and counted.
func TestRate(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	ts := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		return false
	})
	start := time.Now()
	res, err := Run(context.Background(), Config{TokenURL: ts.URL, Credentials: creds("a"), Workers: 4, Requests: 21, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 21 {
		t.Fatalf("tokens %d, want 21", res.OK)
	}
	// The last request was due 20 ms after the start: it cannot have come
	// earlier (a lower bound only, which a slow machine cannot break).
	last := arrivals[len(arrivals)-1]
	if d := last.Sub(start); d < 20*time.Millisecond {
		t.Errorf("21 requests at 1000/s took %s, want at least 20ms", d)
	}
	if err := (&Config{TokenURL: ts.URL, Credentials: creds("a"), Requests: 1, Rate: -1}).Validate(); err == nil {
		t.Error("a negative rate was accepted")
	}
}

// TestSamples: with a SampleInterval each sample holds only its own
// interval's answers — the counts add up to the run's, and a server that
// turns slow half-way shows in the later samples' p99 and not in the
// earlier ones'.
func TestSamples(t *testing.T) {
	start := time.Now()
	const slowAfter = 400 * time.Millisecond
	ts := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) bool {
		if time.Since(start) > slowAfter {
			time.Sleep(40 * time.Millisecond)
		}
		return false
	})
	var samples []Sample // one goroutine calls Sample
	res, err := Run(context.Background(), Config{
		TokenURL: ts.URL, Credentials: creds("a", "wrong"), Workers: 2, Duration: 900 * time.Millisecond,
		SampleInterval: 150 * time.Millisecond, Sample: func(s Sample) { samples = append(samples, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) < 5 || len(samples) > 8 {
		t.Fatalf("%d samples of 150ms in a 900ms run", len(samples))
	}
	var ok, failed int64
	var elapsed time.Duration
	for i, s := range samples {
		ok += s.OK
		failed += s.Errors
		elapsed += s.Interval
		if n := int64(s.Latency.Count()); n != s.OK+s.Errors {
			t.Errorf("sample %d: %d latencies for %d answers", i, n, s.OK+s.Errors)
		}
		if s.Elapsed != elapsed {
			t.Errorf("sample %d: elapsed %s, want the sum of the intervals %s", i, s.Elapsed, elapsed)
		}
	}
	if ok != res.OK || ok+failed != res.Requests {
		t.Errorf("samples count %d tokens and %d errors, the run %d and %d", ok, failed, res.OK, res.Requests-res.OK)
	}
	first, last := samples[0].Latency.Quantile(0.99), samples[len(samples)-1].Latency.Quantile(0.99)
	if first >= 40*time.Millisecond || last < 40*time.Millisecond {
		t.Errorf("p99 of the first sample %s, of the last %s: want under and over 40ms", first, last)
	}
}
