-- 0007_api_offline_access: whether a user's login for the API may come with
-- a refresh token (offline_access), as Auth0's allow_offline_access.

ALTER TABLE apis ADD COLUMN allow_offline_access boolean NOT NULL DEFAULT false;
