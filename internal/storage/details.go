package storage

import (
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/jsonenc"
)

// AppendDetailsJSON appends an audit event's details to dst as a JSON object
// (RFC 8259 §4) and returns the extended slice: "{}" for none, keys in
// sorted order, strings written by jsonenc, so that its output is byte for
// byte encoding/json.Marshal's. It is the audit writers' encoder: one append
// per event, no reflection.
func AppendDetailsJSON(dst []byte, d map[string]string) []byte {
	if len(d) == 0 {
		return append(dst, "{}"...)
	}
	var stack [8]string
	keys := stack[:0]
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonenc.AppendString(dst, k)
		dst = append(dst, ':')
		dst = jsonenc.AppendString(dst, d[k])
	}
	return append(dst, '}')
}
