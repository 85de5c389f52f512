-- 0009_instances: what each running instance serves, for the waits that
-- must outlast every instance's caches (a key rotation waits out the
-- longest JWKS max-age). Max-ages are seconds.

CREATE TABLE instances (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    jwks_max_age bigint      NOT NULL CHECK (jwks_max_age >= 0),
    seen_at      timestamptz NOT NULL
);

CREATE INDEX instances_seen_at ON instances (seen_at);
