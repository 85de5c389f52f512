-- 0007_api_offline_access: whether a user's login for the API may come with
-- a refresh token (offline_access), as Auth0's allow_offline_access.

ALTER TABLE apis ADD COLUMN allow_offline_access INTEGER NOT NULL DEFAULT 0 CHECK (allow_offline_access IN (0, 1));
