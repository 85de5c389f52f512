-- 0018_proof_of_possession: sender-constrained tokens (RFC 9449 DPoP,
-- docs/sender-constrained-tokens.md). An API's proof_of_possession (Auth0's
-- resource server field: mechanism, required, required_for; mechanism ''
-- is unset), a client's require_proof_of_possession (Auth0's), and the DPoP
-- key a public client's refresh tokens are bound to (RFC 9449 §5; '' for
-- none), kept by the family so that every rotation stays bound.

ALTER TABLE apis ADD COLUMN pop_mechanism text NOT NULL DEFAULT '' CHECK (pop_mechanism IN ('', 'dpop', 'mtls'));
ALTER TABLE apis ADD COLUMN pop_required boolean NOT NULL DEFAULT false;
ALTER TABLE apis ADD COLUMN pop_required_for text NOT NULL DEFAULT '' CHECK (pop_required_for IN ('', 'all_clients', 'public_clients'));
ALTER TABLE clients ADD COLUMN require_pop boolean NOT NULL DEFAULT false;
ALTER TABLE refresh_families ADD COLUMN dpop_jkt text NOT NULL DEFAULT '';
