package requestid_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/requestid"
)

func TestSane(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"abc-123", true},
		{"4bf92f3577b34da6a3ce929d0e0e4736", true},
		{strings.Repeat("a", requestid.MaxLen), true},
		{"", false},
		{strings.Repeat("a", requestid.MaxLen+1), false},
		{"has space", false},
		{"line\nbreak", false},
		{"tab\there", false},
		{`quote"d`, false},
		{`back\slash`, false},
		{"caf\xc3\xa9", false},
		{"\x1b[31mred", false},
		{"gths_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false}, // a client secret
		{"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig", false},         // a JWT
	}
	for _, tc := range tests {
		if got := requestid.Sane(tc.id); got != tc.want {
			t.Errorf("Sane(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestNewAndFromHeader(t *testing.T) {
	a := requestid.New(nil)
	b := requestid.New(nil)
	if len(a) != 16 || !requestid.Sane(a) || a == b {
		t.Fatalf("New gave %q and %q", a, b)
	}
	fixed := requestid.New(bytes.NewReader(make([]byte, 10)))
	if fixed != "0000000000000000" {
		t.Fatalf("New over zero bytes = %q", fixed)
	}
	if ones := requestid.New(bytes.NewReader(bytes.Repeat([]byte{0xff}, 10))); ones != "vvvvvvvvvvvvvvvv" {
		t.Fatalf("New over 0xff bytes = %q: the injected reader was not used", ones)
	}
	if short := requestid.New(bytes.NewReader(make([]byte, 9))); short != "0000000000000000" {
		t.Fatalf("New over a short reader = %q", short)
	}
	if got := requestid.FromHeader("lb-42", nil); got != "lb-42" {
		t.Fatalf("a sane incoming ID was replaced: %q", got)
	}
	if got := requestid.FromHeader("evil\nid", nil); got == "evil\nid" || len(got) != 16 {
		t.Fatalf("an insane incoming ID was kept: %q", got)
	}
	ctx := requestid.NewContext(context.Background(), "x1")
	if requestid.FromContext(ctx) != "x1" || requestid.FromContext(context.Background()) != "" {
		t.Fatal("context round trip")
	}
}
