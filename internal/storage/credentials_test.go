package storage_test

import (
	"slices"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func TestClientAuthMethodsWithout(t *testing.T) {
	m := storage.ClientAuthMethods{PrivateKeyJWT: []string{"k1", "k2"}, TLSClientAuth: []string{"k2"}, SelfSignedTLSClientAuth: []string{"k3"}}
	got := m.Without("k2")
	if !slices.Equal(got.PrivateKeyJWT, []string{"k1"}) || len(got.TLSClientAuth) != 0 || !slices.Equal(got.SelfSignedTLSClientAuth, []string{"k3"}) {
		t.Errorf("Without(k2) = %+v", got)
	}
	if !slices.Equal(m.PrivateKeyJWT, []string{"k1", "k2"}) || !slices.Equal(m.TLSClientAuth, []string{"k2"}) {
		t.Errorf("Without changed the methods it was called on: %+v", m)
	}
	if !m.Without("k1").Without("k2").Without("k3").IsZero() {
		t.Error("without every credential, the methods are not zero")
	}
}
