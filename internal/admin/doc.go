// Package admin holds the administrative operations on APIs, clients, their
// secrets and grants: input validation, generation of identifiers and
// secrets, and the secret rotation rules of DESIGN §2 and §4. The command line
// calls it today; the management API will call the same functions, so every
// rule lives in one place. Invalid input is reported as an error wrapping
// ErrInvalid and changes nothing.
package admin
