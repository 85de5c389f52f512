// Package access decides what a token may carry: an API's access policy
// for each kind of subject (Auth0's subject_type_authorization), the
// client's grants for it and, when the API enforces policies (Auth0's
// RBAC), the permissions of the person the token is about. The
// authorization endpoint asks it what to show on the consent page and to
// put in the code; the token endpoint asks it again at every code and
// refresh exchange, so a grant narrowed or a role removed counts from the
// next token (RFC 9700 §2.3, privilege restriction). docs/authorization.md
// has the table.
package access
