-- 0012_token_counts: the token endpoint's activity per client, API and hour
-- (hour: unix microseconds UTC of its start), kept for the long audit
-- retention while the per-token events are kept for a short one. Refusals
-- before the audience is read have the audience ''.

CREATE TABLE token_counts (
    hour      INTEGER NOT NULL,
    client_id TEXT    NOT NULL,
    audience  TEXT    NOT NULL,
    issued    INTEGER NOT NULL DEFAULT 0,
    reused    INTEGER NOT NULL DEFAULT 0,
    refused   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, client_id, audience)
) STRICT, WITHOUT ROWID;
