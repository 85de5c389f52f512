package jsonenc_test

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/jsonenc"
)

func TestAppendString(t *testing.T) {
	for _, tc := range []struct{ name, s string }{
		{"empty", ""},
		{"plain", "https://api.example.com/orders read:orders"},
		{"quotes and backslashes", `v"\"\\`},
		{"control characters", "\x00\x01\b\f\n\r\t\x1f\x7f"},
		{"html", "<k>a<b>&c"},
		{"line separators", "a\u2028b\u2029c"},
		{"invalid utf-8", "a\xffb\xc3"},
		{"truncated sequence at the end", "\xe2\x82"},
		{"multibyte", "ключ 値 🔑 é"},
	} {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.s, "") })
	}
}

// check asserts that AppendString writes what json.Marshal writes, after a
// prefix it must keep, and that escaping s and then an ASCII suffix writes
// what escaping them joined writes.
func check(t *testing.T, s, suffix string) {
	t.Helper()
	want, err := json.Marshal(s + suffix)
	if err != nil {
		t.Fatal(err)
	}
	if suffix == "" {
		if got := jsonenc.AppendString([]byte("prefix"), s); string(got) != "prefix"+string(want) {
			t.Fatalf("AppendString(%q) = %s, want prefix%s", s, got, want)
		}
	}
	got := append(jsonenc.AppendEscaped(jsonenc.AppendEscaped([]byte(`"`), s), suffix), '"')
	if string(got) != string(want) {
		t.Fatalf("AppendEscaped(%q) then (%q) = %s, want %s", s, suffix, got, want)
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("AbC-_9", "@clients")
	f.Add("k\x00\xff<>&\u2028\"\\", "")
	f.Fuzz(func(t *testing.T, s, suffix string) {
		for i := 0; i < len(suffix); i++ {
			if suffix[i] >= 0x80 {
				suffix = "" // the joined form holds for ASCII suffixes only
				break
			}
		}
		check(t, s, suffix)
	})
}
