package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/dpop"
)

// Error codes of RFC 6749 §5.2 and RFC 8707 §2 that a token request can end
// with.
const (
	CodeInvalidRequest     = "invalid_request"
	CodeInvalidClient      = "invalid_client"
	CodeUnauthorizedClient = "unauthorized_client"
	CodeInvalidScope       = "invalid_scope"
	CodeInvalidTarget      = "invalid_target"
	CodeAccessDenied       = "access_denied"
	CodeServerError        = "server_error"
)

// Error is an error answer of the token endpoint (RFC 6749 §5.2), or of
// the metadata endpoint. Use errors.As to get it.
type Error struct {
	// Code is the "error" member; empty when the body was not an RFC 6749
	// error object.
	Code string
	// Description is the "error_description" member.
	Description string
	// Status is the HTTP status code.
	Status int
	// RetryAfter is the server's Retry-After (RFC 9110 §10.2.3), if any.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "client: authorization server answered HTTP %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// temporary reports whether the answer is worth retrying: 429 and 5xx.
func (e *Error) temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// netError is a failure to send a request or to read its answer.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

// retryable reports whether err is worth another attempt: a network error,
// a 5xx or a 429 answer; not an unusable answer.
func retryable(err error) bool {
	var oe *Error
	if errors.As(err, &oe) {
		return oe.temporary()
	}
	var ne *netError
	return errors.As(err, &ne)
}

// maxBody bounds what is read of a token or metadata response.
const maxBody = 1 << 20

// fetch resolves the token endpoint and gets a new token: the secret that
// last worked first, the others on invalid_client, and retries with backoff
// on network errors, 5xx and 429.
func (s *Source) fetch(ctx context.Context) (*entry, error) {
	tokenURL, err := s.endpoint(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	idx := s.preferred
	s.mu.Unlock()
	n := max(len(s.cfg.Secrets), 1) // a private key or an assertion is one credential
	refused := 0
	for attempt := 1; ; {
		var secret string
		if len(s.cfg.Secrets) > 0 {
			secret = s.cfg.Secrets[idx]
		}
		e, err := s.request(ctx, tokenURL, secret)
		if err == nil {
			s.mu.Lock()
			s.preferred = idx
			s.mu.Unlock()
			return e, nil
		}
		var oe *Error
		isOAuth := errors.As(err, &oe)
		switch {
		case isOAuth && oe.Code == CodeInvalidClient:
			refused++
			if refused == n {
				return nil, err
			}
			idx = (idx + 1) % n
			continue
		case ctx.Err() != nil:
			return nil, fmt.Errorf("client: token request: %w", ctx.Err())
		case !retryable(err):
			return nil, err
		}
		if err := s.backoff(ctx, attempt, err); err != nil {
			return nil, err
		}
		attempt++
	}
}

// backoff waits before attempt+1 after a temporary failure err, or returns
// err when no attempt is left or the wait does not fit.
func (s *Source) backoff(ctx context.Context, attempt int, err error) error {
	if attempt >= s.cfg.MaxAttempts {
		return err
	}
	d := s.cfg.MinBackoff << (attempt - 1)
	if d > s.cfg.MaxBackoff || d <= 0 {
		d = s.cfg.MaxBackoff
	}
	d = d/2 + time.Duration(s.rand()*float64(d/2)) // equal jitter
	var oe *Error
	if errors.As(err, &oe) && oe.RetryAfter > 0 {
		if oe.RetryAfter > s.cfg.MaxRetryAfter {
			return err
		}
		d = oe.RetryAfter
	}
	if s.sleep(ctx, d) != nil {
		return err
	}
	return nil
}

// endpoint returns the token endpoint, reading the issuer's metadata once
// (RFC 8414 §3).
func (s *Source) endpoint(ctx context.Context) (string, error) {
	s.mu.Lock()
	u := s.tokenURL
	s.mu.Unlock()
	if u != "" {
		return u, nil
	}
	metaURL := strings.TrimRight(s.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	var meta struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
		// RFC 8705 §5: where a client presents its certificate.
		Aliases struct {
			TokenEndpoint string `json:"token_endpoint"`
		} `json:"mtls_endpoint_aliases"`
	}
	for attempt := 1; ; attempt++ {
		err := s.getJSON(ctx, metaURL, &meta)
		if err == nil {
			break
		}
		if !retryable(err) || ctx.Err() != nil {
			return "", err
		}
		if err := s.backoff(ctx, attempt, err); err != nil {
			return "", err
		}
	}
	if meta.Issuer != s.cfg.Issuer {
		return "", fmt.Errorf("client: discovery: metadata issuer %q is not the configured %q (RFC 8414 §3.3)", meta.Issuer, s.cfg.Issuer)
	}
	if s.cfg.Certificate != nil && meta.Aliases.TokenEndpoint != "" {
		meta.TokenEndpoint = meta.Aliases.TokenEndpoint
	}
	if err := checkEndpoint(meta.TokenEndpoint, s.cfg.InsecureAllowHTTP); err != nil {
		return "", fmt.Errorf("client: discovery: token_endpoint %q: %w", meta.TokenEndpoint, err)
	}
	s.mu.Lock()
	s.tokenURL = meta.TokenEndpoint
	s.mu.Unlock()
	return meta.TokenEndpoint, nil
}

func (s *Source) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("client: discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return &netError{fmt.Errorf("client: discovery: %w", err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return &netError{fmt.Errorf("client: discovery: %w", err)}
	}
	if resp.StatusCode != http.StatusOK {
		e := s.errorFrom(resp, body)
		return fmt.Errorf("client: discovery: GET %s: %w", u, e)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("client: discovery: GET %s: %w", u, err)
	}
	return nil
}

// request sends one token request (RFC 6749 §4.4.2) with secret and reads
// the answer (§4.4.3, §5.1, §5.2).
func (s *Source) request(ctx context.Context, tokenURL, secret string) (*entry, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if s.cfg.Audience != "" {
		form.Set("audience", s.cfg.Audience)
	}
	if s.cfg.Resource != "" {
		form.Set("resource", s.cfg.Resource)
	}
	if len(s.cfg.Scopes) > 0 {
		form.Set("scope", strings.Join(s.cfg.Scopes, " "))
	}
	switch {
	case s.cfg.Assertion != nil:
		if err := s.setAssertion(ctx, form); err != nil {
			return nil, err
		}
	case s.cfg.AuthMethod == AuthPost:
		form.Set("client_id", s.cfg.ClientID)
		form.Set("client_secret", secret)
	case s.cfg.AuthMethod == AuthPrivateKeyJWT:
		aud := s.cfg.Issuer // draft-ietf-oauth-rfc7523bis: the issuer identifier
		if aud == "" {
			aud = tokenURL
		}
		a, err := s.key.assertion(s.cfg.ClientID, aud, s.now())
		if err != nil {
			return nil, err
		}
		form.Set("client_id", s.cfg.ClientID)
		form.Set("client_assertion_type", AssertionType)
		form.Set("client_assertion", a)
	case s.cfg.AuthMethod == AuthTLS, s.cfg.AuthMethod == AuthSelfSignedTLS: // RFC 8705 §2.1: the certificate authenticates
		form.Set("client_id", s.cfg.ClientID)
	}
	sent := s.now()
	body, err := s.post(ctx, tokenURL, form.Encode(), secret)
	if err != nil {
		return nil, err
	}
	var tr struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Scope       *string         `json:"scope"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, errors.New("client: token response: not a JSON object")
	}
	if tr.AccessToken == "" {
		return nil, errors.New("client: token response: no access_token")
	}
	want := "Bearer"
	if s.dpop != nil {
		want = dpop.TokenType // RFC 9449 §5: anything else is not bound
	}
	if !strings.EqualFold(tr.TokenType, want) {
		return nil, fmt.Errorf("client: token response: token_type %q, want %s", tr.TokenType, want)
	}
	lifetime, err := parseExpiresIn(tr.ExpiresIn)
	if err != nil {
		return nil, err
	}
	tok := &oauth2.Token{AccessToken: tr.AccessToken, TokenType: want}
	extra := map[string]any{}
	if tr.Scope != nil {
		extra["scope"] = *tr.Scope
	} else {
		extra["scope"] = strings.Join(s.cfg.Scopes, " ") // RFC 6749 §5.1: as requested
	}
	e := &entry{fetched: sent}
	if lifetime <= 0 {
		// No lifetime: serve it to the callers waiting now, cache nothing.
		e.usableUntil, e.refreshAt = sent, sent
		e.token = tok.WithExtra(extra)
		return e, nil
	}
	tok.Expiry = sent.Add(lifetime)
	tok.ExpiresIn = int64(lifetime / time.Second)
	e.token = tok.WithExtra(extra)
	e.usableUntil = tok.Expiry.Add(-min(10*time.Second, lifetime/10))
	margin := min(s.cfg.RefreshMargin, lifetime/2)
	jitter := time.Duration(0)
	if s.cfg.RefreshJitter > 0 {
		jitter = time.Duration(s.rand() * float64(min(s.cfg.RefreshJitter, lifetime/4)))
	}
	e.refreshAt = tok.Expiry.Add(-margin - jitter)
	return e, nil
}

// post sends the token request body with secret and returns the 200
// answer's body. With a DPoP key it carries a proof, and a use_dpop_nonce
// answer (RFC 9449 §8) is retried once with the server's nonce.
func (s *Source) post(ctx context.Context, tokenURL, body, secret string) ([]byte, error) {
	for try := 0; ; try++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("client: token request: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		if s.cfg.AuthMethod == AuthBasic {
			// RFC 6749 §2.3.1: both parts form-URL-encoded before Basic.
			cred := url.QueryEscape(s.cfg.ClientID) + ":" + url.QueryEscape(secret)
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cred)))
		}
		var used string
		if s.dpop != nil {
			if used, err = s.dpop.prove(req, ""); err != nil {
				return nil, err
			}
		}
		resp, err := s.hc.Do(req)
		if err != nil {
			// *url.Error names the URL and the cause, never the body.
			return nil, &netError{fmt.Errorf("client: token request: %w", err)}
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if err != nil {
			return nil, &netError{fmt.Errorf("client: token response: %w", err)}
		}
		if s.dpop != nil {
			s.dpop.remember(req.URL, resp.Header)
		}
		if resp.StatusCode == http.StatusOK {
			return data, nil
		}
		e := s.errorFrom(resp, data)
		if s.dpop == nil || try > 0 || !s.dpop.askedNonce(resp, e.Code, used) {
			return nil, e
		}
	}
}

// parseExpiresIn reads expires_in, a number of seconds (RFC 6749 §5.1);
// some servers send it as a string. Absent means unknown (0).
func parseExpiresIn(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	s := strings.Trim(string(raw), `"`)
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 || n > 10*365*24*3600 {
		return 0, errors.New("client: token response: bad expires_in")
	}
	return time.Duration(n * float64(time.Second)), nil
}

// errorFrom builds the *Error of a non-200 answer (RFC 6749 §5.2).
func (s *Source) errorFrom(resp *http.Response, body []byte) *Error {
	e := &Error{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), s.now())}
	var eb struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &eb) == nil {
		e.Code, e.Description = eb.Error, eb.Description
	}
	if e.Code == "" && resp.StatusCode == http.StatusUnauthorized {
		e.Code = CodeInvalidClient // RFC 6749 §5.2: 401 is client authentication
	}
	return e
}

// parseRetryAfter reads Retry-After: delay-seconds or an HTTP-date
// (RFC 9110 §10.2.3); 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, 1<<31)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
