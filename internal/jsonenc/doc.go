// Package jsonenc writes JSON strings (RFC 8259 §7) byte for byte as
// encoding/json does, HTML escaping included, by appending to a caller's
// buffer: no reflection, no allocation. It serves the hand-written encoders
// of hot paths — the access token's claims and the audit trail's details —
// whose output must stay what json.Marshal would write.
package jsonenc
