package storagetest

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// testProofOfPossession: an API's proof_of_possession, a client's
// require_proof_of_possession and a refresh family's DPoP key round trip
// through create, get, list, update and rotation; the zero values stay
// zero (docs/sender-constrained-tokens.md).
func testProofOfPossession(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	ctx := t.Context()
	s := newStore(t)
	api := newAPI(apiA)
	api.ProofOfPossession = storage.ProofOfPossession{Mechanism: storage.PoPDPoP, Required: true, RequiredFor: storage.PoPPublicClients}
	must(t, "CreateAPI", s.CreateAPI(ctx, api))
	must(t, "CreateAPI(zero)", s.CreateAPI(ctx, newAPI(apiB)))
	if got := get[storage.API](t, "GetAPI")(s.GetAPI(ctx, apiA)); got.ProofOfPossession != api.ProofOfPossession {
		t.Errorf("GetAPI proof_of_possession = %+v, want %+v", got.ProofOfPossession, api.ProofOfPossession)
	}
	if got := get[storage.API](t, "GetAPI")(s.GetAPI(ctx, apiB)); got.ProofOfPossession != (storage.ProofOfPossession{}) {
		t.Errorf("GetAPI zero proof_of_possession = %+v", got.ProofOfPossession)
	}
	api.ProofOfPossession = storage.ProofOfPossession{Mechanism: storage.PoPMTLS}
	must(t, "UpdateAPI", s.UpdateAPI(ctx, api))
	if list := get[[]storage.API](t, "ListAPIs")(s.ListAPIs(ctx)); list[0].ProofOfPossession != api.ProofOfPossession {
		t.Errorf("ListAPIs proof_of_possession after update = %+v, want %+v", list[0].ProofOfPossession, api.ProofOfPossession)
	}

	c := newClient("c1", at(0))
	c.RequireProofOfPossession = true
	must(t, "CreateClient", s.CreateClient(ctx, c))
	if got := get[storage.Client](t, "GetClient")(s.GetClient(ctx, "c1")); !got.RequireProofOfPossession {
		t.Error("GetClient lost require_proof_of_possession")
	}
	c.RequireProofOfPossession, c.UpdatedAt = false, at(5)
	must(t, "UpdateClient", s.UpdateClient(ctx, c))
	if list := get[[]storage.Client](t, "ListClients")(s.ListClients(ctx)); list[0].RequireProofOfPossession {
		t.Error("UpdateClient kept require_proof_of_possession")
	}

	seedLogin(t, ctx, s)
	f := storage.RefreshFamily{ID: "fam-pop", ClientID: "cW", UserID: "u1", ExpiresAt: at(1000), DPoPJKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}
	must(t, "CreateRefreshFamily", s.CreateRefreshFamily(ctx, f, storage.RefreshToken{ID: "rp1", ExpiresAt: at(100)}))
	_, gf, err := s.GetRefreshToken(ctx, "rp1")
	must(t, "GetRefreshToken", err)
	if gf.DPoPJKT != f.DPoPJKT {
		t.Errorf("family dpop_jkt = %q, want %q", gf.DPoPJKT, f.DPoPJKT)
	}
	rf, err := s.RotateRefreshToken(ctx, "rp1", storage.RefreshToken{ID: "rp2", ExpiresAt: at(100)}, at(2))
	must(t, "RotateRefreshToken", err)
	if rf.DPoPJKT != f.DPoPJKT {
		t.Errorf("rotated family dpop_jkt = %q, want %q", rf.DPoPJKT, f.DPoPJKT)
	}
}
