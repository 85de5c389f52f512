// Package cli implements the gatehouse command line of DESIGN §4 with cobra:
// serve, and the admin commands that work directly on the database (api,
// client, client secret, grant, key), plus token, migrate and version. Every
// admin command prints a table, or with --json the objects under their own
// field names; bad input exits non-zero with a one-line error and changes
// nothing.
package cli
