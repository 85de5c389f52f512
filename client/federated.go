package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// AssertionType is the client_assertion_type of a JWT assertion (RFC 7523
// §2.2).
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// maxAssertion bounds an assertion read from a file or the Actions runtime.
const maxAssertion = 64 << 10

func countSet(set ...bool) int {
	n := 0
	for _, b := range set {
		if b {
			n++
		}
	}
	return n
}

// setAssertion adds client_id and a current assertion to form.
func (s *Source) setAssertion(ctx context.Context, form url.Values) error {
	a, err := s.cfg.Assertion(ctx)
	if err != nil {
		return fmt.Errorf("client: assertion: %w", err)
	}
	if a == "" {
		return errors.New("client: assertion: empty")
	}
	form.Set("client_id", s.cfg.ClientID)
	form.Set("client_assertion_type", AssertionType)
	form.Set("client_assertion", a)
	return nil
}

// readAssertionFile returns an Assertion that reads path at every call: a
// Kubernetes projected service-account token, which the kubelet rewrites
// before it expires.
func readAssertionFile(path string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxAssertion+1))
		if err != nil {
			return "", err
		}
		if len(b) > maxAssertion {
			return "", fmt.Errorf("%s is larger than %d bytes", path, maxAssertion)
		}
		return strings.TrimSpace(string(b)), nil
	}
}

// GitHubActionsToken returns an Assertion that asks the GitHub Actions
// runtime for the job's OIDC token for audience (the job needs
// permissions: id-token: write, which sets ACTIONS_ID_TOKEN_REQUEST_URL and
// ACTIONS_ID_TOKEN_REQUEST_TOKEN). hc nil means http.DefaultClient; each
// call fetches a new token, since they live five minutes.
func GitHubActionsToken(hc *http.Client, audience string) func(context.Context) (string, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	return func(ctx context.Context) (string, error) {
		reqURL, bearer := os.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL"), os.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
		if reqURL == "" || bearer == "" {
			return "", errors.New("ACTIONS_ID_TOKEN_REQUEST_URL or ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set: give the job permissions: id-token: write")
		}
		u, err := url.Parse(reqURL)
		if err != nil {
			return "", fmt.Errorf("ACTIONS_ID_TOKEN_REQUEST_URL: %w", err)
		}
		if audience != "" {
			q := u.Query()
			q.Set("audience", audience)
			u.RawQuery = q.Encode()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return "", fmt.Errorf("GitHub Actions OIDC token: %w", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxAssertion))
		if err != nil {
			return "", fmt.Errorf("GitHub Actions OIDC token: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("GitHub Actions OIDC token: HTTP %d", resp.StatusCode)
		}
		var v struct {
			Value string `json:"value"`
		}
		if json.Unmarshal(body, &v) != nil || v.Value == "" {
			return "", errors.New("GitHub Actions OIDC token: the answer has no value")
		}
		return v.Value, nil
	}
}
