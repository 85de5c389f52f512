package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const clientColumns = "client_id, name, description, app_type, grant_types, metadata, token_endpoint_auth_method, redirect_uris, allowed_logout_urls, first_party, disabled, extras, created_at, updated_at, web_origins, auth_methods, jwks_uri"

// CreateClient stores a new client with its first secrets, atomically;
// storage.ErrAlreadyExists if the client ID or a secret ID is taken. A
// secret's ClientID may be left empty; it must not name another client.
func (s *Store) CreateClient(ctx context.Context, c storage.Client, secrets ...storage.Secret) error {
	for _, sec := range secrets {
		if sec.ClientID != "" && sec.ClientID != c.ClientID {
			return fmt.Errorf("create client %q: secret %q belongs to client %q", c.ClientID, sec.ID, sec.ClientID)
		}
	}
	metadata, err := encodeMetadata(c.Metadata)
	if err != nil {
		return fmt.Errorf("create client %q: %w", c.ClientID, err)
	}
	extras, err := jsonObject(c.Extras)
	if err != nil {
		return fmt.Errorf("create client %q: encode extras: %w", c.ClientID, err)
	}
	methods, err := jsonObject(c.AuthMethods)
	if err != nil {
		return fmt.Errorf("create client %q: encode authentication methods: %w", c.ClientID, err)
	}
	if !c.AuthMethods.IsZero() { // a new client has no credential to name yet
		return fmt.Errorf("create client %q: authentication method credential: %w", c.ClientID, storage.ErrNotFound)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO clients ("+clientColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
			c.ClientID, c.Name, c.Description, c.AppType, s.f.List(c.GrantTypes), metadata, authMethod(c),
			s.f.List(c.RedirectURIs), s.f.List(c.AllowedLogoutURLs), c.FirstParty, c.Disabled, extras,
			s.f.Time(c.CreatedAt), s.f.Time(c.UpdatedAt), s.f.List(c.WebOrigins), methods, c.JWKSURI); err != nil {
			return s.translate(err)
		}
		for _, sec := range secrets {
			sec.ClientID = c.ClientID
			if err := s.insertSecret(ctx, tx, sec); err != nil {
				return fmt.Errorf("secret %q: %w", sec.ID, err)
			}
		}
		return s.appendChange(ctx, tx, storage.EntityClient, c.ClientID)
	})
	if err != nil {
		return fmt.Errorf("create client %q: %w", c.ClientID, err)
	}
	return nil
}

// GetClient returns the client or storage.ErrNotFound.
func (s *Store) GetClient(ctx context.Context, clientID string) (storage.Client, error) {
	return selectOne(ctx, s, fmt.Sprintf("get client %q", clientID), s.scanClient,
		"SELECT "+clientColumns+" FROM clients WHERE client_id = $1", clientID)
}

// ListClients returns every client ordered by creation time, then client ID.
func (s *Store) ListClients(ctx context.Context) ([]storage.Client, error) {
	return selectAll(ctx, s, "list clients", s.scanClient, "SELECT "+clientColumns+" FROM clients ORDER BY created_at, client_id")
}

// SetClientDisabled enables or disables a client and sets its UpdatedAt to
// at, or returns storage.ErrNotFound.
func (s *Store) SetClientDisabled(ctx context.Context, clientID string, disabled bool, at time.Time) error {
	err := s.changeClient(ctx, clientID, "UPDATE clients SET disabled = $2, updated_at = $3 WHERE client_id = $1",
		disabled, s.f.Time(at))
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
	extras, err := jsonObject(c.Extras)
	if err != nil {
		return fmt.Errorf("update client %q: encode extras: %w", c.ClientID, err)
	}
	methods, err := jsonObject(c.AuthMethods)
	if err != nil {
		return fmt.Errorf("update client %q: encode authentication methods: %w", c.ClientID, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, `UPDATE clients SET name = $2, description = $3, app_type = $4, grant_types = $5,
		metadata = $6, token_endpoint_auth_method = $7, redirect_uris = $8, allowed_logout_urls = $9, first_party = $10,
		disabled = $11, extras = $12, updated_at = $13, web_origins = $14, auth_methods = $15, jwks_uri = $16 WHERE client_id = $1`,
			c.ClientID, c.Name, c.Description, c.AppType, s.f.List(c.GrantTypes), metadata, authMethod(c),
			s.f.List(c.RedirectURIs), s.f.List(c.AllowedLogoutURLs), c.FirstParty, c.Disabled, extras, s.f.Time(c.UpdatedAt),
			s.f.List(c.WebOrigins), methods, c.JWKSURI)); err != nil {
			return err
		}
		if err := s.checkAuthMethods(ctx, tx, c.ClientID, c.AuthMethods); err != nil {
			return err
		}
		return s.appendChange(ctx, tx, storage.EntityClient, c.ClientID)
	})
	if err != nil {
		return fmt.Errorf("update client %q: %w", c.ClientID, err)
	}
	return nil
}

// DeleteClient deletes a client with its secrets and grants, or returns
// storage.ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, clientID string) error {
	if err := s.changeClient(ctx, clientID, "DELETE FROM clients WHERE client_id = $1"); err != nil {
		return fmt.Errorf("delete client %q: %w", clientID, err)
	}
	return nil
}

// changeClient runs query, whose $1 is clientID and whose other arguments
// are args, and records the client's change; storage.ErrNotFound if it
// changed no row.
func (s *Store) changeClient(ctx context.Context, clientID, query string, args ...any) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, query, append([]any{clientID}, args...)...)); err != nil {
			return err
		}
		return s.appendChange(ctx, tx, storage.EntityClient, clientID)
	})
}

// encodeMetadata encodes a client's metadata as a JSON object ({} for nil).
func encodeMetadata(m map[string]string) (string, error) {
	if m == nil {
		m = map[string]string{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode metadata: %w", err)
	}
	return string(b), nil
}

func authMethod(c storage.Client) string {
	if c.TokenEndpointAuthMethod == "" {
		return storage.AuthMethodClientSecretPost
	}
	return c.TokenEndpointAuthMethod
}

func (s *Store) scanClient(r rowScanner) (c storage.Client, err error) {
	return c, r.Scan(&c.ClientID, &c.Name, &c.Description, &c.AppType, s.list(&c.GrantTypes), object{&c.Metadata},
		&c.TokenEndpointAuthMethod, s.list(&c.RedirectURIs), s.list(&c.AllowedLogoutURLs), &c.FirstParty, &c.Disabled,
		document[storage.ClientExtras]{&c.Extras}, at(&c.CreatedAt), at(&c.UpdatedAt), s.list(&c.WebOrigins),
		document[storage.ClientAuthMethods]{&c.AuthMethods}, &c.JWKSURI)
}

// list is the destination of a list column.
func (s *Store) list(dst *[]string) sql.Scanner { return s.f.ListDest(dst) }
