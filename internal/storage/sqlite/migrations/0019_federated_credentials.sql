-- 0017_federated_credentials: a client's federated credentials, the
-- external issuers whose workload tokens (Kubernetes, GitHub Actions) it
-- accepts instead of a secret (storage.FederatedCredential). They follow
-- their client out (ON DELETE CASCADE).

CREATE TABLE federated_credentials (
    id           TEXT    NOT NULL PRIMARY KEY,
    client_id    TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    issuer       TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    audience     TEXT    NOT NULL,               -- '' for the server's issuer
    claims       TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(claims) AND json_type(claims) = 'object'),
    max_lifetime INTEGER NOT NULL,               -- seconds; 0 for the default
    created_at   INTEGER
) STRICT;

CREATE INDEX federated_credentials_client ON federated_credentials (client_id, created_at, id);
