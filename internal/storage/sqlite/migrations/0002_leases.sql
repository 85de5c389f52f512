-- 0002_leases: named leases, the database lock among instances (one
-- instance rotates the signing keys at a time). A lease is held by holder
-- until expires_at (unix microseconds UTC); an expired lease may be taken
-- over. Leases are not part of the change feed.

CREATE TABLE leases (
    name       TEXT    NOT NULL PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
