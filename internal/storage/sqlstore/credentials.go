package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const credentialColumns = "id, client_id, credential_type, name, kid, alg, pem, subject_dn, thumbprint_sha256, created_at, updated_at, expires_at"

// AddCredential stores a new credential of an existing client and, when
// attach is set, adds its ID to the client's authentication method for its
// type, in one write; storage.ErrNotFound if the client does not exist,
// storage.ErrAlreadyExists if the ID or the client's key ID is taken.
func (s *Store) AddCredential(ctx context.Context, c storage.Credential, attach bool) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		methods, err := s.authMethods(ctx, tx, c.ClientID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO client_credentials ("+credentialColumns+
			") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
			c.ID, c.ClientID, c.Type, c.Name, c.KeyID, c.Alg, c.PEM, c.SubjectDN, c.ThumbprintSHA256,
			s.f.Time(c.CreatedAt), s.f.Time(c.UpdatedAt), s.f.Time(c.ExpiresAt)); err != nil {
			return s.translate(err)
		}
		if attach {
			ids := methods.For(c.Type)
			if ids == nil {
				return fmt.Errorf("credential type %q: %w", c.Type, storage.ErrNotFound)
			}
			*ids = append(*ids, c.ID)
			if err := s.setAuthMethods(ctx, tx, c.ClientID, methods); err != nil {
				return err
			}
		}
		return s.appendChange(ctx, tx, storage.EntityClient, c.ClientID)
	})
	if err != nil {
		return fmt.Errorf("add credential %q to client %q: %w", c.ID, c.ClientID, err)
	}
	return nil
}

// GetCredential returns a credential of the client or storage.ErrNotFound.
func (s *Store) GetCredential(ctx context.Context, clientID, id string) (storage.Credential, error) {
	return selectOne(ctx, s, fmt.Sprintf("get credential %q of client %q", id, clientID), s.scanCredential,
		"SELECT "+credentialColumns+" FROM client_credentials WHERE client_id = $1 AND id = $2", clientID, id)
}

// ListCredentials returns a client's credentials ordered by creation time,
// then ID; storage.ErrNotFound if the client does not exist.
func (s *Store) ListCredentials(ctx context.Context, clientID string) ([]storage.Credential, error) {
	var out []storage.Credential
	err := s.read(ctx, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "client", clientID, "SELECT 1 FROM clients WHERE client_id = $1"); err != nil {
			return err
		}
		var err error
		out, err = queryAll(ctx, tx, s.scanCredential, "SELECT "+credentialColumns+
			" FROM client_credentials WHERE client_id = $1 ORDER BY created_at, id", clientID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list credentials of client %q: %w", clientID, err)
	}
	return out, nil
}

// ListAllCredentials returns every client's credentials ordered by client
// ID, then creation time, then ID, in one query.
func (s *Store) ListAllCredentials(ctx context.Context) ([]storage.Credential, error) {
	return selectAll(ctx, s, "list all credentials", s.scanCredential,
		"SELECT "+credentialColumns+" FROM client_credentials ORDER BY client_id, created_at, id")
}

// UpdateCredential replaces the name, expiry and update time of a
// credential, or returns storage.ErrNotFound.
func (s *Store) UpdateCredential(ctx context.Context, c storage.Credential) error {
	err := s.changeClient(ctx, c.ClientID, `UPDATE client_credentials SET name = $3, expires_at = $4, updated_at = $5
		WHERE client_id = $1 AND id = $2`, c.ID, c.Name, s.f.Time(c.ExpiresAt), s.f.Time(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("update credential %q of client %q: %w", c.ID, c.ClientID, err)
	}
	return nil
}

// DeleteCredential deletes a credential of the client and removes it from
// the client's authentication methods, in one write, or returns
// storage.ErrNotFound.
func (s *Store) DeleteCredential(ctx context.Context, clientID, id string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, "DELETE FROM client_credentials WHERE client_id = $1 AND id = $2", clientID, id)); err != nil {
			return err
		}
		methods, err := s.authMethods(ctx, tx, clientID)
		if err != nil {
			return err
		}
		if methods.Uses(id) {
			if err := s.setAuthMethods(ctx, tx, clientID, methods.Without(id)); err != nil {
				return err
			}
		}
		return s.appendChange(ctx, tx, storage.EntityClient, clientID)
	})
	if err != nil {
		return fmt.Errorf("delete credential %q of client %q: %w", id, clientID, err)
	}
	return nil
}

// authMethods reads the client's authentication methods in tx, locking its
// row; storage.ErrNotFound names a missing client.
func (s *Store) authMethods(ctx context.Context, tx *sql.Tx, clientID string) (storage.ClientAuthMethods, error) {
	var m storage.ClientAuthMethods
	err := tx.QueryRowContext(ctx, "SELECT auth_methods FROM clients WHERE client_id = $1"+s.f.ForUpdate, clientID).
		Scan(document[storage.ClientAuthMethods]{&m})
	if err == sql.ErrNoRows {
		return m, fmt.Errorf("client %q: %w", clientID, storage.ErrNotFound)
	}
	return m, err
}

func (s *Store) setAuthMethods(ctx context.Context, tx *sql.Tx, clientID string, m storage.ClientAuthMethods) error {
	doc, err := jsonObject(m)
	if err != nil {
		return fmt.Errorf("encode authentication methods: %w", err)
	}
	_, err = tx.ExecContext(ctx, "UPDATE clients SET auth_methods = $2 WHERE client_id = $1", clientID, doc)
	return err
}

// checkAuthMethods returns storage.ErrNotFound, naming the credential,
// unless every credential m names is one of the client's, of the type its
// method takes.
func (s *Store) checkAuthMethods(ctx context.Context, tx *sql.Tx, clientID string, m storage.ClientAuthMethods) error {
	if m.IsZero() {
		return nil
	}
	types, err := queryAll(ctx, tx, func(r rowScanner) (p [2]string, err error) { return p, r.Scan(&p[0], &p[1]) },
		"SELECT id, credential_type FROM client_credentials WHERE client_id = $1", clientID)
	if err != nil {
		return err
	}
	for _, t := range storage.CredentialTypes {
		for _, id := range *m.For(t) {
			if !slices.Contains(types, [2]string{id, t}) {
				return fmt.Errorf("%s credential %q: %w", t, id, storage.ErrNotFound)
			}
		}
	}
	return nil
}

// UseAssertionID records a client assertion's JWT ID until it expires;
// storage.ErrAlreadyExists if it is recorded already (a replay). A
// recorded ID that has expired counts still, until DeleteAssertionIDsBefore
// removes it: an expired assertion is refused for its expiry anyway.
func (s *Store) UseAssertionID(ctx context.Context, clientID, jti string, exp time.Time) error {
	if _, err := s.exec(ctx, "INSERT INTO assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3)",
		clientID, jti, s.f.Time(exp)); err != nil {
		return fmt.Errorf("use assertion id of client %q: %w", clientID, s.translate(err))
	}
	return nil
}

// DeleteAssertionIDsBefore deletes the JWT IDs that expired before t.
func (s *Store) DeleteAssertionIDsBefore(ctx context.Context, t time.Time) (int64, error) {
	n, err := s.exec(ctx, "DELETE FROM assertion_jtis WHERE expires_at < $1", s.f.Time(t))
	if err != nil {
		return 0, fmt.Errorf("delete expired assertion ids: %w", err)
	}
	return n, nil
}

func (s *Store) scanCredential(r rowScanner) (c storage.Credential, err error) {
	return c, r.Scan(&c.ID, &c.ClientID, &c.Type, &c.Name, &c.KeyID, &c.Alg, &c.PEM, &c.SubjectDN, &c.ThumbprintSHA256,
		at(&c.CreatedAt), at(&c.UpdatedAt), at(&c.ExpiresAt))
}
