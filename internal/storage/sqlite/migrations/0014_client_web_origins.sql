-- 0011_client_web_origins: the origins whose pages may call the token and
-- userinfo endpoints from a browser (CORS), a JSON array of strings.

ALTER TABLE clients ADD COLUMN web_origins TEXT NOT NULL DEFAULT '[]';
