// Package clientcred reads and checks the keys and certificates clients
// authenticate with instead of a secret, shaped as Auth0's client
// credentials (credential_type public_key, cert_subject_dn, x509_cert):
// PEM parsing, the key ID (an RFC 7638 JWK thumbprint), the JWS algorithms
// a key may sign client assertions with (RFC 7523 §2.2: RS256, RS384, PS256,
// ES256, EdDSA; never none or HMAC), and the certificate thumbprint of
// RFC 8705 §3.1. The management API and the command line build credentials
// with New; the catalog parses each stored one once with Parse, so that the
// token endpoint verifies an assertion without parsing PEM.
package clientcred
