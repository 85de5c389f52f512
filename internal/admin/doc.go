// Package admin holds the administrative operations on APIs, clients, their
// secrets and grants: input validation, generation of identifiers and
// secrets, and the secret rotation rules of ARCHITECTURE.md and docs/reference/cli.md. The command line
// calls it today; the management API will call the same functions, so every
// rule lives in one place. Invalid input is reported as an error wrapping
// ErrInvalid and changes nothing.
package admin
