package verify

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Introspection configures a [Verifier]'s introspection mode, for APIs that
// must see revocations at once: after a token passes every offline check,
// the issuer's introspection endpoint (RFC 7662 §2) is asked whether it is
// still active, authenticated with the API's own client credentials
// (client_secret_basic, RFC 6749 §2.3.1); the issuer must list that client
// among the API's introspection clients. A token the issuer says is not
// active fails with ErrRevoked. The answers are cached for CacheTTL, so a
// revocation is seen within CacheTTL plus the issuer's own propagation
// (about a second): each token costs one request per CacheTTL. When the
// issuer cannot be asked, the token fails with ErrIntrospectionUnavailable
// (the middleware answers 503): introspection mode fails closed.
type Introspection struct {
	// ClientID and ClientSecret are the API's client credentials.
	ClientID, ClientSecret string
	// URL is the introspection endpoint; empty means the
	// introspection_endpoint of the issuer's metadata.
	URL string
	// CacheTTL is how long an answer is used (default
	// DefaultIntrospectionTTL, at most MaxIntrospectionTTL); an active
	// answer never outlives the token, an inactive one is kept until the
	// token expires (a revocation is final).
	CacheTTL time.Duration
	// CacheSize is how many answers are kept (default
	// DefaultIntrospectionCacheSize).
	CacheSize int
}

// Defaults and limits of [Introspection].
const (
	DefaultIntrospectionTTL       = 5 * time.Second
	MaxIntrospectionTTL           = time.Minute
	DefaultIntrospectionCacheSize = 10000
)

// Verify checks token as the package documentation describes and returns
// its claims; in introspection mode ([Config].Introspection) it then asks
// the issuer whether the token is still active. Errors wrap one of the
// Err* reasons.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	c, err := v.verifyOffline(ctx, token)
	if err != nil || v.intro == nil {
		return c, err
	}
	if err := v.intro.check(ctx, token, c.Expiry); err != nil {
		return nil, err
	}
	return c, nil
}

// checkIntrospection reports what is wrong with in (nil: off).
func checkIntrospection(in *Introspection, insecure bool) []string {
	if in == nil {
		return nil
	}
	var problems []string
	if in.ClientID == "" || in.ClientSecret == "" {
		problems = append(problems, "Introspection: ClientID and ClientSecret are required")
	}
	if in.URL != "" {
		if err := checkURL(in.URL, insecure); err != nil {
			problems = append(problems, "Introspection.URL: "+err.Error())
		}
	}
	if in.CacheTTL < 0 || in.CacheTTL > MaxIntrospectionTTL || in.CacheSize < 0 {
		problems = append(problems, fmt.Sprintf("Introspection: CacheTTL must be from 0 to %s and CacheSize not negative", MaxIntrospectionTTL))
	}
	return problems
}

// introspector asks the issuer about tokens and remembers the answers.
type introspector struct {
	cfg  Introspection
	keys *keySet // for its HTTP client and the issuer's metadata
	now  func() time.Time

	mu      sync.Mutex
	url     string
	answers map[[32]byte]introAnswer
}

type introAnswer struct {
	active bool
	until  time.Time
}

func newIntrospector(cfg Introspection, keys *keySet, now func() time.Time) *introspector {
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultIntrospectionTTL
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultIntrospectionCacheSize
	}
	return &introspector{cfg: cfg, keys: keys, now: now, url: cfg.URL, answers: map[[32]byte]introAnswer{}}
}

// check returns nil for a token the issuer says is active, ErrRevoked for
// one it says is not, ErrIntrospectionUnavailable when it cannot be asked.
func (in *introspector) check(ctx context.Context, token string, exp time.Time) error {
	sum := sha256.Sum256([]byte(token))
	now := in.now()
	in.mu.Lock()
	a, ok := in.answers[sum]
	in.mu.Unlock()
	if !ok || !now.Before(a.until) {
		active, err := in.ask(ctx, token)
		if err != nil {
			return fmt.Errorf("verify: %w: %v", ErrIntrospectionUnavailable, err)
		}
		a = introAnswer{active: active, until: exp}
		if active {
			a.until = now.Add(in.cfg.CacheTTL)
			if exp.Before(a.until) {
				a.until = exp
			}
		}
		in.remember(sum, a, now)
	}
	if !a.active {
		return fmt.Errorf("verify: %w", ErrRevoked)
	}
	return nil
}

// remember stores an answer, making room first by dropping the answers
// that are over, then any.
func (in *introspector) remember(sum [32]byte, a introAnswer, now time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.answers) >= in.cfg.CacheSize {
		for k, old := range in.answers {
			if !now.Before(old.until) {
				delete(in.answers, k)
			}
		}
		for k := range in.answers {
			if len(in.answers) < in.cfg.CacheSize {
				break
			}
			delete(in.answers, k)
		}
	}
	in.answers[sum] = a
}

// endpoint returns the introspection endpoint, from the issuer's metadata
// (RFC 8414 §2) when not configured.
func (in *introspector) endpoint(ctx context.Context) (string, error) {
	in.mu.Lock()
	u := in.url
	in.mu.Unlock()
	if u != "" {
		return u, nil
	}
	var meta struct {
		Issuer                string `json:"issuer"`
		IntrospectionEndpoint string `json:"introspection_endpoint"`
	}
	cfg := in.keys.cfg
	if _, err := in.keys.get(ctx, strings.TrimRight(cfg.Issuer, "/")+"/.well-known/openid-configuration", &meta); err != nil {
		return "", err
	}
	if meta.Issuer != cfg.Issuer {
		return "", fmt.Errorf("metadata issuer %q is not the configured issuer %q (RFC 8414 §3.3)", meta.Issuer, cfg.Issuer)
	}
	if err := checkURL(meta.IntrospectionEndpoint, cfg.InsecureAllowHTTP); err != nil {
		return "", fmt.Errorf("metadata introspection_endpoint %q: %w", meta.IntrospectionEndpoint, err)
	}
	in.mu.Lock()
	in.url = meta.IntrospectionEndpoint
	in.mu.Unlock()
	return meta.IntrospectionEndpoint, nil
}

// ask sends the introspection request (RFC 7662 §2.1) and reads active
// from the answer (§2.2).
func (in *introspector) ask(ctx context.Context, token string) (bool, error) {
	u, err := in.endpoint(ctx)
	if err != nil {
		return false, err
	}
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(in.cfg.ClientID), url.QueryEscape(in.cfg.ClientSecret))
	resp, err := in.keys.hc.Do(req)
	if err != nil {
		return false, err // names the URL, never the form
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDoc))
	if err != nil {
		return false, fmt.Errorf("POST %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("POST %s: HTTP %d", u, resp.StatusCode)
	}
	var answer struct {
		Active *bool `json:"active"`
	}
	if json.Unmarshal(body, &answer) != nil || answer.Active == nil {
		return false, fmt.Errorf("POST %s: not an introspection answer", u)
	}
	return *answer.Active, nil
}
