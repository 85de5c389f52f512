-- 0015_client_credentials: keys and certificates a client authenticates
-- with instead of a secret, shaped as Auth0's client credentials
-- (credential_type public_key, cert_subject_dn or x509_cert), which of them
-- the client's authentication methods use (client_authentication_methods,
-- a JSON object of credential ID lists), the client's jwks_uri (a gatehouse
-- extension: keys the client publishes), and the JWT IDs of the client
-- assertions already used (RFC 7523 §3 item 7), which expire with them.

CREATE TABLE client_credentials (
    id                text COLLATE "C" NOT NULL PRIMARY KEY,
    client_id         text COLLATE "C" NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    credential_type   text        NOT NULL CHECK (credential_type IN ('public_key', 'cert_subject_dn', 'x509_cert')),
    name              text        NOT NULL,
    kid               text COLLATE "C" NOT NULL,
    alg               text        NOT NULL,
    pem               text        NOT NULL,
    subject_dn        text        NOT NULL,
    thumbprint_sha256 text        NOT NULL,
    created_at        timestamptz,
    updated_at        timestamptz,
    expires_at        timestamptz
);

CREATE INDEX client_credentials_client ON client_credentials (client_id, created_at, id);
CREATE UNIQUE INDEX client_credentials_kid ON client_credentials (client_id, kid) WHERE kid <> '';

ALTER TABLE clients ADD COLUMN auth_methods jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(auth_methods) = 'object');
ALTER TABLE clients ADD COLUMN jwks_uri text NOT NULL DEFAULT '';

CREATE TABLE assertion_jtis (
    client_id  text COLLATE "C" NOT NULL,
    jti        text COLLATE "C" NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);

CREATE INDEX assertion_jtis_expiry ON assertion_jtis (expires_at);
