-- 0003_client_settings: client settings the management API exposes in
-- Auth0's shapes: client_metadata (a JSON object of string values) and
-- token_endpoint_auth_method (client_secret_post or client_secret_basic).

ALTER TABLE clients ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method text NOT NULL DEFAULT 'client_secret_post';
