-- 0014_auth0_extras: the settings of Auth0's resource servers and clients
-- that gatehouse stores and returns but does not act on (storage.APIExtras,
-- storage.ClientExtras), as one JSON object per row: nothing queries them,
-- and a setting added later needs no migration. The settings gatehouse acts
-- on stay columns of their own.

ALTER TABLE apis ADD COLUMN extras jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(extras) = 'object');
ALTER TABLE clients ADD COLUMN extras jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(extras) = 'object');
