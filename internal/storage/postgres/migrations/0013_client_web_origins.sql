-- 0010_client_web_origins: the origins whose pages may call the token and
-- userinfo endpoints from a browser (CORS).

ALTER TABLE clients ADD COLUMN web_origins text[] NOT NULL DEFAULT '{}';
