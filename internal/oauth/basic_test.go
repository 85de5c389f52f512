package oauth_test

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/oauth"
)

// FuzzParseBasic feeds arbitrary Authorization header values to ParseBasic
// (RFC 7617 with RFC 6749 §2.3.1's form-URL-encoding). It must never panic;
// it either returns valid UTF-8 credentials or an invalid_request *Error;
// and credentials it accepts, encoded again the way a client does, decode to
// the same pair.
func FuzzParseBasic(f *testing.F) {
	enc := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
	}
	for _, seed := range []string{
		enc("client", "gths_secret"), enc("a b+c%d", "p:w/ä"), enc("", ""),
		"Basic", "Basic ", "basic Y2xpZW50OnNlY3JldA==", "Bearer abc", "Basic !!!", "Basic Y2xpZW50",
		"Basic " + base64.StdEncoding.EncodeToString([]byte("%zz:x")), "Basic " + base64.StdEncoding.EncodeToString([]byte("a:%ff")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("\xff:x")), "  Basic   Y2xpZW50OnNlY3JldA==  ",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		id, secret, err := oauth.ParseBasic(header)
		if err != nil {
			var oe *oauth.Error
			if !errors.As(err, &oe) || oe.Code != oauth.CodeInvalidRequest || oe.Status != 400 {
				t.Fatalf("ParseBasic(%q) error %v is not a 400 invalid_request", header, err)
			}
			if len(header) > 16 && strings.Contains(oe.Description, header) {
				t.Fatalf("the error repeats the header: %q", oe.Description)
			}
			return
		}
		if !utf8.ValidString(id) || !utf8.ValidString(secret) {
			t.Fatalf("ParseBasic(%q) = %q, %q: not UTF-8", header, id, secret)
		}
		id2, secret2, err := oauth.ParseBasic(enc(id, secret))
		if err != nil || id2 != id || secret2 != secret {
			t.Fatalf("round trip of %q, %q = %q, %q, %v", id, secret, id2, secret2, err)
		}
	})
}
