package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/internal/loadtest"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "yardstick:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("yardstick", flag.ContinueOnError)
	credentials := fs.String("credentials", "", "file of JSON lines {\"client_id\",\"client_secret\"} (required)")
	alg := fs.String("alg", "ES256", "signing algorithm: ES256, EdDSA or RS256")
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on")
	issuer := fs.String("issuer", "http://yardstick.invalid/", "the tokens' iss")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *credentials == "" {
		return errors.New("-credentials is required")
	}
	f, err := os.Open(*credentials)
	if err != nil {
		return err
	}
	creds, err := loadtest.ReadCredentials(f)
	_ = f.Close()
	if err != nil {
		return err
	}
	signer, err := newSigner(jose.SignatureAlgorithm(*alg))
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: *addr, Handler: newHandler(creds, signer, *issuer, time.Now),
		ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	fmt.Fprintf(os.Stderr, "yardstick: %d clients, %s, on http://%s/oauth/token\n", len(creds), *alg, *addr)
	return srv.ListenAndServe()
}

// newSigner makes a fresh key for alg and a signer with the header of an
// RFC 9068 access token.
func newSigner(alg jose.SignatureAlgorithm) (jose.Signer, error) {
	var key crypto.Signer
	var err error
	switch alg {
	case jose.ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case jose.RS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("unsupported -alg %q: want ES256, EdDSA or RS256", alg)
	}
	if err != nil {
		return nil, err
	}
	return jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", "yardstick"))
}

// newHandler answers POST /oauth/token for the clients in creds
// (client_secret_post, RFC 6749 §2.3.1) with a JWT for the requested
// audience, valid for a day.
func newHandler(creds []loadtest.Credential, signer jose.Signer, issuer string, now func() time.Time) http.Handler {
	digests := make(map[string][sha256.Size]byte, len(creds))
	for _, c := range creds {
		digests[c.ClientID] = sha256.Sum256([]byte(c.ClientSecret))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		if err := r.ParseForm(); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request")
			return
		}
		if r.PostForm.Get("grant_type") != "client_credentials" {
			writeError(w, http.StatusBadRequest, "unsupported_grant_type")
			return
		}
		id := r.PostForm.Get("client_id")
		want, known := digests[id]
		got := sha256.Sum256([]byte(r.PostForm.Get("client_secret")))
		if subtle.ConstantTimeCompare(want[:], got[:]) != 1 || !known {
			writeError(w, http.StatusUnauthorized, "invalid_client")
			return
		}
		t := now()
		tok, err := jwt.Signed(signer).Claims(jwt.Claims{
			Issuer: issuer, Subject: id + "@clients", Audience: jwt.Audience{r.PostForm.Get("audience")},
			IssuedAt: jwt.NewNumericDate(t), Expiry: jwt.NewNumericDate(t.Add(24 * time.Hour)),
			ID: strconv.FormatInt(t.UnixNano(), 36),
		}).Serialize()
		if err != nil {
			writeError(w, http.StatusInternalServerError, "server_error")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, `{"access_token":"`+tok+`","token_type":"Bearer","expires_in":86400}`)
	})
	return mux
}

func writeError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"error":"`+code+`"}`)
}
