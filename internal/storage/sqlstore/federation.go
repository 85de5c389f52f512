package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const federatedColumns = "id, client_id, issuer, subject, audience, claims, max_lifetime, created_at"

// AddFederatedCredential stores fc; storage.ErrNotFound if its client does
// not exist, storage.ErrAlreadyExists if its ID is taken.
func (s *Store) AddFederatedCredential(ctx context.Context, fc storage.FederatedCredential) error {
	claims, err := encodeMetadata(fc.Claims)
	if err != nil {
		return fmt.Errorf("add federated credential %q: %w", fc.ID, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "client", fc.ClientID, "SELECT 1 FROM clients WHERE client_id = $1"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO federated_credentials ("+federatedColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			fc.ID, fc.ClientID, fc.Issuer, fc.Subject, fc.Audience, claims, int64(fc.MaxLifetime/time.Second),
			s.f.Time(fc.CreatedAt)); err != nil {
			return s.translate(err)
		}
		return s.appendChange(ctx, tx, storage.EntityClient, fc.ClientID)
	})
	if err != nil {
		return fmt.Errorf("add federated credential %q: %w", fc.ID, err)
	}
	return nil
}

// ListFederatedCredentials returns a client's federated credentials ordered
// by creation time, then ID; storage.ErrNotFound if the client does not
// exist.
func (s *Store) ListFederatedCredentials(ctx context.Context, clientID string) ([]storage.FederatedCredential, error) {
	var out []storage.FederatedCredential
	err := s.read(ctx, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "client", clientID, "SELECT 1 FROM clients WHERE client_id = $1"); err != nil {
			return err
		}
		var err error
		out, err = queryAll(ctx, tx, scanFederated, "SELECT "+federatedColumns+
			" FROM federated_credentials WHERE client_id = $1 ORDER BY created_at, id", clientID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list federated credentials of client %q: %w", clientID, err)
	}
	return out, nil
}

// ListAllFederatedCredentials returns every client's federated credentials
// ordered by client ID, then creation time, then ID, in one query.
func (s *Store) ListAllFederatedCredentials(ctx context.Context) ([]storage.FederatedCredential, error) {
	return selectAll(ctx, s, "list all federated credentials", scanFederated,
		"SELECT "+federatedColumns+" FROM federated_credentials ORDER BY client_id, created_at, id")
}

// DeleteFederatedCredential deletes one of a client's federated
// credentials, or returns storage.ErrNotFound.
func (s *Store) DeleteFederatedCredential(ctx context.Context, clientID, id string) error {
	err := s.changeClient(ctx, clientID, "DELETE FROM federated_credentials WHERE client_id = $1 AND id = $2", id)
	if err != nil {
		return fmt.Errorf("delete federated credential %q of client %q: %w", id, clientID, err)
	}
	return nil
}

func scanFederated(r rowScanner) (fc storage.FederatedCredential, err error) {
	return fc, r.Scan(&fc.ID, &fc.ClientID, &fc.Issuer, &fc.Subject, &fc.Audience, object{&fc.Claims},
		seconds{&fc.MaxLifetime}, at(&fc.CreatedAt))
}
