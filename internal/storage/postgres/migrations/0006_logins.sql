-- 0006_logins: the login flow's state. Sessions, codes and refresh tokens
-- are named by the digest of the secret value the browser or client holds.
-- Rows belong to a user and a client and go with either; nothing here is in the change feed.

CREATE TABLE login_sessions (
    id         text        NOT NULL PRIMARY KEY,
    user_id    text        NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    auth_time  timestamptz,
    created_at timestamptz,
    expires_at timestamptz
);

CREATE TABLE auth_codes (
    id             text        NOT NULL PRIMARY KEY,
    client_id      text        NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id        text        NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    redirect_uri   text        NOT NULL,
    scope          text[]      NOT NULL,
    audience       text        NOT NULL,
    nonce          text        NOT NULL,
    code_challenge text        NOT NULL,
    auth_time      timestamptz,
    created_at     timestamptz,
    expires_at     timestamptz,
    used_at        timestamptz,
    family_id      text        NOT NULL DEFAULT ''
);

CREATE TABLE consents (
    user_id    text        NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    client_id  text        NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience   text        NOT NULL,
    scope      text[]      NOT NULL,
    created_at timestamptz,
    updated_at timestamptz,
    PRIMARY KEY (user_id, client_id, audience)
);

CREATE TABLE refresh_families (
    id         text        NOT NULL PRIMARY KEY,
    client_id  text        NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id    text        NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    audience   text        NOT NULL,
    scope      text[]      NOT NULL,
    auth_time  timestamptz,
    created_at timestamptz,
    expires_at timestamptz,
    revoked_at timestamptz
);

CREATE TABLE refresh_tokens (
    id         text        NOT NULL PRIMARY KEY,
    family_id  text        NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    created_at timestamptz,
    expires_at timestamptz,
    used_at    timestamptz
);

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
