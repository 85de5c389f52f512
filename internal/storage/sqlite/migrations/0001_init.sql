-- 0001_init: the initial gatehouse schema.
--
-- Times are INTEGER unix microseconds UTC, NULL for "not set".
-- List values (scopes, grant types) are JSON arrays stored as TEXT.

CREATE TABLE apis (
    identifier     TEXT    NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL,
    scopes         TEXT    NOT NULL,             -- JSON [{"value","description"}]
    token_lifetime INTEGER NOT NULL,             -- seconds
    signing_alg    TEXT    NOT NULL,
    token_dialect  TEXT    NOT NULL,
    created_at     INTEGER
) STRICT;

CREATE TABLE clients (
    client_id   TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    app_type    TEXT    NOT NULL,
    grant_types TEXT    NOT NULL,                -- JSON ["client_credentials", ...]
    disabled    INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    created_at  INTEGER,
    updated_at  INTEGER
) STRICT;

CREATE INDEX clients_created_at ON clients (created_at, client_id);

CREATE TABLE client_secrets (
    id           TEXT    NOT NULL PRIMARY KEY,
    client_id    TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    hash_alg     TEXT    NOT NULL,
    hash         BLOB    NOT NULL,
    hint         TEXT    NOT NULL,
    created_at   INTEGER,
    not_before   INTEGER,
    expires_at   INTEGER,
    last_used_at INTEGER
) STRICT;

CREATE INDEX client_secrets_client ON client_secrets (client_id, created_at, id);

CREATE TABLE client_grants (
    id         TEXT    NOT NULL PRIMARY KEY,
    client_id  TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience   TEXT    NOT NULL REFERENCES apis (identifier) ON DELETE CASCADE,
    scope      TEXT    NOT NULL,                 -- JSON ["read:x", ...]
    created_at INTEGER,
    UNIQUE (client_id, audience)
) STRICT;

CREATE INDEX client_grants_audience ON client_grants (audience);

CREATE TABLE signing_keys (
    kid          TEXT    NOT NULL PRIMARY KEY,
    alg          TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('next', 'current', 'previous', 'retired')),
    private_key  BLOB    NOT NULL,               -- encrypted
    public_jwk   BLOB    NOT NULL,
    created_at   INTEGER,
    activated_at INTEGER,
    retire_at    INTEGER
) STRICT;

-- At most one next and one current key per algorithm: of two racing
-- rotations only one can commit.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (alg, state)
    WHERE state IN ('current', 'next');

-- The change feed every instance follows (see storage.Change).
CREATE TABLE changes (
    seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    entity     TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    changed_at INTEGER NOT NULL
) STRICT;
