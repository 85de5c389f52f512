package mgmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 64 << 10

// decode reads the body of r into v, a pointer to a struct whose fields
// have json tags: the body must be application/json, at most MaxBodyBytes,
// and one JSON object whose every field (at any depth) is known, spelled
// exactly, and of the field's type.
func decode(w http.ResponseWriter, r *http.Request, v any) *Error {
	_, err := decodeWith(w, r, v, nil)
	return err
}

// decodeWith is decode where the fields named in also are known too: they
// are left out of v and returned as they came, for the caller to judge
// (Auth0's fields that gatehouse accepts at one value, read-only fields).
func decodeWith(w http.ResponseWriter, r *http.Request, v any, also []string) (map[string]json.RawMessage, *Error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, badBody("the body must be JSON with Content-Type: application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, newError(http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes))
		}
		return nil, badBody("the body could not be read")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) || bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
			return nil, badBody("the body must be a JSON object")
		}
		return nil, badBody("the body is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: "))
	}
	if fields == nil {
		return nil, badBody("the body must be a JSON object")
	}
	known := jsonFields(reflect.TypeOf(v).Elem())
	var unknown []string
	extra := map[string]json.RawMessage{}
	for name, val := range fields {
		if slices.Contains(also, name) {
			extra[name] = val
			delete(fields, name)
			continue
		}
		if !slices.Contains(known, name) {
			unknown = append(unknown, strconv.Quote(name))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, badBody(fmt.Sprintf("unknown field %s; the known fields are %s", strings.Join(unknown, ", "), strings.Join(slices.Concat(known, also), ", ")))
	}
	if len(extra) > 0 {
		body, _ = json.Marshal(fields) // a map of raw values marshals
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields() // nested objects (the top level is checked above, exactly)
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			want := typeErr.Type
			// A value of a map: say what the whole field must be.
			top, _, _ := strings.Cut(typeErr.Field, ".")
			if f, ok := fieldByJSONName(reflect.TypeOf(v).Elem(), top); ok && deref(f.Type).Kind() == reflect.Map {
				typeErr.Field, want = top, f.Type
			}
			return nil, badBody(fmt.Sprintf("field %q must be %s", typeErr.Field, typeName(want)))
		}
		return nil, badBody(strings.TrimPrefix(err.Error(), "json: "))
	}
	return extra, nil
}

// jsonFields lists the json names of t's fields.
func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	for f := range t.Fields() {
		if n, _, _ := strings.Cut(f.Tag.Get("json"), ","); n == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func typeName(t reflect.Type) string {
	t = deref(t)
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(typeName(t.Elem()), "a "), "an ") + "s"
	case reflect.Map:
		return "an object of " + strings.TrimPrefix(strings.TrimPrefix(typeName(t.Elem()), "a "), "an ") + " values"
	case reflect.Struct:
		return "an object"
	}
	return t.String()
}

// query reads an optional single-valued query parameter.
func query(q url.Values, name string) (string, *Error) {
	vals := q[name]
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
		return vals[0], nil
	}
	return "", badQuery(name + " is given more than once")
}
