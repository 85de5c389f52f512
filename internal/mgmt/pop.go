package mgmt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// ProofOfPossession is Auth0's proof_of_possession of a resource server:
// the sender-constraint its tokens use (mechanism "dpop" or "mtls") and
// whether a token request must use it (required, for all_clients or only
// public_clients). docs/sender-constrained-tokens.md says what each does.
type ProofOfPossession struct {
	Mechanism   string `json:"mechanism"`
	Required    bool   `json:"required"`
	RequiredFor string `json:"required_for,omitempty"`
}

// viewPoP is an API's proof_of_possession on the wire: null when unset,
// as Auth0 returns it.
func viewPoP(p storage.ProofOfPossession) *ProofOfPossession {
	if p == (storage.ProofOfPossession{}) {
		return nil
	}
	return &ProofOfPossession{Mechanism: p.Mechanism, Required: p.Required, RequiredFor: p.RequiredFor}
}

// pop is the stored form of a view (nil: unset).
func (p *ProofOfPossession) pop() storage.ProofOfPossession {
	if p == nil {
		return storage.ProofOfPossession{}
	}
	return storage.ProofOfPossession{Mechanism: p.Mechanism, Required: p.Required, RequiredFor: p.RequiredFor}
}

// popInput is proof_of_possession in a request body: absent (set false),
// null (unset it, as Auth0's PATCH does), or an object whose fields are
// decoded strictly.
type popInput struct {
	set   bool
	value storage.ProofOfPossession
}

func (p *popInput) UnmarshalJSON(b []byte) error {
	p.set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		p.value = storage.ProofOfPossession{}
		return nil
	}
	var in struct {
		Mechanism   *string `json:"mechanism"`
		Required    *bool   `json:"required"`
		RequiredFor *string `json:"required_for"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("proof_of_possession must be null or an object of mechanism, required and required_for: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if in.Mechanism != nil {
		p.value.Mechanism = *in.Mechanism
	}
	if in.Required != nil {
		p.value.Required = *in.Required
	}
	if in.RequiredFor != nil {
		p.value.RequiredFor = *in.RequiredFor
	}
	return nil
}

// patch is the admin service's patch of proof_of_possession, nil when the
// request did not name it.
func (p popInput) patch() *storage.ProofOfPossession {
	if !p.set {
		return nil
	}
	v := p.value
	return &v
}
