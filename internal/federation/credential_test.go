package federation_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/federation"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func TestMatchSubject(t *testing.T) {
	cases := []struct {
		pattern, sub string
		want         bool
	}{
		{"system:serviceaccount:payments:billing", "system:serviceaccount:payments:billing", true},
		{"system:serviceaccount:payments:billing", "system:serviceaccount:payments:billing2", false},
		{"system:serviceaccount:payments:billing", "xsystem:serviceaccount:payments:billing", false},
		{"system:serviceaccount:payments:*", "system:serviceaccount:payments:reports", true},
		{"system:serviceaccount:payments:*", "system:serviceaccount:payments:", false}, // one character at least
		{"system:serviceaccount:payments:*", "system:serviceaccount:payments:a:b", false},
		{"system:serviceaccount:*:billing", "system:serviceaccount:default:billing", true},
		{"system:serviceaccount:*:billing", "system:serviceaccount:a:b:billing", false},
		{"repo:acme/*:ref:refs/heads/main", "repo:acme/deploy:ref:refs/heads/main", true},
		{"repo:acme/*:ref:refs/heads/main", "repo:acme/deploy:environment:x:ref:refs/heads/main", false},
		{"repo:acme/deploy:ref:refs/heads/*", "repo:acme/deploy:ref:refs/heads/feature/x", true},
		{"repo:acme/deploy:ref:refs/heads/*", "repo:acme/deploy:ref:refs/tags/v1", false},
		{"repo:acme/*-svc:*", "repo:acme/a-svc:pull_request", true},
		{"repo:acme/*-svc:*", "repo:acme/a-svc-b:pull_request", false},
		// '*' takes '/' (a branch's refs/heads/a/b), never ':'.
		{"repo:acme/*:ref:refs/heads/main", "repo:acme/x/y:ref:refs/heads/main", true},
		{"repo:acme/*:ref:refs/heads/main", "repo:acme/x:y:ref:refs/heads/main", false},
		{"repo:*", "repo:acme/deploy:ref:refs/heads/main", false},
		{"*:ref:refs/heads/main", "repo:acme/deploy:ref:refs/heads/main", false},
		{"repo:acme/deploy:*", "repo:acme/deploy:", false},
		{"a*c", "ac", false},
		{"a*c", "abbc", true},
		{"a*c", "abcd", false},
		{"*b*", "abc", true},
		{"*b*", "bc", false},
		{"repo:acme/*:ref:x", "repo:acme/é:ref:x", true},
		{"a:*:c", "a::c", false},
		{"a::c", "a::c", true},
	}
	for _, tc := range cases {
		if got := federation.MatchSubject(tc.pattern, tc.sub); got != tc.want {
			t.Errorf("MatchSubject(%q, %q) = %v, want %v", tc.pattern, tc.sub, got, tc.want)
		}
	}
}

// TestMatchSubjectManyStars: a pattern with many '*' is matched in linear
// time, not by trying every split of the subject among them. A matcher that
// backtracks over every split takes hours on this pair (C(120, 16)
// splits); the test fails after a minute instead of hanging, a bound a
// million times what a linear match needs, so no loaded machine trips it.
func TestMatchSubjectManyStars(t *testing.T) {
	pattern := "repo:" + strings.Repeat("a*", 16) + "b"
	sub := "repo:" + strings.Repeat("a", 120)
	done := make(chan bool, 1)
	go func() { done <- federation.MatchSubject(pattern, sub) }()
	select {
	case got := <-done:
		if got {
			t.Fatal("matched a subject without the final b")
		}
	case <-time.After(time.Minute):
		t.Fatal("MatchSubject backtracks exponentially in the number of '*'")
	}
}

func TestCheck(t *testing.T) {
	ok := storage.FederatedCredential{Issuer: "https://token.actions.githubusercontent.com", Subject: "repo:acme/deploy:ref:refs/heads/main"}
	if p := federation.Check(ok); len(p) != 0 {
		t.Fatalf("Check(valid) = %v", p)
	}
	loopback := ok
	loopback.Issuer = "http://127.0.0.1:8080/issuer"
	if p := federation.Check(loopback); len(p) != 0 {
		t.Errorf("Check(http loopback issuer) = %v", p)
	}
	cases := []struct {
		name string
		mod  func(*storage.FederatedCredential)
		want string
	}{
		{"http issuer", func(fc *storage.FederatedCredential) { fc.Issuer = "http://issuer.example.com" }, "https"},
		{"relative issuer", func(fc *storage.FederatedCredential) { fc.Issuer = "issuer.example.com" }, "absolute"},
		{"issuer with a query", func(fc *storage.FederatedCredential) { fc.Issuer = "https://issuer.example.com/?a=b" }, "query"},
		{"issuer with a fragment", func(fc *storage.FederatedCredential) { fc.Issuer = "https://issuer.example.com/#x" }, "fragment"},
		{"issuer with user information", func(fc *storage.FederatedCredential) { fc.Issuer = "https://u:p@issuer.example.com" }, "user"},
		{"empty subject", func(fc *storage.FederatedCredential) { fc.Subject = "" }, "subject"},
		{"subject *", func(fc *storage.FederatedCredential) { fc.Subject = "*" }, "every workload"},
		{"subject **", func(fc *storage.FederatedCredential) { fc.Subject = "repo:**" }, `"**"`},
		{"subject with a newline", func(fc *storage.FederatedCredential) { fc.Subject = "a\nb" }, "control"},
		{"claim on sub", func(fc *storage.FederatedCredential) { fc.Claims = map[string]string{"sub": "x"} }, "--subject"},
		{"claim with an empty name", func(fc *storage.FederatedCredential) { fc.Claims = map[string]string{"a//b": "x"} }, "empty name"},
		{"claim with no value", func(fc *storage.FederatedCredential) { fc.Claims = map[string]string{"ref": ""} }, "value"},
		{"cap too long", func(fc *storage.FederatedCredential) { fc.MaxLifetime = 25 * time.Hour }, "max lifetime"},
		{"negative cap", func(fc *storage.FederatedCredential) { fc.MaxLifetime = -time.Second }, "max lifetime"},
		{"cap of a fraction of a second", func(fc *storage.FederatedCredential) { fc.MaxLifetime = 1500 * time.Millisecond }, "whole seconds"},
	}
	for _, tc := range cases {
		fc := ok
		tc.mod(&fc)
		p := federation.Check(fc)
		if len(p) != 1 || !strings.Contains(p[0], tc.want) {
			t.Errorf("%s: Check = %q, want one problem with %q", tc.name, p, tc.want)
		}
	}
}

func TestIssuer(t *testing.T) {
	const payload = "eyJpc3MiOiJodHRwczovL2kuZXhhbXBsZS5jb20iLCJzdWIiOiJ4In0" // {"iss":"https://i.example.com","sub":"x"}
	cases := map[string]string{
		"h." + payload + ".sig": "https://i.example.com",
		"h." + payload + ".":    "https://i.example.com",
		"h." + payload:          "",
		"h." + payload + ".s.x": "",
		"h.!!!.sig":             "",
		"h.eyJpc3MiOjF9.sig":    "", // {"iss":1}
		"":                      "",
		"h." + payload + ".s" + strings.Repeat("A", federation.MaxAssertionBytes): "",
	}
	for tok, want := range cases {
		if got := federation.Issuer(tok); got != want {
			t.Errorf("Issuer(%.40q) = %q, want %q", tok, got, want)
		}
	}
}
