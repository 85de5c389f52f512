// Package mtlsauth decides whether a TLS client certificate authenticates a
// client (RFC 8705 §2). For tls_client_auth (§2.1) the certificate must
// chain to a configured CA, be valid now and for client authentication, and
// match the client's registered subject distinguished name — compared as
// X.500 names, not strings: the RFC 4514 string is parsed, its RDNs put in
// the certificate's order, attribute types compared by OID and values by
// caseIgnoreMatch with insignificant white space removed (RFC 4518 §2.6.1),
// multi-valued RDNs as sets — or one of its subject alternative names
// (§2.1.2: a DNS name, URI, IP address or email address). For
// self_signed_tls_client_auth (§2.2) the certificate must be one the client
// registered, by SHA-256 thumbprint; no chain, and no expiry, is checked.
package mtlsauth
