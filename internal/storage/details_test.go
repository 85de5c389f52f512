package storage_test

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func TestAppendDetailsJSON(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]string
	}{
		{"none", nil},
		{"empty", map[string]string{}},
		{"token issued", map[string]string{"client_id": "c1", "audience": "https://api.example.com/", "scope": "read:a write:b", "jti": "AbC-_9"}},
		{"keys sorted", map[string]string{"z": "1", "a": "2", "m": "3", "b": "", "y": "5", "c": "6", "x": "7", "d": "8", "w": "9"}},
		{"escaped keys and values (jsonenc)", map[string]string{"<k>": "a<b>&c", `k"\`: "\x00\u2028"}},
		{"invalid utf-8", map[string]string{"s": "a\xffb\xc3", "\xe2\x82": "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkDetails(t, tc.in)
		})
	}
}

// checkDetails asserts that AppendDetailsJSON writes what json.Marshal
// writes, after a prefix it must keep.
func checkDetails(t *testing.T, d map[string]string) {
	t.Helper()
	want := []byte("{}")
	if len(d) > 0 {
		var err error
		if want, err = json.Marshal(d); err != nil {
			t.Fatal(err)
		}
	}
	got := storage.AppendDetailsJSON([]byte("prefix"), d)
	if string(got) != "prefix"+string(want) {
		t.Fatalf("AppendDetailsJSON(%q) = %s, want prefix%s", d, got, want)
	}
}

func FuzzAppendDetailsJSON(f *testing.F) {
	f.Add("jti", "AbC", "scope", "a b")
	f.Add("k\x00", "\xff<>&\u2028", "", "\"\\")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		checkDetails(t, map[string]string{k1: v1, k2: v2})
	})
}
