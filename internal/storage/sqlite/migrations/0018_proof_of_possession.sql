-- 0019_proof_of_possession: sender-constrained tokens (RFC 9449 DPoP,
-- docs/sender-constrained-tokens.md). An API's proof_of_possession (Auth0's
-- resource server field: mechanism, required, required_for; mechanism ''
-- is unset), a client's require_proof_of_possession (Auth0's), and the DPoP
-- key a public client's refresh tokens are bound to (RFC 9449 §5; '' for
-- none), kept by the family so that every rotation stays bound.

ALTER TABLE apis ADD COLUMN pop_mechanism TEXT NOT NULL DEFAULT '' CHECK (pop_mechanism IN ('', 'dpop', 'mtls'));
ALTER TABLE apis ADD COLUMN pop_required INTEGER NOT NULL DEFAULT 0 CHECK (pop_required IN (0, 1));
ALTER TABLE apis ADD COLUMN pop_required_for TEXT NOT NULL DEFAULT '' CHECK (pop_required_for IN ('', 'all_clients', 'public_clients'));
ALTER TABLE clients ADD COLUMN require_pop INTEGER NOT NULL DEFAULT 0 CHECK (require_pop IN (0, 1));
ALTER TABLE refresh_families ADD COLUMN dpop_jkt TEXT NOT NULL DEFAULT '';
