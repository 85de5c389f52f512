-- 0011_token_counts: the token endpoint's activity per client, API and
-- hour, kept for the long audit retention while the per-token events are
-- kept for a short one. Refusals before the audience is read have the
-- audience ''.

CREATE TABLE token_counts (
    hour      timestamptz NOT NULL,
    client_id text COLLATE "C" NOT NULL,
    audience  text COLLATE "C" NOT NULL,
    issued    bigint NOT NULL DEFAULT 0,
    reused    bigint NOT NULL DEFAULT 0,
    refused   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, client_id, audience)
);
