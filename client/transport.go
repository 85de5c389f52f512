package client

import (
	"io"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/dpop"
)

// Transport is an http.RoundTripper that sends each request with
// "Authorization: Bearer" and a token of Source (RFC 6750 §2.1), or, with
// a DPoP key, "Authorization: DPoP" and a proof for the request and the
// token (RFC 9449 §7). When the API answers 401 with a challenge that says
// error="invalid_token" (RFC 6750 §3.1), it drops that token and sends the
// request once more with a fresh one; when it asks for a DPoP nonce
// (error="use_dpop_nonce" and DPoP-Nonce, RFC 9449 §9), it sends it once
// more with a proof that carries the nonce — if the request's body can be
// sent again (no body, or GetBody set, as http.NewRequest does for
// in-memory bodies).
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
	resp, used, err := t.send(base, req, req.Body, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if !replayable {
		return resp, nil
	}
	if d := t.Source.dpop; d != nil && d.askedNonce(resp, "", used) {
		return t.again(base, req, resp, tok)
	}
	if !invalidToken(resp.Header.Values("WWW-Authenticate")) {
		return resp, nil
	}
	// Another request may have replaced the token already; Invalidate
	// refuses to drop a token that was only just fetched.
	t.Source.Invalidate(tok.AccessToken)
	fresh, err := t.Source.TokenContext(req.Context())
	if err != nil || fresh.AccessToken == tok.AccessToken {
		return resp, nil // the first answer stands
	}
	return t.again(base, req, resp, fresh)
}

// again sends req once more with tok, once the first answer, resp, is
// read and closed; if the body cannot be had again, resp stands.
func (t *Transport) again(base http.RoundTripper, req *http.Request, resp *http.Response, tok *oauth2.Token) (*http.Response, error) {
	body := req.Body
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	r, _, err := t.send(base, req, body, tok)
	return r, err
}

// send sends a clone of req with body and tok: Bearer, or DPoP with a
// proof; it returns the DPoP nonce the proof carried, and keeps the one
// the answer brings.
func (t *Transport) send(base http.RoundTripper, req *http.Request, body io.ReadCloser, tok *oauth2.Token) (*http.Response, string, error) {
	r := req.Clone(req.Context())
	r.Body = body
	d := t.Source.dpop
	if d == nil || !strings.EqualFold(tok.TokenType, dpop.TokenType) {
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := base.RoundTrip(r)
		return resp, "", err
	}
	r.Header.Set("Authorization", dpop.Scheme+" "+tok.AccessToken)
	used, err := d.prove(r, tok.AccessToken)
	if err != nil {
		closeBody(r)
		return nil, "", err
	}
	resp, err := base.RoundTrip(r)
	if err == nil {
		d.remember(r.URL, resp.Header)
	}
	return resp, used, err
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// invalidToken reports whether a Bearer or DPoP challenge carries
// error="invalid_token" (RFC 6750 §3.1, RFC 9449 §7.1).
func invalidToken(challenges []string) bool {
	for _, c := range challenges {
		lc := strings.ToLower(c)
		if !strings.Contains(lc, "bearer") && !strings.HasPrefix(lc, "dpop") {
			continue
		}
		if strings.Contains(lc, `error="invalid_token"`) || strings.Contains(lc, "error=invalid_token") {
			return true
		}
	}
	return false
}
