package client

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/dpop"
)

// dpopState is a Source's DPoP key and the last nonce each server gave
// (RFC 9449 §8, §9), by origin.
type dpopState struct {
	signer *dpop.Signer
	mu     sync.Mutex
	nonces map[string]string
}

// origin is scheme://host of u, the key of a server's nonce.
func origin(u *url.URL) string { return strings.ToLower(u.Scheme + "://" + u.Host) }

func (d *dpopState) nonce(u *url.URL) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.nonces[origin(u)]
}

// remember keeps the nonce a server sent with any answer (RFC 9449 §8.2).
func (d *dpopState) remember(u *url.URL, h http.Header) {
	if n := h.Get(dpop.NonceHeader); n != "" {
		d.mu.Lock()
		d.nonces[origin(u)] = n
		d.mu.Unlock()
	}
}

// prove sets the DPoP header of req: a proof for its method and URL, for
// accessToken when set (ath), with the server's last nonce, which it
// returns.
func (d *dpopState) prove(req *http.Request, accessToken string) (string, error) {
	nonce := d.nonce(req.URL)
	p, err := d.signer.Proof(req.Method, req.URL.String(), accessToken, nonce)
	if err != nil {
		return "", fmt.Errorf("client: %w", err)
	}
	req.Header.Set(dpop.Header, p)
	return nonce, nil
}

// askedNonce reports whether resp asks for a nonce other than the one the
// request carried (used): the token endpoint's 400 use_dpop_nonce (RFC
// 9449 §8, code) or an API's 401 DPoP challenge with
// error="use_dpop_nonce" (§9), with a DPoP-Nonce header.
func (d *dpopState) askedNonce(resp *http.Response, code, used string) bool {
	n := resp.Header.Get(dpop.NonceHeader)
	if n == "" || n == used {
		return false
	}
	if code == dpop.CodeUseNonce {
		return true
	}
	if resp.StatusCode != http.StatusUnauthorized {
		return false
	}
	for _, c := range resp.Header.Values("WWW-Authenticate") {
		lc := strings.ToLower(c)
		if strings.HasPrefix(lc, "dpop") && strings.Contains(lc, `error="use_dpop_nonce"`) {
			return true
		}
	}
	return false
}
