-- 0020_mtls: a client whose access tokens are bound to its TLS client
-- certificate (RFC 8705 §3.4 tls_client_certificate_bound_access_tokens):
-- each carries cnf.x5t#S256, and a token request without a certificate is
-- refused.

ALTER TABLE clients ADD COLUMN tls_client_certificate_bound_access_tokens INTEGER NOT NULL DEFAULT 0
    CHECK (tls_client_certificate_bound_access_tokens IN (0, 1));
