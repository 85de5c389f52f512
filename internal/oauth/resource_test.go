package oauth_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/oauth"
)

// TestValidResource holds resource indicators to RFC 8707 §2: an absolute
// URI without a fragment. API identifiers that are not URIs are reached with
// audience instead.
func TestValidResource(t *testing.T) {
	tests := []struct {
		resource string
		ok       bool
	}{
		{"https://api.example.com/", true},
		{"urn:example:orders", true},
		{"https://api.example.com/v1?tenant=a", true},
		{"orders-api", false},
		{"/api/v1", false},
		{"https://api.example.com/#frag", false},
		{"https://api.example.com/#", false},
		{"", false},
		{"http://[::1", false},
	}
	for _, tt := range tests {
		err := oauth.ValidResource(tt.resource)
		if (err == nil) != tt.ok {
			t.Errorf("ValidResource(%q) = %v, want ok %v", tt.resource, err, tt.ok)
		}
		if err != nil && (err.Code != oauth.CodeInvalidTarget || err.Status != 400) {
			t.Errorf("ValidResource(%q) = %s %d, want 400 invalid_target", tt.resource, err.Code, err.Status)
		}
	}
}
