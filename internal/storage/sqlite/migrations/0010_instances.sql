-- 0010_instances: what each running instance serves, for the waits that
-- must outlast every instance's caches (a key rotation waits out the
-- longest JWKS max-age). Times are unix microseconds, max-ages seconds.

CREATE TABLE instances (
    id           TEXT    NOT NULL PRIMARY KEY,
    jwks_max_age INTEGER NOT NULL CHECK (jwks_max_age >= 0),
    seen_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX instances_seen_at ON instances (seen_at);
