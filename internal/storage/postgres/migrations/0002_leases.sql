-- 0002_leases: named leases, the database lock among instances (one
-- instance rotates the signing keys at a time). A lease is held by holder
-- until expires_at; an expired lease may be taken over. Leases are not part
-- of the change feed.

CREATE TABLE leases (
    name       text COLLATE "C" NOT NULL PRIMARY KEY,
    holder     text COLLATE "C" NOT NULL,
    expires_at timestamptz NOT NULL
);
