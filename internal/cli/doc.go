// Package cli implements the gatehouse command line with cobra: serve, and
// the admin commands that work directly on the database (api, client,
// client secret, grant, key, user, role, audit, console) — api, client, grant and key
// also, with --server, through a server's management API — plus init,
// token, bench, healthcheck, migrate and version. Every admin command prints a table, or with --json the objects
// under their own field names; bad input exits non-zero with a one-line
// error and changes nothing. docs/reference/cli.md is generated from these
// commands.
package cli

//go:generate go run ./gendoc -o ../../docs/reference/cli.md
