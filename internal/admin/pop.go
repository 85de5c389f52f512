package admin

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// PoPMechanisms are the proof-of-possession mechanisms an API may name
// (Auth0's proof_of_possession.mechanism).
var PoPMechanisms = []string{storage.PoPDPoP, storage.PoPMTLS}

// checkProofOfPossession reports what is wrong with an API's
// proof_of_possession: a known mechanism, and required or required_for
// only with one.
func checkProofOfPossession(p storage.ProofOfPossession) []string {
	var problems []string
	switch p.Mechanism {
	case "", storage.PoPDPoP, storage.PoPMTLS:
	default:
		problems = append(problems, fmt.Sprintf("proof-of-possession mechanism %q must be dpop or mtls", p.Mechanism))
	}
	switch p.RequiredFor {
	case "", storage.PoPAllClients, storage.PoPPublicClients:
	default:
		problems = append(problems, fmt.Sprintf("proof-of-possession required_for %q must be all_clients or public_clients", p.RequiredFor))
	}
	if p.Mechanism == "" && (p.Required || p.RequiredFor != "") {
		problems = append(problems, "proof of possession cannot be required without a mechanism (dpop or mtls)")
	}
	return problems
}
