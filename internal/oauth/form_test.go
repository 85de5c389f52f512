package oauth

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParseFormMatchesURL: the allocation-light form parser accepts and
// refuses exactly what url.ParseQuery does, and reads the same values of
// the known parameters; a known parameter other than resource given twice
// is a duplicate.
func FuzzParseFormMatchesURL(f *testing.F) {
	for _, s := range []string{
		"grant_type=client_credentials&client_id=a&client_secret=b&audience=https%3A%2F%2Fapi&scope=r+w",
		"resource=a&resource=b&resource=", "a=%zz", "grant_type=a;b", "x;y=1", "%67rant_type=x", "grant_type=1&grant%5Ftype=2",
		"=x&&&scope", "scope=%", "scope=%4", "scope=%4g", "client_id=%C3%A9+x", "k=v=w&audience=a=b", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var p params
		err := parseForm([]byte(body), &p)
		vals, uerr := url.ParseQuery(body)
		if uerr != nil {
			if err == nil || !strings.Contains(err.Error(), "malformed") {
				t.Fatalf("url.ParseQuery refuses %q (%v), parseForm says %v", body, uerr, err)
			}
			return
		}
		var dup string
		for id := range numParams {
			name := paramNames[id]
			if id != pResource && len(vals[name]) > 1 && dup == "" {
				dup = name
			}
		}
		if dup != "" {
			if err == nil || !strings.Contains(err.Error(), "more than once") {
				t.Fatalf("%q repeats a parameter, parseForm says %v", body, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("parseForm refuses %q: %v", body, err)
		}
		for id := range numParams {
			name := paramNames[id]
			if id == pResource {
				if strings.Join(p.resources, "\x00") != strings.Join(vals[name], "\x00") || p.has[id] != (len(vals[name]) > 0) {
					t.Fatalf("resource %q, url says %q", p.resources, vals[name])
				}
				continue
			}
			if want := vals.Get(name); p.val[id] != want || p.has[id] != vals.Has(name) {
				t.Fatalf("%s = %q (has %v), url says %q (has %v)", name, p.val[id], p.has[id], want, vals.Has(name))
			}
		}
	})
}

// FuzzFlatJSONMatchesDecoder: whenever the flat JSON fast path accepts a
// body, encoding/json accepts it too and reads the same parameters.
func FuzzFlatJSONMatchesDecoder(f *testing.F) {
	for _, s := range []string{
		`{"grant_type":"client_credentials","client_id":"a","client_secret":"b","audience":"https://api"}`,
		` { "scope" : "r w" , "resource":"x", "other":"y" } `, `{}`, `{"a":1}`, `{"scope":"a","scope":"b"}`,
		`{"scope":"a\u0062"}`, `{"scope":"é"}`, `{"scope":"a"}x`, `{"scope":"a",}`, `{"resource":["a","b"]}`, `[]`, `{"x":"\t"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var fast, slow params
		if !parseFlatJSON([]byte(body), &fast) {
			return
		}
		if err := decodeJSON([]byte(body), &slow); err != nil {
			t.Fatalf("fast path accepts %q, encoding/json refuses: %v", body, err)
		}
		if fast.has != slow.has || fast.val != slow.val || strings.Join(fast.resources, "\x00") != strings.Join(slow.resources, "\x00") {
			t.Fatalf("%q: fast %+v, encoding/json %+v", body, fast, slow)
		}
	})
}
