// Package mgmt serves the management API under /api/v2/ in the shapes of
// Auth0's Management API v2 — resource servers, clients, client grants —
// plus gatehouse's own resources in the same style: a client's secrets and
// the signing keys. Tooling written against Auth0 (its SDKs, scripts) works
// by changing the domain.
//
// Every change goes through the admin service, the one place that validates
// it, so the API refuses exactly what the command line refuses. Requests are
// authorized by Bearer access tokens (RFC 6750 §2.1) that this gatehouse
// issued for its built-in management API, whose identifier is the issuer
// (without a trailing slash) + "/api/v2/"; they are verified in process
// against the server's own signing keys, and against the in-memory catalog:
// the client must still exist, be enabled and hold its grant. Each route
// needs one scope, named as Auth0 names it (read:clients,
// create:client_grants, …); a token without it, or whose client's grant no
// longer gives it, gets 403 insufficient_scope (RFC 6750 §3.1).
//
// Bodies are strict: application/json, at most 64 KiB, one JSON object
// whose fields are all known and of the right type; anything else is a 400
// with a message that names the problem. Errors have Auth0's body
// {statusCode, error, message, errorCode}; listings take page, per_page and
// include_totals and, with include_totals, answer {total, start, limit,
// <items>}. The document describing all of it is docs/openapi.json (OpenAPI
// 3.1), served at /api/v2/openapi.json.
package mgmt
