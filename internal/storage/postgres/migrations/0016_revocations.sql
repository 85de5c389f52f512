-- 0017_revocations: the access token denylist (RFC 7009) and the clients
-- that may introspect an API's tokens (RFC 7662). A revocation is named by
-- its kind and value (a jti, a client ID or a subject). Entries are deleted
-- once expired.

CREATE TABLE revocations (
    kind       text        NOT NULL CHECK (kind IN ('jti', 'client', 'subject')),
    value      text        NOT NULL,
    revoked_before timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (kind, value)
);

CREATE INDEX revocations_expires_at ON revocations (expires_at);

CREATE TABLE introspectors (
    audience   text        NOT NULL REFERENCES apis (identifier) ON DELETE CASCADE,
    client_id  text        NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    created_at timestamptz,
    PRIMARY KEY (audience, client_id)
);

CREATE INDEX introspectors_client ON introspectors (client_id);
