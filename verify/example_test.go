package verify_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/verify"
)

// An API protects its routes: any valid token for /v1/ping, the scope
// read:sensors for /v1/sensors.
func ExampleNew() {
	v, err := verify.New(verify.Config{
		Issuer:    "https://auth.example.com/", // exactly as in the tokens' iss
		Audience:  "https://sensors.example.com",
		CacheSize: 10_000, // remember verified tokens until they expire
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /v1/ping", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "pong")
	})))
	mux.Handle("GET /v1/sensors", v.Require("read:sensors")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := verify.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "sensors for %s\n", claims.ClientID)
	})))
	log.Fatal(http.ListenAndServe("127.0.0.1:9090", mux))
}

// The middleware's answers, against a stand-in issuer that publishes one
// ES256 key.
func ExampleVerifier_Require() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	}))
	defer jwks.Close()
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	token := func(scope string, exp time.Time) string {
		tok, _ := jwt.Signed(signer).Claims(map[string]any{
			"iss": "https://auth.example.com/", "aud": "https://sensors.example.com", "sub": "svc", "client_id": "svc",
			"iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": exp.Unix(), "scope": scope,
		}).Serialize()
		return tok
	}

	v, err := verify.New(verify.Config{
		Issuer: "https://auth.example.com/", Audience: "https://sensors.example.com", JWKSURL: jwks.URL, Realm: "sensors",
	})
	if err != nil {
		log.Fatal(err)
	}
	h := v.Require("read:sensors")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := verify.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", claims.Subject)
	}))
	for _, auth := range []string{
		"",
		"Bearer " + token("read:sensors", time.Now().Add(-time.Hour)),
		"Bearer " + token("write:sensors", time.Now().Add(time.Hour)),
		"Bearer " + token("read:sensors", time.Now().Add(time.Hour)),
	} {
		req := httptest.NewRequest("GET", "/v1/sensors", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Header().Get("WWW-Authenticate"))))
		if body := strings.TrimSpace(w.Body.String()); body != "" {
			fmt.Println("  ", body)
		}
	}
	// Output:
	// 401 Bearer realm="sensors"
	// 401 Bearer realm="sensors", error="invalid_token", error_description="the access token expired"
	//    {"error":"invalid_token","error_description":"the access token expired"}
	// 403 Bearer realm="sensors", error="insufficient_scope", error_description="the access token lacks the scope read:sensors", scope="read:sensors"
	//    {"error":"insufficient_scope","error_description":"the access token lacks the scope read:sensors"}
	// 200
	//    hello svc
}

func ExampleClaims_HasScope() {
	c := &verify.Claims{Scope: "read:sensors write:sensors"}
	fmt.Println(c.HasScope("read:sensors"), c.HasScope("admin"), c.HasAllScopes("read:sensors", "write:sensors"))
	// Output: true false true
}
