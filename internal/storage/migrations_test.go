package storage

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestReadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name  string
		files fstest.MapFS
		want  []int  // versions in order
		err   string // substring of the error
	}{
		{"in version order, not name order", fstest.MapFS{
			"m/0010_ten.sql": file("ten"), "m/0002_two.sql": file("two"), "m/0001_init.sql": file("one"),
		}, []int{1, 2, 10}, ""},
		{"empty folder", fstest.MapFS{"m": &fstest.MapFile{Mode: 0o755 | 1<<31}}, nil, ""},
		{"bad name", fstest.MapFS{"m/init.sql": file("x")}, nil, "NNNN_name.sql"},
		{"upper case", fstest.MapFS{"m/0001_Init.sql": file("x")}, nil, "NNNN_name.sql"},
		{"version zero", fstest.MapFS{"m/0000_zero.sql": file("x")}, nil, "bad version"},
		{"same version twice", fstest.MapFS{"m/0001_a.sql": file("a"), "m/001_b.sql": file("b")}, nil, "same version 1"},
		{"no folder", fstest.MapFS{}, nil, "read embedded migrations"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := ReadMigrations(tc.files, "m")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
				if m.SQL == "" || !strings.HasSuffix(m.Name, ".sql") {
					t.Errorf("migration %+v", m)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("versions %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("versions %v, want %v", got, tc.want)
				}
			}
		})
	}
}
