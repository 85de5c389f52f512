-- 0021_code_access_tokens: a redeemed authorization code remembers the jti of
-- the access token its redemption issued, so that a second use of the code
-- revokes it (RFC 6749 §4.1.2), with or without a refresh token family.

ALTER TABLE auth_codes ADD COLUMN access_jti text NOT NULL DEFAULT '';
