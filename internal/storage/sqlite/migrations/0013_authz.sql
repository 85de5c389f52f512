-- 0013_authz: least privilege for people's tokens (docs/authorization.md).
-- APIs gain their access policies (Auth0's subject_type_authorization) and
-- enforce_policies (RBAC). Every existing API takes require_client_grant for
-- people, as new ones do; the built-in management API takes deny_all.
-- Grants gain their subject type: the existing ones are the clients' own
-- ('client'), and a client may hold one grant of each type per API, so the
-- table is rebuilt with the new unique key. Roles, their permissions, the
-- roles users hold and users' own permissions are new tables; they follow
-- their users, roles and APIs out (ON DELETE CASCADE).

ALTER TABLE apis ADD COLUMN user_policy TEXT NOT NULL DEFAULT 'require_client_grant'
    CHECK (user_policy IN ('require_client_grant', 'allow_all', 'deny_all'));
ALTER TABLE apis ADD COLUMN client_policy TEXT NOT NULL DEFAULT 'require_client_grant'
    CHECK (client_policy IN ('require_client_grant', 'deny_all'));
ALTER TABLE apis ADD COLUMN enforce_policies INTEGER NOT NULL DEFAULT 0 CHECK (enforce_policies IN (0, 1));

UPDATE apis SET user_policy = 'deny_all' WHERE name = 'gatehouse Management API' AND identifier LIKE '%/api/v2/';

CREATE TABLE client_grants_new (
    id           TEXT    NOT NULL PRIMARY KEY,
    client_id    TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience     TEXT    NOT NULL REFERENCES apis (identifier) ON DELETE CASCADE,
    scope        TEXT    NOT NULL,                 -- JSON ["read:x", ...]
    created_at   INTEGER,
    subject_type TEXT    NOT NULL DEFAULT 'client' CHECK (subject_type IN ('client', 'user')),
    UNIQUE (client_id, audience, subject_type)
) STRICT;
INSERT INTO client_grants_new (id, client_id, audience, scope, created_at)
    SELECT id, client_id, audience, scope, created_at FROM client_grants;
DROP TABLE client_grants;
ALTER TABLE client_grants_new RENAME TO client_grants;
CREATE INDEX client_grants_audience ON client_grants (audience);

CREATE TABLE roles (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL,
    created_at  INTEGER,
    updated_at  INTEGER
) STRICT;

CREATE TABLE role_permissions (
    role_id  TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    audience TEXT NOT NULL REFERENCES apis (identifier) ON DELETE CASCADE,
    scope    TEXT NOT NULL,
    PRIMARY KEY (role_id, audience, scope)
) STRICT;

CREATE INDEX role_permissions_audience ON role_permissions (audience);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
) STRICT;

CREATE INDEX user_roles_role ON user_roles (role_id, user_id);

CREATE TABLE user_permissions (
    user_id  TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    audience TEXT NOT NULL REFERENCES apis (identifier) ON DELETE CASCADE,
    scope    TEXT NOT NULL,
    PRIMARY KEY (user_id, audience, scope)
) STRICT;

CREATE INDEX user_permissions_audience ON user_permissions (audience);
