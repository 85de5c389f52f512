package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const clientColumns = "client_id, name, description, app_type, grant_types, metadata, token_endpoint_auth_method, redirect_uris, allowed_logout_urls, first_party, disabled, created_at, updated_at"

// CreateClient stores a new client with its first secrets, atomically;
// storage.ErrAlreadyExists if the client ID or a secret ID is taken. A
// secret's ClientID may be left empty; it must not name another client.
func (s *Store) CreateClient(ctx context.Context, c storage.Client, secrets ...storage.Secret) error {
	grantTypes, metadata, err := encodeClient(c)
	if err != nil {
		return fmt.Errorf("create client %q: %w", c.ClientID, err)
	}
	redirects, logouts, err := encodeLoginURLs(c)
	if err != nil {
		return fmt.Errorf("create client %q: %w", c.ClientID, err)
	}
	for _, sec := range secrets {
		if sec.ClientID != "" && sec.ClientID != c.ClientID {
			return fmt.Errorf("create client %q: secret %q belongs to client %q",
				c.ClientID, sec.ID, sec.ClientID)
		}
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO clients ("+clientColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			c.ClientID, c.Name, c.Description, c.AppType, grantTypes, metadata, authMethod(c),
			redirects, logouts, c.FirstParty, c.Disabled,
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

// UpdateClient replaces every field of the client c.ClientID but its ID and
// creation time, or returns storage.ErrNotFound.
func (s *Store) UpdateClient(ctx context.Context, c storage.Client) error {
	grantTypes, metadata, err := encodeClient(c)
	if err != nil {
		return fmt.Errorf("update client %q: %w", c.ClientID, err)
	}
	redirects, logouts, err := encodeLoginURLs(c)
	if err != nil {
		return fmt.Errorf("update client %q: %w", c.ClientID, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE clients SET name = ?, description = ?, app_type = ?, grant_types = ?,
			metadata = ?, token_endpoint_auth_method = ?, redirect_uris = ?, allowed_logout_urls = ?, first_party = ?,
			disabled = ?, updated_at = ? WHERE client_id = ?`,
			c.Name, c.Description, c.AppType, grantTypes, metadata, authMethod(c), redirects, logouts, c.FirstParty,
			c.Disabled, toMicros(c.UpdatedAt), c.ClientID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		return appendChange(ctx, tx, storage.EntityClient, c.ClientID)
	})
	if err != nil {
		return fmt.Errorf("update client %q: %w", c.ClientID, err)
	}
	return nil
}

func encodeClient(c storage.Client) (grantTypes, metadata string, err error) {
	if grantTypes, err = toJSON(c.GrantTypes); err != nil {
		return "", "", fmt.Errorf("encode grant types: %w", err)
	}
	m := c.Metadata
	if m == nil {
		m = map[string]string{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", "", fmt.Errorf("encode metadata: %w", err)
	}
	return grantTypes, string(b), nil
}

// encodeLoginURLs encodes the client's redirect URIs and logout URLs as
// JSON arrays.
func encodeLoginURLs(c storage.Client) (redirects, logouts string, err error) {
	if redirects, err = toJSON(c.RedirectURIs); err != nil {
		return "", "", fmt.Errorf("encode redirect URIs: %w", err)
	}
	if logouts, err = toJSON(c.AllowedLogoutURLs); err != nil {
		return "", "", fmt.Errorf("encode logout URLs: %w", err)
	}
	return redirects, logouts, nil
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
		metadata         string
		redirects        string
		logouts          string
		created, updated sql.NullInt64
	)
	if err := r.Scan(&c.ClientID, &c.Name, &c.Description, &c.AppType, &grantTypes, &metadata,
		&c.TokenEndpointAuthMethod, &redirects, &logouts, &c.FirstParty, &c.Disabled, &created, &updated); err != nil {
		return storage.Client{}, err
	}
	var err error
	if c.GrantTypes, err = fromJSON[string](grantTypes); err != nil {
		return storage.Client{}, fmt.Errorf("decode grant types of client %q: %w", c.ClientID, err)
	}
	if err := json.Unmarshal([]byte(metadata), &c.Metadata); err != nil {
		return storage.Client{}, fmt.Errorf("decode metadata of client %q: %w", c.ClientID, err)
	}
	if len(c.Metadata) == 0 {
		c.Metadata = nil
	}
	if c.RedirectURIs, err = fromJSON[string](redirects); err != nil {
		return storage.Client{}, fmt.Errorf("decode redirect URIs of client %q: %w", c.ClientID, err)
	}
	if c.AllowedLogoutURLs, err = fromJSON[string](logouts); err != nil {
		return storage.Client{}, fmt.Errorf("decode logout URLs of client %q: %w", c.ClientID, err)
	}
	c.CreatedAt = fromMicros(created)
	c.UpdatedAt = fromMicros(updated)
	return c, nil
}
