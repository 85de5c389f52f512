-- 0020_mtls: a client whose access tokens are bound to its TLS client
-- certificate (RFC 8705 §3.4 tls_client_certificate_bound_access_tokens):
-- each carries cnf.x5t#S256, and a token request without a certificate is
-- refused.

ALTER TABLE clients ADD COLUMN tls_client_certificate_bound_access_tokens INTEGER NOT NULL DEFAULT 0
    CHECK (tls_client_certificate_bound_access_tokens IN (0, 1));

-- A tls_client_auth client registered by a subject alternative name of its
-- certificate instead of a subject DN credential (RFC 8705 §2.1.2:
-- tls_client_auth_san_dns, _uri, _ip or _email): the kind ('' for none) and
-- the value.
ALTER TABLE clients ADD COLUMN tls_client_auth_san_type TEXT NOT NULL DEFAULT ''
    CHECK (tls_client_auth_san_type IN ('', 'dns', 'uri', 'ip', 'email'));
ALTER TABLE clients ADD COLUMN tls_client_auth_san TEXT NOT NULL DEFAULT '';
