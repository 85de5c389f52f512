-- 0001_init: the initial gatehouse schema for PostgreSQL.
--
-- Times are timestamptz (microsecond precision), NULL for "not set".
-- Identifiers use the "C" collation: byte order and byte equality, as in
-- the SQLite backend. The tables live in the connection's current schema
-- (search_path), so several deployments or test runs may share a database.

CREATE TABLE apis (
    identifier     text COLLATE "C" NOT NULL PRIMARY KEY,
    name           text        NOT NULL,
    scopes         jsonb       NOT NULL,         -- [{"value","description"}]
    token_lifetime bigint      NOT NULL,         -- seconds
    signing_alg    text        NOT NULL,
    token_dialect  text        NOT NULL,
    created_at     timestamptz
);

CREATE TABLE clients (
    client_id   text COLLATE "C" NOT NULL PRIMARY KEY,
    name        text        NOT NULL,
    description text        NOT NULL,
    app_type    text        NOT NULL,
    grant_types text[]      NOT NULL,
    disabled    boolean     NOT NULL,
    created_at  timestamptz,
    updated_at  timestamptz
);

CREATE INDEX clients_created_at ON clients (created_at, client_id);

CREATE TABLE client_secrets (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    client_id    text COLLATE "C" NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    hash_alg     text        NOT NULL,
    hash         bytea       NOT NULL,
    hint         text        NOT NULL,
    created_at   timestamptz,
    not_before   timestamptz,
    expires_at   timestamptz,
    last_used_at timestamptz
);

CREATE INDEX client_secrets_client ON client_secrets (client_id, created_at, id);

CREATE TABLE client_grants (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    client_id  text COLLATE "C" NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience   text COLLATE "C" NOT NULL REFERENCES apis (identifier) ON DELETE CASCADE,
    scope      text[]      NOT NULL,
    created_at timestamptz,
    UNIQUE (client_id, audience)
);

CREATE INDEX client_grants_audience ON client_grants (audience);

CREATE TABLE signing_keys (
    kid          text COLLATE "C" NOT NULL PRIMARY KEY,
    alg          text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('next', 'current', 'previous', 'retired')),
    private_key  bytea       NOT NULL,           -- encrypted
    public_jwk   bytea       NOT NULL,
    created_at   timestamptz,
    activated_at timestamptz,
    retire_at    timestamptz
);

-- At most one next and one current key per algorithm: of two racing
-- rotations only one can commit. A partial unique index cannot be deferred:
-- SaveKeys parks the keys it updates in 'retired' before setting their
-- final states.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (alg, state)
    WHERE state IN ('current', 'next');

-- The change feed every instance follows (see storage.Change). Writers hold
-- the change lock from before they take a sequence number until they
-- commit, so changes commit in sequence order.
CREATE TABLE changes (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity     text        NOT NULL,
    id         text        NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
