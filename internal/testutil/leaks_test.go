package testutil

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestVerbatim: verbatim finds exactly the values that strings.Contains
// finds, long and short, at the start, middle and end of the logs, once
// each, and values sharing a prefix apart.
func TestVerbatim(t *testing.T) {
	logs := "tok-aaaaaaaaaaaaaaaa-1 in the first line\n" +
		"msg=x value=tok-aaaaaaaaaaaaaaaa-22 short=abc\n" +
		"repeated tok-aaaaaaaaaaaaaaaa-1 and at the end tok-zzzzzzzzzzzzzzzzzzzzzzzzz"
	values := []string{
		"tok-aaaaaaaaaaaaaaaa-1",         // twice
		"tok-aaaaaaaaaaaaaaaa-22",        // shares its prefix with the one above
		"tok-aaaaaaaaaaaaaaaa-3",         // the same prefix, absent
		"tok-zzzzzzzzzzzzzzzzzzzzzzzzz",  // ends the logs
		"tok-zzzzzzzzzzzzzzzzzzzzzzzzzz", // one byte past the end
		"abc",                            // short, present
		"abd",                            // short, absent
		"",
	}
	var want []string
	for _, v := range values {
		if v != "" && strings.Contains(logs, v) {
			want = append(want, v)
		}
	}
	got := verbatim(logs, values)
	slices.Sort(got)
	slices.Sort(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("verbatim = %q, want %q", got, want)
	}
	if l := Leaks(logs, values); len(l) != len(want) {
		t.Errorf("Leaks = %q, want %d leaks", l, len(want))
	}
}
