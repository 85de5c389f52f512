-- 0008_api_token_reuse: whether a client asking again for the API's tokens
-- (same audience, scope and grant) gets the one it was already issued while
-- over half its lifetime remains (issue 6: token reuse, per API).

ALTER TABLE apis ADD COLUMN token_reuse boolean NOT NULL DEFAULT false;
