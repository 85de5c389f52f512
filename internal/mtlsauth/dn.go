package mtlsauth

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// attribute is one AttributeTypeAndValue of a name: its type's OID and its
// value normalized for comparison (or its DER when it is not a string).
type attribute struct {
	oid   string
	value string
}

// rdn is one relative distinguished name, its attributes sorted.
type rdn []attribute

// shortNames are the attribute type names of RFC 4514 §3 and the ones
// certificates commonly hold, by OID.
var shortNames = map[string]string{
	"cn": "2.5.4.3", "commonname": "2.5.4.3",
	"l": "2.5.4.7", "localityname": "2.5.4.7",
	"st": "2.5.4.8", "stateorprovincename": "2.5.4.8",
	"o": "2.5.4.10", "organizationname": "2.5.4.10",
	"ou": "2.5.4.11", "organizationalunitname": "2.5.4.11",
	"c": "2.5.4.6", "countryname": "2.5.4.6",
	"street": "2.5.4.9", "streetaddress": "2.5.4.9",
	"dc": "0.9.2342.19200300.100.1.25", "domaincomponent": "0.9.2342.19200300.100.1.25",
	"uid": "0.9.2342.19200300.100.1.1", "userid": "0.9.2342.19200300.100.1.1",
	"serialnumber": "2.5.4.5", "title": "2.5.4.12", "sn": "2.5.4.4", "surname": "2.5.4.4",
	"givenname": "2.5.4.42", "postalcode": "2.5.4.17",
	"emailaddress": "1.2.840.113549.1.9.1", "e": "1.2.840.113549.1.9.1",
	"organizationidentifier": "2.5.4.97",
}

// MaxDN is the longest subject DN string parsed.
const MaxDN = 4096

// ParseDN parses an RFC 4514 distinguished name string into its RDNs in
// the certificate's order (the string names the last RDN first, §2.1).
// Attribute types are names of RFC 4514 §3 (and a few more, in any case)
// or dotted OIDs; values are strings with \-escapes (a special character,
// or two hex digits of a UTF-8 byte) or #-prefixed hex DER. White space
// around ',', '+' and '=' is tolerated, as RFC 2253 writers emit it.
func ParseDN(s string) ([]rdn, error) {
	if len(s) > MaxDN {
		return nil, fmt.Errorf("distinguished name over %d bytes", MaxDN)
	}
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty distinguished name")
	}
	var out []rdn
	p := &dnParser{s: s}
	for {
		var cur rdn
		for {
			a, err := p.attribute()
			if err != nil {
				return nil, err
			}
			cur = append(cur, a)
			if !p.eat('+') {
				break
			}
		}
		out = append(out, sortRDN(cur))
		if p.i == len(p.s) {
			break
		}
		if !p.eat(',') && !p.eat(';') {
			return nil, fmt.Errorf("unexpected %q at offset %d", p.s[p.i], p.i)
		}
	}
	// RFC 4514 §2.1: the string starts with the last RDN of the sequence.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

type dnParser struct {
	s string
	i int
}

func (p *dnParser) spaces() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *dnParser) eat(c byte) bool {
	p.spaces()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		p.spaces()
		return true
	}
	return false
}

func (p *dnParser) attribute() (attribute, error) {
	p.spaces()
	start := p.i
	for p.i < len(p.s) && (isAlnum(p.s[p.i]) || p.s[p.i] == '-' || p.s[p.i] == '.') {
		p.i++
	}
	typ := p.s[start:p.i]
	if typ == "" {
		return attribute{}, fmt.Errorf("attribute type expected at offset %d", start)
	}
	oid, err := typeOID(typ)
	if err != nil {
		return attribute{}, err
	}
	if !p.eat('=') {
		return attribute{}, fmt.Errorf("'=' expected after %q", typ)
	}
	if p.i < len(p.s) && p.s[p.i] == '#' {
		start := p.i + 1
		p.i++
		for p.i < len(p.s) && isHex(p.s[p.i]) {
			p.i++
		}
		der, err := hex.DecodeString(p.s[start:p.i])
		if err != nil || len(der) == 0 {
			return attribute{}, fmt.Errorf("bad hex value of %s", typ)
		}
		var raw asn1.RawValue
		if rest, err := asn1.Unmarshal(der, &raw); err != nil || len(rest) > 0 {
			return attribute{}, fmt.Errorf("hex value of %s is not one DER value", typ)
		}
		return attribute{oid: oid, value: normalizeRaw(raw)}, nil
	}
	var b []byte
	trailing := 0 // unescaped spaces at the end of b
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == ',' || c == '+' || c == ';' {
			break
		}
		if c == '\\' {
			if p.i+1 >= len(p.s) {
				return attribute{}, errors.New("a trailing backslash")
			}
			n := p.s[p.i+1]
			if isHex(n) && p.i+2 < len(p.s) && isHex(p.s[p.i+2]) {
				v, _ := strconv.ParseUint(p.s[p.i+1:p.i+3], 16, 8)
				b = append(b, byte(v))
				p.i += 3
			} else if strings.IndexByte(` "#+,;<=>\`, n) >= 0 {
				b = append(b, n)
				p.i += 2
			} else {
				return attribute{}, fmt.Errorf("bad escape \\%c", n)
			}
			trailing = 0
			continue
		}
		if c == '"' || c == '<' || c == '>' || c == '=' || c == 0 {
			return attribute{}, fmt.Errorf("%q must be escaped in a value", c)
		}
		b = append(b, c)
		if c == ' ' {
			trailing++
		} else {
			trailing = 0
		}
		p.i++
	}
	b = b[:len(b)-trailing]
	if !utf8.Valid(b) {
		return attribute{}, errors.New("a value is not UTF-8")
	}
	return attribute{oid: oid, value: normalizeString(string(b))}, nil
}

func typeOID(typ string) (string, error) {
	if typ[0] >= '0' && typ[0] <= '9' {
		for _, part := range strings.Split(typ, ".") {
			if part == "" || strings.Trim(part, "0123456789") != "" || len(part) > 1 && part[0] == '0' {
				return "", fmt.Errorf("attribute type %q is not an OID", typ)
			}
		}
		return typ, nil
	}
	if oid, ok := shortNames[strings.ToLower(typ)]; ok {
		return oid, nil
	}
	return "", fmt.Errorf("unknown attribute type %q (use its dotted OID)", typ)
}

// normalizeString applies caseIgnoreMatch's preparation (RFC 4518): runs
// of white space become one space, leading and trailing ones go, and case
// is folded.
func normalizeString(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// normalizeRaw is a DER value's comparison form: a string type's
// normalized text, any other value's DER in hex.
func normalizeRaw(raw asn1.RawValue) string {
	if raw.Class == asn1.ClassUniversal {
		switch raw.Tag {
		case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, asn1.TagT61String, asn1.TagNumericString:
			if utf8.Valid(raw.Bytes) {
				return normalizeString(string(raw.Bytes))
			}
		case asn1.TagBMPString:
			return normalizeString(decodeBMP(raw.Bytes))
		}
	}
	return "#" + hex.EncodeToString(raw.FullBytes)
}

func decodeBMP(b []byte) string {
	var sb strings.Builder
	for i := 0; i+1 < len(b); i += 2 {
		sb.WriteRune(rune(b[i])<<8 | rune(b[i+1]))
	}
	return sb.String()
}

// rawATV and rawRDNSET read a Name keeping each value's DER (a slice type
// whose name ends in SET is a SET OF to encoding/asn1).
type rawATV struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

type rawRDNSET []rawATV

// certDN reads the certificate's subject as RDNs in its own order.
func certDN(cert *x509.Certificate) ([]rdn, error) {
	var seq []rawRDNSET
	if rest, err := asn1.Unmarshal(cert.RawSubject, &seq); err != nil || len(rest) > 0 {
		return nil, errors.New("the certificate's subject cannot be read")
	}
	out := make([]rdn, 0, len(seq))
	for _, set := range seq {
		cur := make(rdn, 0, len(set))
		for _, atv := range set {
			cur = append(cur, attribute{oid: atv.Type.String(), value: normalizeRaw(atv.Value)})
		}
		out = append(out, sortRDN(cur))
	}
	return out, nil
}

func sortRDN(r rdn) rdn {
	for i := 1; i < len(r); i++ {
		for j := i; j > 0 && less(r[j], r[j-1]); j-- {
			r[j], r[j-1] = r[j-1], r[j]
		}
	}
	return r
}

func less(a, b attribute) bool {
	if a.oid != b.oid {
		return a.oid < b.oid
	}
	return a.value < b.value
}

// MatchSubjectDN reports whether the certificate's subject is the
// distinguished name dn (RFC 4514), compared as names (package doc).
func MatchSubjectDN(cert *x509.Certificate, dn string) (bool, error) {
	want, err := ParseDN(dn)
	if err != nil {
		return false, fmt.Errorf("registered subject DN: %w", err)
	}
	got, err := certDN(cert)
	if err != nil {
		return false, err
	}
	if len(got) != len(want) {
		return false, nil
	}
	for i := range got {
		if len(got[i]) != len(want[i]) {
			return false, nil
		}
		for j := range got[i] {
			if got[i][j] != want[i][j] {
				return false, nil
			}
		}
	}
	return true, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
