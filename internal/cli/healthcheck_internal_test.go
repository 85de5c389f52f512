package cli

import "testing"

func TestReadyURL(t *testing.T) {
	for addr, want := range map[string]string{
		"":               "http://127.0.0.1:8080/readyz",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/readyz",
		":9000":          "http://127.0.0.1:9000/readyz",
		"[::]:9000":      "http://[::1]:9000/readyz",
		"10.0.0.5:9000":  "http://10.0.0.5:9000/readyz",
		"not an address": "http://127.0.0.1:8080/readyz",
	} {
		if got := readyURL(addr, false); got != want {
			t.Errorf("readyURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestReadyURLTLS(t *testing.T) {
	if got := readyURL("0.0.0.0:8443", true); got != "https://127.0.0.1:8443/readyz" {
		t.Errorf("readyURL under TLS = %q", got)
	}
	for issuer, want := range map[string]string{
		"https://auth.example.com":        "auth.example.com",
		"https://auth.example.com:8443/x": "auth.example.com",
		"http://auth.example.com":         "",
		"":                                "",
		"::not a url":                     "",
	} {
		if got := issuerHost(issuer); got != want {
			t.Errorf("issuerHost(%q) = %q, want %q", issuer, got, want)
		}
	}
}
