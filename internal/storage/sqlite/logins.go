package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

var _ storage.Logins = (*Store)(nil)

// CreateSession stores a login session; storage.ErrAlreadyExists if its ID
// is taken, storage.ErrNotFound if its user does not exist.
func (s *Store) CreateSession(ctx context.Context, ls storage.LoginSession) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			"INSERT INTO login_sessions (id, user_id, auth_time, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
			ls.ID, ls.UserID, toMicros(ls.AuthTime), toMicros(ls.CreatedAt), toMicros(ls.ExpiresAt))
		return translate(err)
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// GetSession returns the session or storage.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (storage.LoginSession, error) {
	var (
		ls                      storage.LoginSession
		authTime, created, exps sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, "SELECT id, user_id, auth_time, created_at, expires_at FROM login_sessions WHERE id = ?", id).
		Scan(&ls.ID, &ls.UserID, &authTime, &created, &exps)
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	if err != nil {
		return storage.LoginSession{}, fmt.Errorf("get session: %w", err)
	}
	ls.AuthTime, ls.CreatedAt, ls.ExpiresAt = fromMicros(authTime), fromMicros(created), fromMicros(exps)
	return ls, nil
}

// DeleteSession deletes a session or returns storage.ErrNotFound.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM login_sessions WHERE id = ?", id)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

const codeColumns = "id, client_id, user_id, redirect_uri, scope, audience, nonce, code_challenge, auth_time, created_at, expires_at, used_at, family_id"

// CreateAuthCode stores an authorization code; storage.ErrAlreadyExists if
// its ID is taken, storage.ErrNotFound if its client or user does not exist.
func (s *Store) CreateAuthCode(ctx context.Context, c storage.AuthCode) error {
	scope, err := toJSON(c.Scope)
	if err != nil {
		return fmt.Errorf("create code: %w", err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO auth_codes ("+codeColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			c.ID, c.ClientID, c.UserID, c.RedirectURI, scope, c.Audience, c.Nonce, c.CodeChallenge,
			toMicros(c.AuthTime), toMicros(c.CreatedAt), toMicros(c.ExpiresAt), toMicros(c.UsedAt), c.FamilyID)
		return translate(err)
	})
	if err != nil {
		return fmt.Errorf("create code: %w", err)
	}
	return nil
}

// RedeemAuthCode marks the code used, recording familyID, and returns it
// as it was; storage.ErrConsumed (with the code) if it was used before.
func (s *Store) RedeemAuthCode(ctx context.Context, id, familyID string, at time.Time) (storage.AuthCode, error) {
	var c storage.AuthCode
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = scanCode(tx.QueryRowContext(ctx, "SELECT "+codeColumns+" FROM auth_codes WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return storage.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !c.UsedAt.IsZero() {
			return storage.ErrConsumed
		}
		_, err = tx.ExecContext(ctx, "UPDATE auth_codes SET used_at = ?, family_id = ? WHERE id = ?", toMicros(at), familyID, id)
		return err
	})
	if errors.Is(err, storage.ErrConsumed) {
		return c, fmt.Errorf("redeem code: %w", err)
	}
	if err != nil {
		return storage.AuthCode{}, fmt.Errorf("redeem code: %w", err)
	}
	return c, nil
}

func scanCode(r rowScanner) (storage.AuthCode, error) {
	var (
		c                               storage.AuthCode
		scope                           string
		authTime, created, exps, usedAt sql.NullInt64
	)
	if err := r.Scan(&c.ID, &c.ClientID, &c.UserID, &c.RedirectURI, &scope, &c.Audience, &c.Nonce, &c.CodeChallenge,
		&authTime, &created, &exps, &usedAt, &c.FamilyID); err != nil {
		return storage.AuthCode{}, err
	}
	var err error
	if c.Scope, err = fromJSON[string](scope); err != nil {
		return storage.AuthCode{}, fmt.Errorf("decode scope: %w", err)
	}
	c.AuthTime, c.CreatedAt, c.ExpiresAt, c.UsedAt = fromMicros(authTime), fromMicros(created), fromMicros(exps), fromMicros(usedAt)
	return c, nil
}

// PutConsent stores or replaces a consent; an existing one keeps its
// creation time. storage.ErrNotFound if the user or client does not exist.
func (s *Store) PutConsent(ctx context.Context, c storage.Consent) error {
	scope, err := toJSON(c.Scope)
	if err != nil {
		return fmt.Errorf("put consent: %w", err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO consents (user_id, client_id, audience, scope, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id, client_id, audience) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at`,
			c.UserID, c.ClientID, c.Audience, scope, toMicros(c.CreatedAt), toMicros(c.UpdatedAt))
		return translate(err)
	})
	if err != nil {
		return fmt.Errorf("put consent: %w", err)
	}
	return nil
}

// GetConsent returns a consent or storage.ErrNotFound.
func (s *Store) GetConsent(ctx context.Context, userID, clientID, audience string) (storage.Consent, error) {
	var (
		c                storage.Consent
		scope            string
		created, updated sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, `SELECT user_id, client_id, audience, scope, created_at, updated_at FROM consents
		WHERE user_id = ? AND client_id = ? AND audience = ?`, userID, clientID, audience).
		Scan(&c.UserID, &c.ClientID, &c.Audience, &scope, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	if err != nil {
		return storage.Consent{}, fmt.Errorf("get consent: %w", err)
	}
	if c.Scope, err = fromJSON[string](scope); err != nil {
		return storage.Consent{}, fmt.Errorf("get consent: decode scope: %w", err)
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, nil
}

// CreateRefreshFamily stores a family with its first token, atomically.
func (s *Store) CreateRefreshFamily(ctx context.Context, f storage.RefreshFamily, first storage.RefreshToken) error {
	scope, err := toJSON(f.Scope)
	if err != nil {
		return fmt.Errorf("create refresh family: %w", err)
	}
	if first.FamilyID != "" && first.FamilyID != f.ID {
		return fmt.Errorf("create refresh family %q: token belongs to family %q", f.ID, first.FamilyID)
	}
	first.FamilyID = f.ID
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO refresh_families (id, client_id, user_id, audience, scope, auth_time, created_at, expires_at, revoked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, f.ID, f.ClientID, f.UserID, f.Audience, scope,
			toMicros(f.AuthTime), toMicros(f.CreatedAt), toMicros(f.ExpiresAt), toMicros(f.RevokedAt)); err != nil {
			return translate(err)
		}
		return insertRefresh(ctx, tx, first)
	})
	if err != nil {
		return fmt.Errorf("create refresh family: %w", err)
	}
	return nil
}

func insertRefresh(ctx context.Context, tx *sql.Tx, t storage.RefreshToken) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO refresh_tokens (id, family_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?)",
		t.ID, t.FamilyID, toMicros(t.CreatedAt), toMicros(t.ExpiresAt), toMicros(t.UsedAt))
	return translate(err)
}

// GetRefreshToken returns a refresh token and its family, or
// storage.ErrNotFound.
func (s *Store) GetRefreshToken(ctx context.Context, id string) (storage.RefreshToken, storage.RefreshFamily, error) {
	var (
		t storage.RefreshToken
		f storage.RefreshFamily
	)
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		if t, err = getRefresh(ctx, tx, id); err != nil {
			return err
		}
		f, err = getFamily(ctx, tx, t.FamilyID)
		return err
	})
	if err != nil {
		return storage.RefreshToken{}, storage.RefreshFamily{}, fmt.Errorf("get refresh token: %w", err)
	}
	return t, f, nil
}

func getRefresh(ctx context.Context, tx *sql.Tx, id string) (storage.RefreshToken, error) {
	var (
		t                     storage.RefreshToken
		created, exps, usedAt sql.NullInt64
	)
	err := tx.QueryRowContext(ctx, "SELECT id, family_id, created_at, expires_at, used_at FROM refresh_tokens WHERE id = ?", id).
		Scan(&t.ID, &t.FamilyID, &created, &exps, &usedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return t, storage.ErrNotFound
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromMicros(created), fromMicros(exps), fromMicros(usedAt)
	return t, err
}

func getFamily(ctx context.Context, tx *sql.Tx, id string) (storage.RefreshFamily, error) {
	var (
		f                                storage.RefreshFamily
		scope                            string
		authTime, created, exps, revoked sql.NullInt64
	)
	err := tx.QueryRowContext(ctx, `SELECT id, client_id, user_id, audience, scope, auth_time, created_at, expires_at, revoked_at
		FROM refresh_families WHERE id = ?`, id).
		Scan(&f.ID, &f.ClientID, &f.UserID, &f.Audience, &scope, &authTime, &created, &exps, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return f, storage.ErrNotFound
	}
	if err != nil {
		return f, err
	}
	if f.Scope, err = fromJSON[string](scope); err != nil {
		return f, fmt.Errorf("decode scope: %w", err)
	}
	f.AuthTime, f.CreatedAt, f.ExpiresAt, f.RevokedAt = fromMicros(authTime), fromMicros(created), fromMicros(exps), fromMicros(revoked)
	return f, nil
}

// RotateRefreshToken marks the token used and stores next in its family;
// the reuse of a used token revokes the family (storage.ErrConsumed), a
// revoked family's token is storage.ErrRevoked. The reuse's revocation is
// committed although the call fails.
func (s *Store) RotateRefreshToken(ctx context.Context, id string, next storage.RefreshToken, at time.Time) (storage.RefreshFamily, error) {
	var f storage.RefreshFamily
	var outcome error
	err := s.write(ctx, func(tx *sql.Tx) error {
		t, err := getRefresh(ctx, tx, id)
		if err != nil {
			return err
		}
		if f, err = getFamily(ctx, tx, t.FamilyID); err != nil {
			return err
		}
		switch {
		case !f.RevokedAt.IsZero():
			outcome = storage.ErrRevoked
			return nil
		case !t.UsedAt.IsZero():
			f.RevokedAt = at.UTC()
			outcome = storage.ErrConsumed
			_, err := tx.ExecContext(ctx, "UPDATE refresh_families SET revoked_at = ? WHERE id = ?", toMicros(at), f.ID)
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE refresh_tokens SET used_at = ? WHERE id = ?", toMicros(at), id); err != nil {
			return err
		}
		next.FamilyID = f.ID
		return insertRefresh(ctx, tx, next)
	})
	if err == nil {
		err = outcome
	}
	if err != nil {
		return f, fmt.Errorf("rotate refresh token: %w", err)
	}
	return f, nil
}

// RevokeRefreshFamily revokes a family (an earlier revocation stays), or
// returns storage.ErrNotFound.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE refresh_families SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", toMicros(at), familyID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("revoke refresh family %q: %w", familyID, err)
	}
	return nil
}

// DeleteExpiredLogins deletes the sessions, codes and refresh families
// that expired (or, families, were revoked) before before.
func (s *Store) DeleteExpiredLogins(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			"DELETE FROM login_sessions WHERE expires_at < ?",
			"DELETE FROM auth_codes WHERE expires_at < ?",
			"DELETE FROM refresh_families WHERE expires_at < ?1 OR revoked_at < ?1",
		} {
			res, err := tx.ExecContext(ctx, q, toMicros(before))
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired logins: %w", err)
	}
	return n, nil
}

// EndUserLogins deletes the user's sessions and revokes the user's refresh
// token families, atomically.
func (s *Store) EndUserLogins(ctx context.Context, userID string, at time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM login_sessions WHERE user_id = ?", userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE refresh_families SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", toMicros(at), userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("end logins of user %q: %w", userID, err)
	}
	return nil
}
