// Package console is the admin console at /console: server-rendered pages
// (html/template, no script, a strict Content-Security-Policy) for the
// APIs, applications and their secrets and grants, people, roles, signing
// keys, the audit trail and the token activity.
//
// People sign in through gatehouse's own login: the console is a
// first-party login client (EnsureClient) that runs the Authorization Code
// flow with PKCE against /authorize and redeems the code at the token
// endpoint in process, for a person's access token for the management API.
// The token is kept sealed (AES-GCM) in an HttpOnly cookie scoped to
// /console. Every page and every action checks that token with the
// management API's own authorization (mgmt.Handler.AuthorizeToken: the
// scope in the token, and held as a permission by the person now) and then
// calls the same internal/admin operations as the management API, with
// the person as the audit actor. Forms carry the login pages' CSRF tokens
// (package webform).
package console
