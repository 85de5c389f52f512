package client

import (
	"io"
	"net/http"
	"strings"
)

// Transport is an http.RoundTripper that sends each request with
// "Authorization: Bearer" and a token of Source (RFC 6750 §2.1). When the
// API answers 401 with a Bearer challenge that says error="invalid_token"
// (RFC 6750 §3.1), it drops that token and sends the request once more with
// a fresh one — if the request's body can be sent again (no body, or
// GetBody set, as http.NewRequest does for in-memory bodies).
type Transport struct {
	Source *Source
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// Client returns an *http.Client whose Transport is a [Transport] over
// http.DefaultTransport.
func (s *Source) Client() *http.Client {
	return &http.Client{Transport: &Transport{Source: s}}
}

// RoundTrip implements http.RoundTripper. It does not modify req.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	tok, err := t.Source.TokenContext(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !invalidToken(resp.Header.Values("WWW-Authenticate")) {
		return resp, err
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if !replayable {
		return resp, nil
	}
	// Another request may have replaced the token already; Invalidate
	// refuses to drop a token that was only just fetched.
	t.Source.Invalidate(tok.AccessToken)
	fresh, err := t.Source.TokenContext(req.Context())
	if err != nil || fresh.AccessToken == tok.AccessToken {
		return resp, nil // the first answer stands
	}
	r = req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		r.Body = body
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	r.Header.Set("Authorization", "Bearer "+fresh.AccessToken)
	return base.RoundTrip(r)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// invalidToken reports whether a Bearer challenge carries
// error="invalid_token" (RFC 6750 §3, §3.1).
func invalidToken(challenges []string) bool {
	for _, c := range challenges {
		lc := strings.ToLower(c)
		if !strings.Contains(lc, "bearer") {
			continue
		}
		if strings.Contains(lc, `error="invalid_token"`) || strings.Contains(lc, "error=invalid_token") {
			return true
		}
	}
	return false
}
