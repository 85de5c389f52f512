-- 0016_client_credentials: keys and certificates a client authenticates
-- with instead of a secret, shaped as Auth0's client credentials
-- (credential_type public_key, cert_subject_dn or x509_cert), which of them
-- the client's authentication methods use (client_authentication_methods,
-- a JSON object of credential ID lists), the client's jwks_uri (a gatehouse
-- extension: keys the client publishes), and the JWT IDs of the client
-- assertions already used (RFC 7523 §3 item 7), which expire with them.

CREATE TABLE client_credentials (
    id                TEXT    NOT NULL PRIMARY KEY,
    client_id         TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    credential_type   TEXT    NOT NULL CHECK (credential_type IN ('public_key', 'cert_subject_dn', 'x509_cert')),
    name              TEXT    NOT NULL,
    kid               TEXT    NOT NULL,
    alg               TEXT    NOT NULL,
    pem               TEXT    NOT NULL,
    subject_dn        TEXT    NOT NULL,
    thumbprint_sha256 TEXT    NOT NULL,
    created_at        INTEGER,
    updated_at        INTEGER,
    expires_at        INTEGER
) STRICT;

CREATE INDEX client_credentials_client ON client_credentials (client_id, created_at, id);
CREATE UNIQUE INDEX client_credentials_kid ON client_credentials (client_id, kid) WHERE kid <> '';

ALTER TABLE clients ADD COLUMN auth_methods TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(auth_methods) AND json_type(auth_methods) = 'object');
ALTER TABLE clients ADD COLUMN jwks_uri TEXT NOT NULL DEFAULT '';

CREATE TABLE assertion_jtis (
    client_id  TEXT    NOT NULL,
    jti        TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
) STRICT, WITHOUT ROWID;

CREATE INDEX assertion_jtis_expiry ON assertion_jtis (expires_at);
