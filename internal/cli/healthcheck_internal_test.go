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
		if got := readyURL(addr); got != want {
			t.Errorf("readyURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
