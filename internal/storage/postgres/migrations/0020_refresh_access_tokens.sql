-- 0020_refresh_access_tokens: each refresh token remembers the access token
-- issued with it (its jti and expiry), so that revoking the family (RFC 7009
-- §2.1, a reused refresh token or authorization code) also puts those access
-- tokens on the denylist.

ALTER TABLE refresh_tokens ADD COLUMN access_jti text NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN access_expires_at timestamptz;
