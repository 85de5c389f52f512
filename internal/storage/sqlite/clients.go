package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const clientColumns = "client_id, name, description, app_type, grant_types, disabled, created_at, updated_at"

// CreateClient stores a new client with its first secrets, atomically;
// storage.ErrAlreadyExists if the client ID or a secret ID is taken. A
// secret's ClientID may be left empty; it must not name another client.
func (s *Store) CreateClient(ctx context.Context, c storage.Client, secrets ...storage.Secret) error {
	grantTypes, err := toJSON(c.GrantTypes)
	if err != nil {
		return fmt.Errorf("create client %q: encode grant types: %w", c.ClientID, err)
	}
	for _, sec := range secrets {
		if sec.ClientID != "" && sec.ClientID != c.ClientID {
			return fmt.Errorf("create client %q: secret %q belongs to client %q",
				c.ClientID, sec.ID, sec.ClientID)
		}
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO clients ("+clientColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			c.ClientID, c.Name, c.Description, c.AppType, grantTypes, c.Disabled,
			toMicros(c.CreatedAt), toMicros(c.UpdatedAt)); err != nil {
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
	c, err := scanClient(s.db.QueryRowContext(ctx,
		"SELECT "+clientColumns+" FROM clients WHERE client_id = ?", clientID))
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	if err != nil {
		return storage.Client{}, fmt.Errorf("get client %q: %w", clientID, err)
	}
	return c, nil
}

// ListClients returns every client ordered by creation time, then client ID.
func (s *Store) ListClients(ctx context.Context) ([]storage.Client, error) {
	out, err := queryAll(ctx, s.db, scanClient,
		"SELECT "+clientColumns+" FROM clients ORDER BY created_at, client_id")
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return out, nil
}

// SetClientDisabled enables or disables a client and sets its UpdatedAt to
// at, or returns storage.ErrNotFound.
func (s *Store) SetClientDisabled(ctx context.Context, clientID string, disabled bool, at time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			"UPDATE clients SET disabled = ?, updated_at = ? WHERE client_id = ?",
			disabled, toMicros(at), clientID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
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

// DeleteClient deletes a client with its secrets and grants, or returns
// storage.ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, clientID string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM clients WHERE client_id = ?", clientID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		return appendChange(ctx, tx, storage.EntityClient, clientID)
	})
	if err != nil {
		return fmt.Errorf("delete client %q: %w", clientID, err)
	}
	return nil
}

func scanClient(r rowScanner) (storage.Client, error) {
	var (
		c                storage.Client
		grantTypes       string
		created, updated sql.NullInt64
	)
	if err := r.Scan(&c.ClientID, &c.Name, &c.Description, &c.AppType, &grantTypes,
		&c.Disabled, &created, &updated); err != nil {
		return storage.Client{}, err
	}
	var err error
	if c.GrantTypes, err = fromJSON[string](grantTypes); err != nil {
		return storage.Client{}, fmt.Errorf("decode grant types of client %q: %w", c.ClientID, err)
	}
	c.CreatedAt = fromMicros(created)
	c.UpdatedAt = fromMicros(updated)
	return c, nil
}
