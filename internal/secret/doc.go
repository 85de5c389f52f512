// Package secret generates the random values gatehouse hands out — client
// secrets (256 bits, base64url, behind the recognisable Prefix so that leak
// scanners find them), client IDs and record IDs — and checks a presented
// secret against a stored SHA-256 digest in constant time (ARCHITECTURE.md).
package secret
