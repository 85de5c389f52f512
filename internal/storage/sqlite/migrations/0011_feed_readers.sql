-- 0011_feed_readers: the change feed is pruned once every instance has
-- read past a point. Each instance following the feed marks its position
-- (seq, the last change it applied) and when (seen_at, unix microseconds
-- UTC); pruned_through is the highest change deleted, so that an instance
-- whose position is below it knows it missed changes and reloads in full.

CREATE TABLE feed_readers (
    reader  TEXT    NOT NULL PRIMARY KEY,
    seq     INTEGER NOT NULL,
    seen_at INTEGER NOT NULL
) STRICT;

CREATE TABLE feed_state (
    id             INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    pruned_through INTEGER NOT NULL
) STRICT;

INSERT INTO feed_state (id, pruned_through) VALUES (1, 0);
