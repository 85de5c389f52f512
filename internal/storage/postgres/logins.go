package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

var _ storage.Logins = (*Store)(nil)

// CreateSession stores a login session; storage.ErrAlreadyExists if its ID
// is taken, storage.ErrNotFound if its user does not exist.
func (s *Store) CreateSession(ctx context.Context, ls storage.LoginSession) error {
	_, err := s.pool.Exec(ctx,
		"INSERT INTO login_sessions (id, user_id, auth_time, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
		ls.ID, ls.UserID, ts(ls.AuthTime), ts(ls.CreatedAt), ts(ls.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create session: %w", translate(err))
	}
	return nil
}

// GetSession returns the session or storage.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (storage.LoginSession, error) {
	ls, err := queryOne(ctx, s.pool, func(r pgx.Row) (storage.LoginSession, error) {
		var (
			ls                      storage.LoginSession
			authTime, created, exps *time.Time
		)
		err := r.Scan(&ls.ID, &ls.UserID, &authTime, &created, &exps)
		ls.AuthTime, ls.CreatedAt, ls.ExpiresAt = fromTS(authTime), fromTS(created), fromTS(exps)
		return ls, err
	}, "SELECT id, user_id, auth_time, created_at, expires_at FROM login_sessions WHERE id = $1", id)
	if err != nil {
		return storage.LoginSession{}, fmt.Errorf("get session: %w", err)
	}
	return ls, nil
}

// DeleteSession deletes a session or returns storage.ErrNotFound.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM login_sessions WHERE id = $1", id)
	if err == nil {
		err = mustAffect(tag)
	}
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

const codeColumns = "id, client_id, user_id, redirect_uri, scope, audience, nonce, code_challenge, auth_time, created_at, expires_at, used_at, family_id"

// CreateAuthCode stores an authorization code; storage.ErrAlreadyExists if
// its ID is taken, storage.ErrNotFound if its client or user does not exist.
func (s *Store) CreateAuthCode(ctx context.Context, c storage.AuthCode) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO auth_codes ("+codeColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
		c.ID, c.ClientID, c.UserID, c.RedirectURI, list(c.Scope), c.Audience, c.Nonce, c.CodeChallenge,
		ts(c.AuthTime), ts(c.CreatedAt), ts(c.ExpiresAt), ts(c.UsedAt), c.FamilyID)
	if err != nil {
		return fmt.Errorf("create code: %w", translate(err))
	}
	return nil
}

// RedeemAuthCode marks the code used, recording familyID, and returns it
// as it was; storage.ErrConsumed (with the code) if it was used before. The
// row lock makes concurrent redemptions take turns: one wins.
func (s *Store) RedeemAuthCode(ctx context.Context, id, familyID string, at time.Time) (storage.AuthCode, error) {
	var c storage.AuthCode
	err := s.retry(ctx, func(tx pgx.Tx) error {
		var err error
		c, err = queryOne(ctx, tx, scanCode, "SELECT "+codeColumns+" FROM auth_codes WHERE id = $1 FOR UPDATE", id)
		if err != nil {
			return err
		}
		if !c.UsedAt.IsZero() {
			return storage.ErrConsumed
		}
		_, err = tx.Exec(ctx, "UPDATE auth_codes SET used_at = $1, family_id = $2 WHERE id = $3", ts(at), familyID, id)
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

func scanCode(r pgx.Row) (storage.AuthCode, error) {
	var (
		c                               storage.AuthCode
		authTime, created, exps, usedAt *time.Time
	)
	if err := r.Scan(&c.ID, &c.ClientID, &c.UserID, &c.RedirectURI, &c.Scope, &c.Audience, &c.Nonce, &c.CodeChallenge,
		&authTime, &created, &exps, &usedAt, &c.FamilyID); err != nil {
		return storage.AuthCode{}, err
	}
	c.AuthTime, c.CreatedAt, c.ExpiresAt, c.UsedAt = fromTS(authTime), fromTS(created), fromTS(exps), fromTS(usedAt)
	return c, nil
}

// PutConsent stores or replaces a consent; an existing one keeps its
// creation time. storage.ErrNotFound if the user or client does not exist.
func (s *Store) PutConsent(ctx context.Context, c storage.Consent) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO consents (user_id, client_id, audience, scope, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (user_id, client_id, audience) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at`,
		c.UserID, c.ClientID, c.Audience, list(c.Scope), ts(c.CreatedAt), ts(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put consent: %w", translate(err))
	}
	return nil
}

// GetConsent returns a consent or storage.ErrNotFound.
func (s *Store) GetConsent(ctx context.Context, userID, clientID, audience string) (storage.Consent, error) {
	c, err := queryOne(ctx, s.pool, func(r pgx.Row) (storage.Consent, error) {
		var (
			c                storage.Consent
			created, updated *time.Time
		)
		err := r.Scan(&c.UserID, &c.ClientID, &c.Audience, &c.Scope, &created, &updated)
		c.CreatedAt, c.UpdatedAt = fromTS(created), fromTS(updated)
		return c, err
	}, `SELECT user_id, client_id, audience, scope, created_at, updated_at FROM consents
		WHERE user_id = $1 AND client_id = $2 AND audience = $3`, userID, clientID, audience)
	if err != nil {
		return storage.Consent{}, fmt.Errorf("get consent: %w", err)
	}
	return c, nil
}

// CreateRefreshFamily stores a family with its first token, atomically.
func (s *Store) CreateRefreshFamily(ctx context.Context, f storage.RefreshFamily, first storage.RefreshToken) error {
	if first.FamilyID != "" && first.FamilyID != f.ID {
		return fmt.Errorf("create refresh family %q: token belongs to family %q", f.ID, first.FamilyID)
	}
	first.FamilyID = f.ID
	err := s.retry(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO refresh_families (id, client_id, user_id, audience, scope, auth_time, created_at, expires_at, revoked_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, f.ID, f.ClientID, f.UserID, f.Audience, list(f.Scope),
			ts(f.AuthTime), ts(f.CreatedAt), ts(f.ExpiresAt), ts(f.RevokedAt)); err != nil {
			return translate(err)
		}
		return insertRefresh(ctx, tx, first)
	})
	if err != nil {
		return fmt.Errorf("create refresh family: %w", err)
	}
	return nil
}

func insertRefresh(ctx context.Context, tx pgx.Tx, t storage.RefreshToken) error {
	_, err := tx.Exec(ctx, "INSERT INTO refresh_tokens (id, family_id, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5)",
		t.ID, t.FamilyID, ts(t.CreatedAt), ts(t.ExpiresAt), ts(t.UsedAt))
	return translate(err)
}

// GetRefreshToken returns a refresh token and its family, or
// storage.ErrNotFound.
func (s *Store) GetRefreshToken(ctx context.Context, id string) (storage.RefreshToken, storage.RefreshFamily, error) {
	var (
		t storage.RefreshToken
		f storage.RefreshFamily
	)
	err := s.read(ctx, func(tx pgx.Tx) error {
		var err error
		if t, err = queryOne(ctx, tx, scanRefresh, "SELECT id, family_id, created_at, expires_at, used_at FROM refresh_tokens WHERE id = $1", id); err != nil {
			return err
		}
		f, err = queryOne(ctx, tx, scanFamily, familySelect+" WHERE id = $1", t.FamilyID)
		return err
	})
	if err != nil {
		return storage.RefreshToken{}, storage.RefreshFamily{}, fmt.Errorf("get refresh token: %w", err)
	}
	return t, f, nil
}

const familySelect = "SELECT id, client_id, user_id, audience, scope, auth_time, created_at, expires_at, revoked_at FROM refresh_families"

func scanRefresh(r pgx.Row) (storage.RefreshToken, error) {
	var (
		t                     storage.RefreshToken
		created, exps, usedAt *time.Time
	)
	err := r.Scan(&t.ID, &t.FamilyID, &created, &exps, &usedAt)
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromTS(created), fromTS(exps), fromTS(usedAt)
	return t, err
}

func scanFamily(r pgx.Row) (storage.RefreshFamily, error) {
	var (
		f                                storage.RefreshFamily
		authTime, created, exps, revoked *time.Time
	)
	err := r.Scan(&f.ID, &f.ClientID, &f.UserID, &f.Audience, &f.Scope, &authTime, &created, &exps, &revoked)
	f.AuthTime, f.CreatedAt, f.ExpiresAt, f.RevokedAt = fromTS(authTime), fromTS(created), fromTS(exps), fromTS(revoked)
	return f, err
}

// RotateRefreshToken marks the token used and stores next in its family;
// the reuse of a used token revokes the family (storage.ErrConsumed), a
// revoked family's token is storage.ErrRevoked. The token's row lock makes
// concurrent rotations take turns, so all but the first revoke the family.
// The reuse's revocation is committed although the call fails.
func (s *Store) RotateRefreshToken(ctx context.Context, id string, next storage.RefreshToken, at time.Time) (storage.RefreshFamily, error) {
	var f storage.RefreshFamily
	var outcome error
	err := s.retry(ctx, func(tx pgx.Tx) error {
		outcome = nil
		t, err := queryOne(ctx, tx, scanRefresh, "SELECT id, family_id, created_at, expires_at, used_at FROM refresh_tokens WHERE id = $1 FOR UPDATE", id)
		if err != nil {
			return err
		}
		if f, err = queryOne(ctx, tx, scanFamily, familySelect+" WHERE id = $1 FOR UPDATE", t.FamilyID); err != nil {
			return err
		}
		switch {
		case !f.RevokedAt.IsZero():
			outcome = storage.ErrRevoked
			return nil
		case !t.UsedAt.IsZero():
			f.RevokedAt = fromTS(ts(at))
			outcome = storage.ErrConsumed
			_, err := tx.Exec(ctx, "UPDATE refresh_families SET revoked_at = $1 WHERE id = $2", ts(at), f.ID)
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE refresh_tokens SET used_at = $1 WHERE id = $2", ts(at), id); err != nil {
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
	tag, err := s.pool.Exec(ctx, "UPDATE refresh_families SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2", ts(at), familyID)
	if err == nil {
		err = mustAffect(tag)
	}
	if err != nil {
		return fmt.Errorf("revoke refresh family %q: %w", familyID, err)
	}
	return nil
}

// DeleteExpiredLogins deletes the sessions, codes and refresh families
// that expired (or, families, were revoked) before before.
func (s *Store) DeleteExpiredLogins(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.retry(ctx, func(tx pgx.Tx) error {
		n = 0
		for _, q := range []string{
			"DELETE FROM login_sessions WHERE expires_at < $1",
			"DELETE FROM auth_codes WHERE expires_at < $1",
			"DELETE FROM refresh_families WHERE expires_at < $1 OR revoked_at < $1",
		} {
			tag, err := tx.Exec(ctx, q, ts(before))
			if err != nil {
				return err
			}
			n += tag.RowsAffected()
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
	err := s.retry(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM login_sessions WHERE user_id = $1", userID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "UPDATE refresh_families SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL", ts(at), userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("end logins of user %q: %w", userID, err)
	}
	return nil
}
