-- 0018_revocations: the access token denylist (RFC 7009) and the clients
-- that may introspect an API's tokens (RFC 7662). A revocation is named by
-- its kind and value (a jti, a client ID or a subject); revoked_before and
-- expires_at are unix microseconds UTC. Entries are deleted once expired.

CREATE TABLE revocations (
    kind       TEXT    NOT NULL CHECK (kind IN ('jti', 'client', 'subject')),
    value      TEXT    NOT NULL,
    revoked_before INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (kind, value)
) STRICT;

CREATE INDEX revocations_expires_at ON revocations (expires_at);

CREATE TABLE introspectors (
    audience   TEXT    NOT NULL REFERENCES apis (identifier) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    created_at INTEGER,
    PRIMARY KEY (audience, client_id)
) STRICT;

CREATE INDEX introspectors_client ON introspectors (client_id);
