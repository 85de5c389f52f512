package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestLoginLockoutIsNotAWeapon is the lockout finding of issue 16: five
// failed logins from five addresses used to lock the user out everywhere
// for fifteen minutes. Failures now count per (user, address) and per
// address; failures from elsewhere only slow the user down, and the right
// password from a clean address gets in. An IPv6 address counts as its /64.
func TestLoginLockoutIsNotAWeapon(t *testing.T) {
	f := newLoginFixture(t, trustLoopback)
	authURL := f.authURL(f.spa.ClientID, spaCB, "openid")
	fail := func(addr string) page {
		t.Helper()
		b := f.browser()
		b.from = addr
		return b.submit(b.get(authURL), "/authorize/login", "email", aliceEmail, "password", "not the password")
	}
	for i := range 5 {
		if p := fail(fmt.Sprintf("203.0.113.%d", i+1)); p.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, p.status)
		}
	}
	real := f.browser()
	real.from = "198.51.100.7"
	if to := real.login(authURL); to.Query().Get("code") == "" {
		t.Fatalf("the real user from a clean address was not let in: %s", to)
	}

	// The attacker's own address is blocked for that user once it failed
	// five times, the right password included, and the page says nothing
	// of the password.
	for range 4 {
		fail("203.0.113.1")
	}
	b := f.browser()
	b.from = "203.0.113.1"
	p := b.submit(b.get(authURL), "/authorize/login", "email", aliceEmail, "password", alicePW)
	if p.status != http.StatusTooManyRequests || p.to != nil || !strings.Contains(p.body, "Too many failed attempts") {
		t.Errorf("the right password from the failing address: %d %v %.300s; want 429", p.status, p.to, p.body)
	}
	// Over IPv6 the /64 is the address.
	for i := range 5 {
		fail(fmt.Sprintf("2001:db8:16:1::%x", i+1))
	}
	b = f.browser()
	b.from = "2001:db8:16:1:ffff:ffff:ffff:ffff"
	if p := b.submit(b.get(authURL), "/authorize/login", "email", aliceEmail, "password", alicePW); p.status != http.StatusTooManyRequests {
		t.Errorf("the right password from a fresh address of the failing /64: %d; want 429", p.status)
	}
	b.from = "2001:db8:16:2::1"
	if to := b.login(authURL); to.Query().Get("code") == "" {
		t.Errorf("another /64 was not let in")
	}
}
