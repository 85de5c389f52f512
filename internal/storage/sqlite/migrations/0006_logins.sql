-- 0006_logins: the login flow's state. Sessions, codes and refresh tokens
-- are named by the digest of the secret value the browser or client holds.
-- Scopes are JSON arrays; times unix microseconds UTC. Rows belong to a
-- user and a client and go with either; nothing here is in the change feed.

CREATE TABLE login_sessions (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    auth_time  INTEGER,
    created_at INTEGER,
    expires_at INTEGER
) STRICT;

CREATE TABLE auth_codes (
    id             TEXT    NOT NULL PRIMARY KEY,
    client_id      TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id        TEXT    NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    redirect_uri   TEXT    NOT NULL,
    scope          TEXT    NOT NULL,
    audience       TEXT    NOT NULL,
    nonce          TEXT    NOT NULL,
    code_challenge TEXT    NOT NULL,
    auth_time      INTEGER,
    created_at     INTEGER,
    expires_at     INTEGER,
    used_at        INTEGER,
    family_id      TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE consents (
    user_id    TEXT    NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience   TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    created_at INTEGER,
    updated_at INTEGER,
    PRIMARY KEY (user_id, client_id, audience)
) STRICT;

CREATE TABLE refresh_families (
    id         TEXT    NOT NULL PRIMARY KEY,
    client_id  TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id    TEXT    NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    audience   TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    auth_time  INTEGER,
    created_at INTEGER,
    expires_at INTEGER,
    revoked_at INTEGER
) STRICT;

CREATE TABLE refresh_tokens (
    id         TEXT    NOT NULL PRIMARY KEY,
    family_id  TEXT    NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    created_at INTEGER,
    expires_at INTEGER,
    used_at    INTEGER
) STRICT;

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
