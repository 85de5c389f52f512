// Package token implements the token endpoint (RFC 6749 §3.2). Every request
// runs the same steps in one place — parse (package oauth), authenticate the
// client, pick the Grant for its grant_type, check that the client may use
// it, resolve the audience (Auth0's audience or RFC 8707 resource), check the
// client's grant for that API and the requested scope — and only the
// grant-specific part differs between grant types. Access tokens are JWTs in
// the RFC 9068 profile, or in Auth0's dialect when the API asks for it.
package token
