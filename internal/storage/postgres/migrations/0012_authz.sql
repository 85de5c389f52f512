-- 0012_authz: least privilege for people's tokens (docs/authorization.md).
-- APIs gain their access policies (Auth0's subject_type_authorization) and
-- enforce_policies (RBAC). Every existing API takes require_client_grant for
-- people, as new ones do; the built-in management API takes deny_all.
-- Grants gain their subject type: the existing ones are the clients' own
-- ('client'), and a client may hold one grant of each type per API. Roles,
-- their permissions, the roles users hold and users' own permissions are
-- new tables; they follow their users, roles and APIs out (ON DELETE
-- CASCADE).

ALTER TABLE apis ADD COLUMN user_policy text NOT NULL DEFAULT 'require_client_grant'
    CHECK (user_policy IN ('require_client_grant', 'allow_all', 'deny_all'));
ALTER TABLE apis ADD COLUMN client_policy text NOT NULL DEFAULT 'require_client_grant'
    CHECK (client_policy IN ('require_client_grant', 'deny_all'));
ALTER TABLE apis ADD COLUMN enforce_policies boolean NOT NULL DEFAULT false;

UPDATE apis SET user_policy = 'deny_all' WHERE name = 'gatehouse Management API' AND identifier LIKE '%/api/v2/';

ALTER TABLE client_grants ADD COLUMN subject_type text NOT NULL DEFAULT 'client' CHECK (subject_type IN ('client', 'user'));
ALTER TABLE client_grants DROP CONSTRAINT client_grants_client_id_audience_key;
ALTER TABLE client_grants ADD CONSTRAINT client_grants_client_id_audience_subject_type_key UNIQUE (client_id, audience, subject_type);

CREATE TABLE roles (
    id          text COLLATE "C" NOT NULL PRIMARY KEY,
    name        text COLLATE "C" NOT NULL UNIQUE,
    description text        NOT NULL,
    created_at  timestamptz,
    updated_at  timestamptz
);

CREATE TABLE role_permissions (
    role_id  text COLLATE "C" NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    audience text COLLATE "C" NOT NULL REFERENCES apis (identifier) ON DELETE CASCADE,
    scope    text COLLATE "C" NOT NULL,
    PRIMARY KEY (role_id, audience, scope)
);

CREATE INDEX role_permissions_audience ON role_permissions (audience);

CREATE TABLE user_roles (
    user_id text COLLATE "C" NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    role_id text COLLATE "C" NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);

CREATE INDEX user_roles_role ON user_roles (role_id, user_id);

CREATE TABLE user_permissions (
    user_id  text COLLATE "C" NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    audience text COLLATE "C" NOT NULL REFERENCES apis (identifier) ON DELETE CASCADE,
    scope    text COLLATE "C" NOT NULL,
    PRIMARY KEY (user_id, audience, scope)
);

CREATE INDEX user_permissions_audience ON user_permissions (audience);
