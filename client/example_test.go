package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"

	"github.com/gatehouse-dev/gatehouse/client"
)

// A service gets tokens for one API, holding its old and new secret while
// the secret is rotated, and calls the API through an *http.Client that
// adds the token.
func ExampleNew() {
	secrets := []string{os.Getenv("CLIENT_SECRET")}
	if old := os.Getenv("CLIENT_SECRET_OLD"); old != "" {
		secrets = append(secrets, old) // during a rotation: the fallback
	}
	src, err := client.New(client.Config{
		Issuer:   "https://auth.example.com/",
		ClientID: os.Getenv("CLIENT_ID"),
		Secrets:  secrets,
		Audience: "https://sensors.example.com",
		Scopes:   []string{"read:sensors"},
	})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := src.Client().Get("https://sensors.example.com/v1/sensors")
	if err != nil {
		log.Fatal(err) // an *client.Error when the token endpoint refused
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
}

// Many API calls share one token: the source asks the authorization server
// once and serves the cached token until shortly before it expires.
func ExampleSource_Client() {
	var tokenRequests atomic.Int32
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenRequests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": "example-token", "token_type": "Bearer", "expires_in": 86400, "scope": "read:sensors"})
	}))
	defer as.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer example-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "pong")
	}))
	defer api.Close()

	src, err := client.New(client.Config{
		TokenURL: as.URL + "/oauth/token", ClientID: "svc", Secrets: []string{"secret"}, Audience: "https://sensors.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	hc := src.Client()
	for range 3 {
		resp, err := hc.Get(api.URL + "/v1/ping")
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	fmt.Println("token requests:", tokenRequests.Load())
	// Output:
	// 200 pong
	// 200 pong
	// 200 pong
	// token requests: 1
}

// Errors of the token endpoint are *client.Error values (RFC 6749 §5.2).
func ExampleError() {
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_scope","error_description":"scope \"admin\" is not granted"}`)
	}))
	defer as.Close()
	src, _ := client.New(client.Config{TokenURL: as.URL, ClientID: "svc", Secrets: []string{"secret"}, Scopes: []string{"admin"}})
	_, err := src.TokenContext(context.Background())
	if e, ok := errors.AsType[*client.Error](err); ok {
		fmt.Println(e.Status, e.Code, strings.Contains(e.Description, "admin"))
	}
	// Output: 400 invalid_scope true
}

// A pod authenticates with its Kubernetes service-account token instead of
// a secret: a projected volume with the authorization server's issuer as
// audience, read again at every token request as the kubelet rotates it.
func ExampleConfig_assertionFile() {
	src, err := client.New(client.Config{
		Issuer:        "https://auth.example.com/",
		ClientID:      os.Getenv("CLIENT_ID"),
		AssertionFile: "/var/run/secrets/gatehouse/token",
		Audience:      "https://sensors.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := src.Client().Get("https://sensors.example.com/v1/sensors")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
}
