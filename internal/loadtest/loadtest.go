package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Credential is one client's credentials (RFC 6749 §2.3.1): a secret, or
// for AuthPrivateKeyJWT a PEM PKCS #8 private key.
type Credential struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
	PrivateKey   string `json:"private_key,omitempty"`
}

// Client authentication methods (RFC 7591 §2 names).
const (
	AuthPost  = "client_secret_post"
	AuthBasic = "client_secret_basic"
)

// Config describes one load run.
type Config struct {
	// TokenURL is the token endpoint (RFC 6749 §3.2).
	TokenURL string
	// Audience and Scope go into every request when not empty.
	Audience, Scope string
	// Credentials are used round-robin, one request each in turn.
	Credentials []Credential
	// Auth is AuthPost (default), AuthBasic or AuthPrivateKeyJWT.
	Auth string
	// AssertionAudience is the aud of AuthPrivateKeyJWT's assertions: the
	// issuer (default: TokenURL).
	AssertionAudience string
	// Workers is the number of concurrent closed-loop workers (default 32).
	Workers int
	// Duration ends the run after that long; Requests ends it after that many
	// requests. Exactly one must be set.
	Duration time.Duration
	Requests int64
	// Rate, when positive, caps the requests started per second: request n
	// is due at start + n/Rate and its latency counts from when it was due,
	// so a server that falls behind is charged for the queue it causes
	// (no coordinated omission). Zero means as fast as the workers go.
	Rate float64
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
	// Progress, when set, is called every ProgressInterval (default 1s)
	// while the run lasts, from one goroutine.
	Progress         func(Progress)
	ProgressInterval time.Duration
	// SampleInterval, when positive, has Run call Sample every interval,
	// from one goroutine, with what was answered in that interval alone
	// (and once more for the last, shorter one): a soak's trend, where a
	// run's overall percentiles would hide a tail that grows with time.
	SampleInterval time.Duration
	Sample         func(Sample)
	// DPoP, when set, makes a DPoP proof (RFC 9449) for each request, sent
	// in the DPoP header: a proof per request, as a client must. It is
	// signed before the request's clock starts, so latency stays the
	// server's; the signing still takes the bench's CPU.
	DPoP func(method, url string) (string, error)
	// Transport replaces the default keep-alive transport (tests).
	Transport http.RoundTripper
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Progress is a running count, for a progress line.
type Progress struct {
	Elapsed  time.Duration
	Requests int64
	OK       int64
	Errors   int64
	// Rate is the tokens per second over the last interval.
	Rate float64
}

// Sample is what one SampleInterval saw.
type Sample struct {
	// Elapsed is the time from the start to the end of the interval;
	// Interval its length.
	Elapsed, Interval time.Duration
	// OK and Errors count the requests answered in the interval.
	OK, Errors int64
	// Latency is of the requests answered in the interval.
	Latency *Histogram
}

// Rate is OK per second of the interval.
func (s Sample) Rate() float64 {
	if s.Interval <= 0 {
		return 0
	}
	return float64(s.OK) / s.Interval.Seconds()
}

// Error keys in Result.Errors besides HTTP status codes.
const (
	// ErrTransport counts requests that got no HTTP response.
	ErrTransport = "transport"
	// ErrBadResponse counts 200 responses without an access_token.
	ErrBadResponse = "bad_response"
	// ErrSign counts client assertions that could not be signed.
	ErrSign = "sign"
)

// Result is the outcome of a run.
type Result struct {
	Workers  int
	Clients  int
	Elapsed  time.Duration
	Requests int64
	// OK counts 200 responses that carry an access token.
	OK int64
	// Errors counts the rest by HTTP status code ("401") or by ErrTransport
	// and ErrBadResponse.
	Errors map[string]int64
	// Latency covers every request that got an HTTP response.
	Latency *Histogram
}

// TokensPerSecond is OK per second of Elapsed.
func (r *Result) TokensPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// Summary is the result in plain numbers, for JSON output.
type Summary struct {
	Workers         int              `json:"workers"`
	Clients         int              `json:"clients"`
	ElapsedSeconds  float64          `json:"elapsed_seconds"`
	Requests        int64            `json:"requests"`
	Tokens          int64            `json:"tokens"`
	TokensPerSecond float64          `json:"tokens_per_second"`
	LatencyMS       LatencySummary   `json:"latency_ms"`
	Errors          map[string]int64 `json:"errors"`
}

// LatencySummary holds latencies in milliseconds.
type LatencySummary struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// Summary returns r as plain numbers.
func (r *Result) Summary() Summary {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	h := r.Latency
	return Summary{
		Workers: r.Workers, Clients: r.Clients, ElapsedSeconds: r.Elapsed.Seconds(),
		Requests: r.Requests, Tokens: r.OK, TokensPerSecond: r.TokensPerSecond(),
		LatencyMS: LatencySummary{Mean: ms(h.Mean()), P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)),
			P99: ms(h.Quantile(0.99)), Max: ms(h.Max())},
		Errors: r.Errors,
	}
}

// ErrorKeys returns the keys of r.Errors in order.
func (r *Result) ErrorKeys() []string {
	keys := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Validate reports every problem with c at once.
func (c *Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.TokenURL); c.TokenURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("token URL %q must be an absolute http or https URL", c.TokenURL))
	}
	if len(c.Credentials) == 0 {
		errs = append(errs, errors.New("no client credentials"))
	}
	for i, cr := range c.Credentials {
		if c.Auth == AuthPrivateKeyJWT {
			if _, _, err := ParsePrivateKey(cr.PrivateKey); cr.ClientID == "" || err != nil {
				errs = append(errs, fmt.Errorf("credential %d lacks client_id or a private_key (%v)", i+1, err))
				break
			}
			continue
		}
		if cr.ClientID == "" || cr.ClientSecret == "" {
			errs = append(errs, fmt.Errorf("credential %d lacks client_id or client_secret", i+1))
			break
		}
	}
	if c.Auth != "" && c.Auth != AuthPost && c.Auth != AuthBasic && c.Auth != AuthPrivateKeyJWT {
		errs = append(errs, fmt.Errorf("auth method %q must be %s, %s or %s", c.Auth, AuthPost, AuthBasic, AuthPrivateKeyJWT))
	}
	if c.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers %d must be at least 1", c.Workers))
	}
	switch {
	case c.Duration < 0:
		errs = append(errs, fmt.Errorf("duration %s is negative", c.Duration))
	case c.Requests < 0:
		errs = append(errs, fmt.Errorf("requests %d is negative", c.Requests))
	case c.Duration > 0 && c.Requests > 0:
		errs = append(errs, errors.New("give a duration or a request count, not both"))
	case c.Duration == 0 && c.Requests == 0:
		errs = append(errs, errors.New("give a duration or a request count"))
	}
	if c.Rate < 0 {
		errs = append(errs, fmt.Errorf("rate %g is negative", c.Rate))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", c.Timeout))
	}
	if c.SampleInterval < 0 || (c.SampleInterval > 0) != (c.Sample != nil) {
		errs = append(errs, fmt.Errorf("sample interval %s needs a Sample function, and one only with a positive interval", c.SampleInterval))
	}
	return errors.Join(errs...)
}

// request is one credential's prepared request.
type request struct {
	body   []byte
	basic  string           // Authorization header value, or ""
	signer *assertionSigner // AuthPrivateKeyJWT: body is built per request
}

func prepare(c *Config) ([]request, error) {
	out := make([]request, len(c.Credentials))
	for i, cr := range c.Credentials {
		v := url.Values{"grant_type": {"client_credentials"}}
		if c.Audience != "" {
			v.Set("audience", c.Audience)
		}
		if c.Scope != "" {
			v.Set("scope", c.Scope)
		}
		if c.Auth == AuthPrivateKeyJWT {
			s, err := newAssertionSigner(c, cr, v)
			if err != nil {
				return nil, fmt.Errorf("credential %d: %w", i+1, err)
			}
			out[i].signer = s
			continue
		}
		if c.Auth == AuthBasic {
			req, _ := http.NewRequest(http.MethodPost, "http://x/", nil)
			// RFC 6749 §2.3.1: form-URL-encode id and secret, then Basic.
			req.SetBasicAuth(url.QueryEscape(cr.ClientID), url.QueryEscape(cr.ClientSecret))
			out[i].basic = req.Header.Get("Authorization")
		} else {
			v.Set("client_id", cr.ClientID)
			v.Set("client_secret", cr.ClientSecret)
		}
		out[i].body = []byte(v.Encode())
	}
	return out, nil
}

// Run sends token requests as c says until the duration passes, the request
// count is reached or ctx is done, and returns what it measured. Requests cut
// short by ctx are not counted.
func Run(ctx context.Context, c Config) (*Result, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Workers == 0 {
		c.Workers = 32
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	rt := c.Transport
	if rt == nil {
		tr := &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        c.Workers,
			MaxIdleConnsPerHost: c.Workers,
			MaxConnsPerHost:     c.Workers, // one connection per worker, no more
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		}
		defer tr.CloseIdleConnections()
		rt = tr
	}
	hc := &http.Client{Transport: rt, Timeout: c.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	reqs, err := prepare(&c)
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: &c, hc: hc, reqs: reqs}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	start := c.Now()
	r.start = start
	if c.Duration > 0 {
		t := time.AfterFunc(c.Duration, func() { r.stop.Store(true) })
		defer t.Stop()
	}
	workers := make([]*worker, c.Workers)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{r: r, errors: map[string]int64{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(runCtx)
		}()
	}
	done := make(chan struct{})
	var pwg sync.WaitGroup
	if c.Progress != nil {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			r.report(start, done)
		}()
	}
	if c.Sample != nil {
		r.workers = workers
		pwg.Go(func() { r.sample(start, done) })
	}
	wg.Wait()
	elapsed := c.Now().Sub(start)
	close(done)
	pwg.Wait()

	res := &Result{Workers: c.Workers, Clients: len(c.Credentials), Elapsed: elapsed, Errors: map[string]int64{}, Latency: &Histogram{}}
	for _, w := range workers {
		res.Requests += w.requests
		res.OK += w.ok
		for k, n := range w.errors {
			res.Errors[k] += n
		}
		res.Latency.Merge(&w.latency)
	}
	return res, nil
}

type runner struct {
	cfg    *Config
	start  time.Time
	hc     *http.Client
	reqs   []request
	next   atomic.Uint64 // round-robin position and request ticket
	stop   atomic.Bool
	ok     atomic.Int64 // live counts for progress
	failed atomic.Int64

	workers []*worker // for sample
}

// ticket claims the next request, or reports that the run is over.
func (r *runner) ticket() (uint64, bool) {
	if r.stop.Load() {
		return 0, false
	}
	n := r.next.Add(1)
	if r.cfg.Requests > 0 && n > uint64(r.cfg.Requests) {
		return 0, false
	}
	return n - 1, true
}

func (r *runner) report(start time.Time, done <-chan struct{}) {
	t := time.NewTicker(r.cfg.ProgressInterval)
	defer t.Stop()
	last, lastOK := start, int64(0)
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		now := r.cfg.Now()
		ok, failed := r.ok.Load(), r.failed.Load()
		rate := 0.0
		if dt := now.Sub(last).Seconds(); dt > 0 {
			rate = float64(ok-lastOK) / dt
		}
		last, lastOK = now, ok
		r.cfg.Progress(Progress{Elapsed: now.Sub(start), Requests: ok + failed, OK: ok, Errors: failed, Rate: rate})
	}
}

// sample calls Sample every SampleInterval and once more when done is
// closed, with the requests answered since the last call.
func (r *runner) sample(start time.Time, done <-chan struct{}) {
	t := time.NewTicker(r.cfg.SampleInterval)
	defer t.Stop()
	last := start
	for final := false; !final; {
		select {
		case <-done:
			final = true
		case <-t.C:
		}
		now := r.cfg.Now()
		h := &Histogram{}
		var ok, failed int64
		for _, w := range r.workers {
			w.windowMu.Lock()
			h.Merge(&w.window)
			w.window.reset()
			ok += w.windowOK
			failed += w.windowFailed
			w.windowOK, w.windowFailed = 0, 0
			w.windowMu.Unlock()
		}
		if final && ok == 0 && failed == 0 {
			return
		}
		r.cfg.Sample(Sample{Elapsed: now.Sub(start), Interval: now.Sub(last), OK: ok, Errors: failed, Latency: h})
		last = now
	}
}

type worker struct {
	r        *runner
	requests int64
	ok       int64
	errors   map[string]int64
	latency  Histogram
	buf      bytes.Buffer
	form     []byte // AuthPrivateKeyJWT's body, rebuilt per request

	windowMu     sync.Mutex // with Config.Sample: the current interval's latencies and counts
	window       Histogram
	windowOK     int64
	windowFailed int64
}

// tokenMarker is what a successful token response must contain (RFC 6749
// §5.1); the body is not parsed further, to keep the load tool cheap.
var tokenMarker = []byte(`"access_token":"`)

func (w *worker) run(ctx context.Context) {
	r := w.r
	body := bytes.NewReader(nil)
	for ctx.Err() == nil {
		n, ok := r.ticket()
		if !ok {
			return
		}
		p := &r.reqs[n%uint64(len(r.reqs))]
		payload := p.body
		if p.signer != nil {
			var err error
			if w.form, err = p.signer.body(w.form, r.cfg.Now()); err != nil {
				w.fail(ErrSign)
				continue
			}
			payload = w.form
		}
		body.Reset(payload)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.TokenURL, body)
		if err != nil {
			w.fail(ErrTransport)
			continue
		}
		req.ContentLength = int64(len(payload))
		req.Header["Content-Type"] = []string{"application/x-www-form-urlencoded"}
		req.Header["Accept"] = []string{"application/json"}
		if p.basic != "" {
			req.Header["Authorization"] = []string{p.basic}
		}
		if r.cfg.DPoP != nil {
			proof, err := r.cfg.DPoP(http.MethodPost, r.cfg.TokenURL)
			if err != nil {
				w.fail(ErrTransport)
				continue
			}
			req.Header["Dpop"] = []string{proof}
		}
		t0 := r.cfg.Now()
		if r.cfg.Rate > 0 {
			due := r.start.Add(time.Duration(float64(n) / r.cfg.Rate * float64(time.Second)))
			if r.cfg.Duration > 0 && due.Sub(r.start) >= r.cfg.Duration {
				return
			}
			if d := due.Sub(t0); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return
				}
			}
			t0 = due
		}
		resp, err := r.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return // cut short: not counted
			}
			w.fail(ErrTransport)
			continue
		}
		w.buf.Reset()
		_, err = w.buf.ReadFrom(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.fail(ErrTransport)
			continue
		}
		took := r.cfg.Now().Sub(t0)
		switch {
		case resp.StatusCode != http.StatusOK:
			w.finish(took, true, strconv.Itoa(resp.StatusCode))
		case !bytes.Contains(w.buf.Bytes(), tokenMarker):
			w.finish(took, true, ErrBadResponse)
		default:
			w.finish(took, true, "")
		}
	}
}

// fail counts a request that failed before an answer was read (no latency).
func (w *worker) fail(key string) { w.finish(0, false, key) }

// finish counts one request: a token when key is empty, else an error of
// that kind, with its latency when timed. With Config.Sample the latency
// and the count enter the current interval under one lock, so that a
// sample never holds a latency without its answer or the reverse.
func (w *worker) finish(took time.Duration, timed bool, key string) {
	if timed {
		w.latency.Record(took)
	}
	if w.r.cfg.Sample != nil {
		w.windowMu.Lock()
		if timed {
			w.window.Record(took)
		}
		if key == "" {
			w.windowOK++
		} else {
			w.windowFailed++
		}
		w.windowMu.Unlock()
	}
	w.requests++
	if key == "" {
		w.ok++
		w.r.ok.Add(1)
		return
	}
	w.errors[key]++
	w.r.failed.Add(1)
}

// ReadCredentials reads JSON lines, one {"client_id","client_secret"} object
// per line; blank lines are skipped. An error names the line.
func ReadCredentials(rd io.Reader) ([]Credential, error) {
	var out []Credential
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var c Credential
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("line %d: not a JSON object with client_id and client_secret (or private_key)", line)
		}
		if c.ClientID == "" || c.ClientSecret == "" && c.PrivateKey == "" {
			return nil, fmt.Errorf("line %d: client_id and a client_secret or private_key are required", line)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if len(out) == 0 {
		return nil, errors.New("no credentials found")
	}
	return out, nil
}

// WriteCredentials writes creds as JSON lines, the format ReadCredentials reads.
func WriteCredentials(wr io.Writer, creds []Credential) error {
	bw := bufio.NewWriter(wr)
	enc := json.NewEncoder(bw)
	for _, c := range creds {
		if err := enc.Encode(c); err != nil {
			return err
		}
	}
	return bw.Flush()
}
