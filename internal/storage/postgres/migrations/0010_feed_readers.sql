-- 0010_feed_readers: the change feed is pruned once every instance has
-- read past a point. Each instance following the feed marks its position
-- (seq, the last change it applied) and when (seen_at); pruned_through is
-- the highest change deleted, so that an instance whose position is below
-- it knows it missed changes and reloads in full.

CREATE TABLE feed_readers (
    reader  text COLLATE "C" NOT NULL PRIMARY KEY,
    seq     bigint      NOT NULL,
    seen_at timestamptz NOT NULL
);

CREATE TABLE feed_state (
    id             int    NOT NULL PRIMARY KEY CHECK (id = 1),
    pruned_through bigint NOT NULL
);

INSERT INTO feed_state (id, pruned_through) VALUES (1, 0);
