package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// popFlags are the flags of an API's proof_of_possession (Auth0's
// resource server field; docs/sender-constrained-tokens.md).
type popFlags struct {
	mechanism, requiredFor string
	required               bool
}

func (p *popFlags) bind(f *pflag.FlagSet) {
	f.StringVar(&p.mechanism, "pop-mechanism", "", "proof of possession for the API's tokens: dpop (RFC 9449), mtls (RFC 8705) or none (unset)")
	f.BoolVar(&p.required, "pop-required", false, "token requests for the API must bind the token (with --pop-mechanism; --pop-required=false makes it optional)")
	f.StringVar(&p.requiredFor, "pop-required-for", "", "whom --pop-required applies to: all_clients (default) or public_clients")
}

// apply returns cur changed by the flags given, nil when none was.
func (p *popFlags) apply(cmd *cobra.Command, cur storage.ProofOfPossession) (*storage.ProofOfPossession, error) {
	fl := cmd.Flags()
	if !fl.Changed("pop-mechanism") && !fl.Changed("pop-required") && !fl.Changed("pop-required-for") {
		return nil, nil
	}
	v := cur
	if fl.Changed("pop-mechanism") {
		if p.mechanism == "none" {
			if fl.Changed("pop-required") || fl.Changed("pop-required-for") {
				return nil, fmt.Errorf("--pop-mechanism none unsets proof of possession: leave out --pop-required and --pop-required-for")
			}
			return &storage.ProofOfPossession{}, nil
		}
		v.Mechanism = p.mechanism
	}
	if fl.Changed("pop-required") {
		v.Required = p.required
	}
	if fl.Changed("pop-required-for") {
		v.RequiredFor = p.requiredFor
	}
	return &v, nil
}

// popView is an API's proof_of_possession in --json output.
type popView struct {
	Mechanism   string `json:"mechanism"`
	Required    bool   `json:"required"`
	RequiredFor string `json:"required_for,omitempty"`
}

func viewPoP(p storage.ProofOfPossession) *popView {
	if p == (storage.ProofOfPossession{}) {
		return nil
	}
	return &popView{p.Mechanism, p.Required, p.RequiredFor}
}

// String is the text output's proof_of_possession.
func (p *popView) String() string {
	switch {
	case p == nil:
		return "none"
	case !p.Required:
		return p.Mechanism + " (optional)"
	case p.RequiredFor == storage.PoPPublicClients:
		return p.Mechanism + " (required for public clients)"
	}
	return p.Mechanism + " (required)"
}

// requirePoPUsage describes --require-proof-of-possession.
const requirePoPUsage = "every token request of the client must bind the token with a DPoP proof (Auth0's require_proof_of_possession)"
