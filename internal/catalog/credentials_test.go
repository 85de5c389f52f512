package catalog_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func publicKeyCredential(t *testing.T, id, clientID string) storage.Credential {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	now := time.Now().UTC()
	return storage.Credential{ID: id, ClientID: clientID, Type: storage.CredentialPublicKey, KeyID: "kid-" + id, Alg: "ES256",
		PEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), CreatedAt: now, UpdatedAt: now}
}

// TestCredentialsInSnapshot: a client's credentials reach the snapshot
// with their keys parsed, by the full load and by a sync, and
// AuthCredentials gives those its authentication methods name, in their
// order; a stored PEM that no longer parses authenticates nothing.
func TestCredentialsInSnapshot(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	if err := s.CreateClient(ctx, client("c1")); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCredential(ctx, publicKeyCredential(t, "cred_a", "c1"), true); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCredential(ctx, publicKeyCredential(t, "cred_unused", "c1"), false); err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(s, nil, nil)
	if err := cat.Load(ctx); err != nil {
		t.Fatal(err)
	}
	c, _ := cat.Snapshot().Client("c1")
	if len(c.Credentials) != 2 || c.Credentials[0].Key == nil {
		t.Fatalf("after load: %+v", c.Credentials)
	}
	if got := c.AuthCredentials(storage.CredentialPublicKey); len(got) != 1 || got[0].ID != "cred_a" {
		t.Fatalf("AuthCredentials after load: %v", got)
	}
	bad := publicKeyCredential(t, "cred_b", "c1")
	bad.PEM = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
	bad.KeyID = "kid-bad"
	if err := s.AddCredential(ctx, bad, true); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	c, _ = cat.Snapshot().Client("c1")
	got := c.AuthCredentials(storage.CredentialPublicKey)
	if len(got) != 2 || got[0].ID != "cred_a" || got[1].ID != "cred_b" || got[1].Key != nil {
		t.Fatalf("AuthCredentials after sync: %+v", got)
	}
	if c.AuthCredentials(storage.CredentialX509Cert) != nil {
		t.Fatal("x509_cert credentials that no method names")
	}
}
