// Package testutil holds helpers shared by gatehouse's tests: a signing key
// generator that hands out pre-generated RSA keys so that test binaries pay
// for RSA key generation once, not once per server they start, and a
// self-signed certificate writer for TLS tests, and a cheap argon2id
// password hasher for tests that log users in, and a Buffer that
// goroutines write logs and process output to while a test reads it.
package testutil
