-- 0005_users: the login flow (Authorization Code with PKCE). Clients gain
-- their registered redirect URIs, allowed logout URLs and a first-party
-- flag; users are the people who log in. email_key is the email in lower
-- case (storage.NormalizeEmail), unique: one user per address regardless of
-- case. password_hash is an argon2id PHC string.

ALTER TABLE clients ADD COLUMN redirect_uris text[] NOT NULL DEFAULT '{}';
ALTER TABLE clients ADD COLUMN allowed_logout_urls text[] NOT NULL DEFAULT '{}';
ALTER TABLE clients ADD COLUMN first_party boolean NOT NULL DEFAULT false;

CREATE TABLE users (
    user_id        text        NOT NULL PRIMARY KEY,
    email          text        NOT NULL,
    email_key      text        NOT NULL UNIQUE,
    name           text        NOT NULL,
    password_hash  text        NOT NULL,
    email_verified boolean     NOT NULL,
    disabled       boolean     NOT NULL,
    created_at     timestamptz,
    updated_at     timestamptz
);

CREATE INDEX users_created_at ON users (created_at, user_id);
