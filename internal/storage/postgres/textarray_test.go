package postgres

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
)

// TestScanTextArray decodes what PostgreSQL's text format of a text[]
// looks like, as pgx writes it (array_out's quoting and escaping), for
// lists of awkward strings, and refuses what no list column holds.
func TestScanTextArray(t *testing.T) {
	m := pgtype.NewMap()
	lists := [][]string{
		{},
		{"client_credentials"},
		{"a", "b"},
		{""},
		{"", ""},
		{"NULL", "null"},
		{`a"b`, `c\d`, `\`, `"`},
		{"a,b", "{c}", " lead", "trail ", "in side", "tab\there", "new\nline"},
		{"https://app.example.com/cb?x=1&y=2#f", "ünïcødé", "😀"},
	}
	alphabet := []rune(`ab ,{}"\N'ü` + "\t\n")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		l := make([]string, rng.IntN(5))
		for i := range l {
			r := make([]rune, rng.IntN(6))
			for j := range r {
				r[j] = alphabet[rng.IntN(len(alphabet))]
			}
			l[i] = string(r)
		}
		lists = append(lists, l)
	}
	for _, want := range lists {
		enc, err := m.Encode(pgtype.TextArrayOID, pgtype.TextFormatCode, want, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		if err := scanTextArray(string(enc), &got); err != nil || !slices.Equal(got, want) || got == nil {
			t.Errorf("scanTextArray(%s) = %q, %v; want %q", enc, got, err, want)
		}
	}
	for _, bad := range []any{"", "{", "a,b", "{a,}", "{,a}", "{NULL}", `{"a}`, `{"a"b}`, 42} {
		var got []string
		if err := scanTextArray(bad, &got); err == nil {
			t.Errorf("scanTextArray(%v) = %q, want an error", bad, got)
		}
	}
}
