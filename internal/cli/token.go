package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/spf13/cobra"
)

type tokenFlags struct {
	issuer, clientID, clientSecret, audience, scope, auth string
	decode                                                bool
}

func (a *app) tokenCmd() *cobra.Command {
	var f tokenFlags
	cmd := &cobra.Command{
		Use:   "token --issuer URL --client-id ID --client-secret S --audience URI [--scope S] [--decode] [--cacert FILE]",
		Short: "Get an access token as a client would (client credentials grant)",
		Long: "Discovers the token endpoint from the issuer's metadata, requests a token and prints it. With --decode it\n" +
			"also verifies the signature against the issuer's JWKS and prints the header and claims.\n" +
			"The secret may come from GATEHOUSE_CLIENT_SECRET instead of the flag.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.clientSecret == "" {
				f.clientSecret = a.env.Getenv("GATEHOUSE_CLIENT_SECRET")
			}
			var missing []string
			for name, v := range map[string]string{"--issuer": f.issuer, "--client-id": f.clientID, "--client-secret": f.clientSecret} {
				if v == "" {
					missing = append(missing, name)
				}
			}
			if len(missing) > 0 {
				return fmt.Errorf("required: %s", strings.Join(missing, ", "))
			}
			if f.auth != "basic" && f.auth != "post" {
				return fmt.Errorf("--auth %q must be basic or post", f.auth)
			}
			hc, err := a.httpClient(cmd, 15*time.Second)
			if err != nil {
				return err
			}
			return a.runToken(cmd.Context(), hc, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.issuer, "issuer", "", "the issuer URL (its metadata names the token endpoint)")
	fl.StringVar(&f.clientID, "client-id", "", "client ID")
	fl.StringVar(&f.clientSecret, "client-secret", "", "client secret (or GATEHOUSE_CLIENT_SECRET)")
	fl.StringVar(&f.audience, "audience", "", "the API identifier")
	fl.StringVar(&f.scope, "scope", "", "space-separated scopes (default: every granted scope)")
	fl.StringVar(&f.auth, "auth", "post", "client authentication: post (client_secret_post) or basic (client_secret_basic)")
	fl.BoolVar(&f.decode, "decode", false, "verify the token against the JWKS and print its header and claims")
	cacertFlag(cmd, false)
	return cmd
}

type metadata struct {
	Issuer        string `json:"issuer"`
	TokenEndpoint string `json:"token_endpoint"`
	JWKSURI       string `json:"jwks_uri"`
}

func (a *app) runToken(ctx context.Context, hc *http.Client, f tokenFlags) error {
	var meta metadata
	if err := getJSON(ctx, hc, strings.TrimRight(f.issuer, "/")+"/.well-known/openid-configuration", &meta); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	if meta.Issuer != f.issuer {
		return fmt.Errorf("discovery: the server says its issuer is %q, not %q", meta.Issuer, f.issuer)
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if f.audience != "" {
		form.Set("audience", f.audience)
	}
	if f.scope != "" {
		form.Set("scope", f.scope)
	}
	if f.auth == "post" {
		form.Set("client_id", f.clientID)
		form.Set("client_secret", f.clientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, meta.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if f.auth == "basic" {
		req.SetBasicAuth(url.QueryEscape(f.clientID), url.QueryEscape(f.clientSecret))
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("token response: %w", err)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		Scope       string `json:"scope"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return fmt.Errorf("token response (HTTP %d) is not JSON", resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		return fmt.Errorf("token request refused (HTTP %d): %s: %s", resp.StatusCode, tr.Error, tr.Description)
	}
	if !f.decode {
		if a.json {
			_, err = a.env.Stdout.Write(append(body, '\n'))
			return err
		}
		_, err = fmt.Fprintln(a.env.Stdout, tr.AccessToken)
		return err
	}
	header, claims, kid, err := verifyWithJWKS(ctx, hc, meta.JWKSURI, tr.AccessToken)
	if err != nil {
		return err
	}
	out := map[string]any{"header": header, "claims": claims, "verified_with_kid": kid,
		"expires_in": tr.ExpiresIn, "scope": tr.Scope, "access_token": tr.AccessToken}
	enc := json.NewEncoder(a.env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func getJSON(ctx context.Context, hc *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// verifyWithJWKS checks the token's signature with the key its kid names in
// the issuer's JWKS and returns its decoded header and claims.
func verifyWithJWKS(ctx context.Context, hc *http.Client, jwksURI, tok string) (map[string]any, map[string]any, string, error) {
	var set jose.JSONWebKeySet
	if err := getJSON(ctx, hc, jwksURI, &set); err != nil {
		return nil, nil, "", fmt.Errorf("jwks: %w", err)
	}
	algs := []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256, jose.EdDSA}
	jws, err := jose.ParseSignedCompact(tok, algs)
	if err != nil {
		return nil, nil, "", fmt.Errorf("the access token is not a JWS: %w", err)
	}
	kid := jws.Signatures[0].Header.KeyID
	found := set.Key(kid)
	if len(found) == 0 {
		return nil, nil, "", fmt.Errorf("the JWKS has no key %q", kid)
	}
	payload, err := jws.Verify(found[0])
	if err != nil {
		return nil, nil, "", errors.New("the access token's signature does not verify")
	}
	var header, claims map[string]any
	rawHeader, err := base64.RawURLEncoding.DecodeString(strings.SplitN(tok, ".", 2)[0])
	if err != nil || json.Unmarshal(rawHeader, &header) != nil {
		return nil, nil, "", errors.New("the access token header is malformed")
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, nil, "", errors.New("the access token claims are malformed")
	}
	return header, claims, kid, nil
}
