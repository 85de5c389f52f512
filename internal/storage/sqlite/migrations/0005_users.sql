-- 0005_users: the login flow (Authorization Code with PKCE). Clients gain
-- their registered redirect URIs, allowed logout URLs (JSON arrays) and a
-- first-party flag; users are the people who log in. email_key is the email
-- in lower case (storage.NormalizeEmail), unique: one user per address
-- regardless of case. password_hash is an argon2id PHC string.

ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN allowed_logout_urls TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN first_party INTEGER NOT NULL DEFAULT 0 CHECK (first_party IN (0, 1));

CREATE TABLE users (
    user_id        TEXT    NOT NULL PRIMARY KEY,
    email          TEXT    NOT NULL,
    email_key      TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    email_verified INTEGER NOT NULL CHECK (email_verified IN (0, 1)),
    disabled       INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    created_at     INTEGER,
    updated_at     INTEGER
) STRICT;

CREATE INDEX users_created_at ON users (created_at, user_id);
