-- 0016_federated_credentials: a client's federated credentials, the
-- external issuers whose workload tokens (Kubernetes, GitHub Actions) it
-- accepts instead of a secret (storage.FederatedCredential). They follow
-- their client out (ON DELETE CASCADE).

CREATE TABLE federated_credentials (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    client_id    text COLLATE "C" NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    issuer       text        NOT NULL,
    subject      text        NOT NULL,
    audience     text        NOT NULL,           -- '' for the server's issuer
    claims       jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(claims) = 'object'),
    max_lifetime bigint      NOT NULL,           -- seconds; 0 for the default
    created_at   timestamptz
);

CREATE INDEX federated_credentials_client ON federated_credentials (client_id, created_at, id);
