package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const clientColumns = "client_id, name, description, app_type, grant_types, metadata, token_endpoint_auth_method, redirect_uris, allowed_logout_urls, first_party, disabled, created_at, updated_at"

// CreateClient stores a new client with its first secrets, atomically;
// storage.ErrAlreadyExists if the client ID or a secret ID is taken. A
// secret's ClientID may be left empty; it must not name another client.
func (s *Store) CreateClient(ctx context.Context, c storage.Client, secrets ...storage.Secret) error {
	for _, sec := range secrets {
		if sec.ClientID != "" && sec.ClientID != c.ClientID {
			return fmt.Errorf("create client %q: secret %q belongs to client %q",
				c.ClientID, sec.ID, sec.ClientID)
		}
	}
	metadata, err := encodeMetadata(c.Metadata)
	if err != nil {
		return fmt.Errorf("create client %q: %w", c.ClientID, err)
	}
	err = s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx,
			"INSERT INTO clients ("+clientColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
			c.ClientID, c.Name, c.Description, c.AppType, list(c.GrantTypes), metadata, authMethod(c),
			list(c.RedirectURIs), list(c.AllowedLogoutURLs), c.FirstParty, c.Disabled,
			ts(c.CreatedAt), ts(c.UpdatedAt)); err != nil {
			return translate(err)
		}
		for _, sec := range secrets {
			sec.ClientID = c.ClientID
			if err := insertSecret(ctx, tx, sec); err != nil {
				return fmt.Errorf("secret %q: %w", sec.ID, err)
			}
		}
		return appendChange(ctx, tx, storage.EntityClient, c.ClientID)
	})
	if err != nil {
		return fmt.Errorf("create client %q: %w", c.ClientID, err)
	}
	return nil
}

// GetClient returns the client or storage.ErrNotFound.
func (s *Store) GetClient(ctx context.Context, clientID string) (storage.Client, error) {
	c, err := queryOne(ctx, s.pool, scanClient,
		"SELECT "+clientColumns+" FROM clients WHERE client_id = $1", clientID)
	if err != nil {
		return storage.Client{}, fmt.Errorf("get client %q: %w", clientID, err)
	}
	return c, nil
}

// ListClients returns every client ordered by creation time, then client
// ID; clients without a creation time come last.
func (s *Store) ListClients(ctx context.Context) ([]storage.Client, error) {
	out, err := queryAll(ctx, s.pool, scanClient,
		"SELECT "+clientColumns+" FROM clients ORDER BY created_at, client_id")
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return out, nil
}

// SetClientDisabled enables or disables a client and sets its UpdatedAt to
// at, or returns storage.ErrNotFound.
func (s *Store) SetClientDisabled(ctx context.Context, clientID string, disabled bool, at time.Time) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx,
			"UPDATE clients SET disabled = $1, updated_at = $2 WHERE client_id = $3",
			disabled, ts(at), clientID)
		if err != nil {
			return err
		}
		if err := mustAffect(tag); err != nil {
			return err
		}
		return appendChange(ctx, tx, storage.EntityClient, clientID)
	})
	if err != nil {
		verb := "enable"
		if disabled {
			verb = "disable"
		}
		return fmt.Errorf("%s client %q: %w", verb, clientID, err)
	}
	return nil
}

// UpdateClient replaces every field of the client c.ClientID but its ID and
// creation time, or returns storage.ErrNotFound.
func (s *Store) UpdateClient(ctx context.Context, c storage.Client) error {
	metadata, err := encodeMetadata(c.Metadata)
	if err != nil {
		return fmt.Errorf("update client %q: %w", c.ClientID, err)
	}
	err = s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE clients SET name = $1, description = $2, app_type = $3, grant_types = $4,
			metadata = $5, token_endpoint_auth_method = $6, redirect_uris = $7, allowed_logout_urls = $8, first_party = $9,
			disabled = $10, updated_at = $11 WHERE client_id = $12`,
			c.Name, c.Description, c.AppType, list(c.GrantTypes), metadata, authMethod(c),
			list(c.RedirectURIs), list(c.AllowedLogoutURLs), c.FirstParty, c.Disabled, ts(c.UpdatedAt), c.ClientID)
		if err != nil {
			return err
		}
		if err := mustAffect(tag); err != nil {
			return err
		}
		return appendChange(ctx, tx, storage.EntityClient, c.ClientID)
	})
	if err != nil {
		return fmt.Errorf("update client %q: %w", c.ClientID, err)
	}
	return nil
}

func encodeMetadata(m map[string]string) ([]byte, error) {
	if m == nil {
		m = map[string]string{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	return b, nil
}

func authMethod(c storage.Client) string {
	if c.TokenEndpointAuthMethod == "" {
		return storage.AuthMethodClientSecretPost
	}
	return c.TokenEndpointAuthMethod
}

// DeleteClient deletes a client with its secrets and grants, or returns
// storage.ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, clientID string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM clients WHERE client_id = $1", clientID)
		if err != nil {
			return err
		}
		if err := mustAffect(tag); err != nil {
			return err
		}
		return appendChange(ctx, tx, storage.EntityClient, clientID)
	})
	if err != nil {
		return fmt.Errorf("delete client %q: %w", clientID, err)
	}
	return nil
}

func scanClient(r pgx.Row) (storage.Client, error) {
	var (
		c                storage.Client
		metadata         []byte
		created, updated *time.Time
	)
	if err := r.Scan(&c.ClientID, &c.Name, &c.Description, &c.AppType, &c.GrantTypes, &metadata,
		&c.TokenEndpointAuthMethod, &c.RedirectURIs, &c.AllowedLogoutURLs, &c.FirstParty, &c.Disabled, &created, &updated); err != nil {
		return storage.Client{}, err
	}
	if err := json.Unmarshal(metadata, &c.Metadata); err != nil {
		return storage.Client{}, fmt.Errorf("decode metadata of client %q: %w", c.ClientID, err)
	}
	if len(c.Metadata) == 0 {
		c.Metadata = nil
	}
	c.CreatedAt = fromTS(created)
	c.UpdatedAt = fromTS(updated)
	return c, nil
}
