package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// CreateSession stores a login session; storage.ErrAlreadyExists if its ID
// is taken, storage.ErrNotFound if its user does not exist.
func (s *Store) CreateSession(ctx context.Context, ls storage.LoginSession) error {
	_, err := s.exec(ctx, "INSERT INTO login_sessions (id, user_id, auth_time, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
		ls.ID, ls.UserID, s.f.Time(ls.AuthTime), s.f.Time(ls.CreatedAt), s.f.Time(ls.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create session: %w", s.translate(err))
	}
	return nil
}

// GetSession returns the session or storage.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (storage.LoginSession, error) {
	return selectOne(ctx, s, "get session", func(r rowScanner) (ls storage.LoginSession, err error) {
		return ls, r.Scan(&ls.ID, &ls.UserID, at(&ls.AuthTime), at(&ls.CreatedAt), at(&ls.ExpiresAt))
	}, "SELECT id, user_id, auth_time, created_at, expires_at FROM login_sessions WHERE id = $1", id)
}

// DeleteSession deletes a session or returns storage.ErrNotFound.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	n, err := s.exec(ctx, "DELETE FROM login_sessions WHERE id = $1", id)
	if err == nil && n == 0 {
		err = storage.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

const codeColumns = "id, client_id, user_id, redirect_uri, scope, audience, nonce, code_challenge, auth_time, created_at, expires_at, used_at, family_id, access_jti"

// CreateAuthCode stores an authorization code; storage.ErrAlreadyExists if
// its ID is taken, storage.ErrNotFound if its client or user does not exist.
func (s *Store) CreateAuthCode(ctx context.Context, c storage.AuthCode) error {
	_, err := s.exec(ctx, "INSERT INTO auth_codes ("+codeColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
		c.ID, c.ClientID, c.UserID, c.RedirectURI, s.f.List(c.Scope), c.Audience, c.Nonce, c.CodeChallenge,
		s.f.Time(c.AuthTime), s.f.Time(c.CreatedAt), s.f.Time(c.ExpiresAt), s.f.Time(c.UsedAt), c.FamilyID, c.AccessJTI)
	if err != nil {
		return fmt.Errorf("create code: %w", s.translate(err))
	}
	return nil
}

// RedeemAuthCode marks the code used, recording familyID and accessJTI, and returns it
// as it was; storage.ErrConsumed (with the code) if it was used before.
// The code's row is read for update in a write transaction, so concurrent
// redemptions take turns: one wins.
func (s *Store) RedeemAuthCode(ctx context.Context, id, familyID, accessJTI string, at time.Time) (storage.AuthCode, error) {
	var c storage.AuthCode
	err := s.update(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = queryOne(ctx, tx, s.scanCode, "SELECT "+codeColumns+" FROM auth_codes WHERE id = $1"+s.f.ForUpdate, id)
		if err != nil {
			return err
		}
		if !c.UsedAt.IsZero() {
			return storage.ErrConsumed
		}
		_, err = tx.ExecContext(ctx, "UPDATE auth_codes SET used_at = $1, family_id = $2, access_jti = $3 WHERE id = $4", s.f.Time(at), familyID, accessJTI, id)
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

func (s *Store) scanCode(r rowScanner) (storage.AuthCode, error) {
	var c storage.AuthCode
	err := r.Scan(&c.ID, &c.ClientID, &c.UserID, &c.RedirectURI, s.list(&c.Scope), &c.Audience, &c.Nonce, &c.CodeChallenge,
		at(&c.AuthTime), at(&c.CreatedAt), at(&c.ExpiresAt), at(&c.UsedAt), &c.FamilyID, &c.AccessJTI)
	return c, err
}

// PutConsent stores or replaces a consent; an existing one keeps its
// creation time. storage.ErrNotFound if the user or client does not exist.
func (s *Store) PutConsent(ctx context.Context, c storage.Consent) error {
	_, err := s.exec(ctx, `INSERT INTO consents (user_id, client_id, audience, scope, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (user_id, client_id, audience) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at`,
		c.UserID, c.ClientID, c.Audience, s.f.List(c.Scope), s.f.Time(c.CreatedAt), s.f.Time(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put consent: %w", s.translate(err))
	}
	return nil
}

// GetConsent returns a consent or storage.ErrNotFound.
func (s *Store) GetConsent(ctx context.Context, userID, clientID, audience string) (storage.Consent, error) {
	return selectOne(ctx, s, "get consent", func(r rowScanner) (c storage.Consent, err error) {
		return c, r.Scan(&c.UserID, &c.ClientID, &c.Audience, s.list(&c.Scope), at(&c.CreatedAt), at(&c.UpdatedAt))
	}, `SELECT user_id, client_id, audience, scope, created_at, updated_at FROM consents
		WHERE user_id = $1 AND client_id = $2 AND audience = $3`, userID, clientID, audience)
}

// CreateRefreshFamily stores a family with its first token, atomically.
func (s *Store) CreateRefreshFamily(ctx context.Context, f storage.RefreshFamily, first storage.RefreshToken) error {
	if first.FamilyID != "" && first.FamilyID != f.ID {
		return fmt.Errorf("create refresh family %q: token belongs to family %q", f.ID, first.FamilyID)
	}
	first.FamilyID = f.ID
	err := s.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO refresh_families (id, client_id, user_id, audience, scope, auth_time, created_at, expires_at, revoked_at, dpop_jkt)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, f.ID, f.ClientID, f.UserID, f.Audience, s.f.List(f.Scope),
			s.f.Time(f.AuthTime), s.f.Time(f.CreatedAt), s.f.Time(f.ExpiresAt), s.f.Time(f.RevokedAt), f.DPoPJKT); err != nil {
			return s.translate(err)
		}
		return s.insertRefresh(ctx, tx, first)
	})
	if err != nil {
		return fmt.Errorf("create refresh family: %w", err)
	}
	return nil
}

func (s *Store) insertRefresh(ctx context.Context, tx *sql.Tx, t storage.RefreshToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (id, family_id, created_at, expires_at, used_at, access_jti, access_expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.ID, t.FamilyID, s.f.Time(t.CreatedAt), s.f.Time(t.ExpiresAt), s.f.Time(t.UsedAt), t.AccessJTI, s.f.Time(t.AccessExpiresAt))
	return s.translate(err)
}

// denylistFamily puts on the denylist, in tx, every access token issued with
// a refresh token of the family that has not expired at when (RFC 7009 §2.1:
// revoking a refresh token SHOULD invalidate the access tokens of the same
// grant), each with its change; tx holds the change lock (write, changing).
func (s *Store) denylistFamily(ctx context.Context, tx *sql.Tx, familyID string, when time.Time) error {
	revs, err := queryAll(ctx, tx, func(r rowScanner) (storage.Revocation, error) {
		v := storage.Revocation{Kind: storage.RevokeToken, Before: when}
		return v, r.Scan(&v.Value, at(&v.ExpiresAt))
	}, `SELECT access_jti, access_expires_at FROM refresh_tokens
		WHERE family_id = $1 AND access_jti <> '' AND access_expires_at > $2`, familyID, s.f.Time(when))
	if err != nil {
		return err
	}
	for _, r := range revs {
		if err := s.revokeIn(ctx, tx, r); err != nil {
			return err
		}
	}
	return nil
}

const (
	refreshSelect = "SELECT id, family_id, created_at, expires_at, used_at, access_jti, access_expires_at FROM refresh_tokens WHERE id = $1"
	familySelect  = "SELECT id, client_id, user_id, audience, scope, auth_time, created_at, expires_at, revoked_at, dpop_jkt FROM refresh_families WHERE id = $1"
)

// GetRefreshToken returns a refresh token and its family, or
// storage.ErrNotFound.
func (s *Store) GetRefreshToken(ctx context.Context, id string) (storage.RefreshToken, storage.RefreshFamily, error) {
	var (
		t storage.RefreshToken
		f storage.RefreshFamily
	)
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		if t, err = queryOne(ctx, tx, scanRefresh, refreshSelect, id); err != nil {
			return err
		}
		f, err = queryOne(ctx, tx, s.scanFamily, familySelect, t.FamilyID)
		return err
	})
	if err != nil {
		return storage.RefreshToken{}, storage.RefreshFamily{}, fmt.Errorf("get refresh token: %w", err)
	}
	return t, f, nil
}

func scanRefresh(r rowScanner) (t storage.RefreshToken, err error) {
	return t, r.Scan(&t.ID, &t.FamilyID, at(&t.CreatedAt), at(&t.ExpiresAt), at(&t.UsedAt), &t.AccessJTI, at(&t.AccessExpiresAt))
}

func (s *Store) scanFamily(r rowScanner) (f storage.RefreshFamily, err error) {
	return f, r.Scan(&f.ID, &f.ClientID, &f.UserID, &f.Audience, s.list(&f.Scope),
		at(&f.AuthTime), at(&f.CreatedAt), at(&f.ExpiresAt), at(&f.RevokedAt), &f.DPoPJKT)
}

// RotateRefreshToken marks the token used and stores next in its family;
// the reuse of a used token revokes the family (storage.ErrConsumed), a
// revoked family's token is storage.ErrRevoked. The token and its family
// are read for update in a write transaction, so concurrent rotations take
// turns and all but the first revoke the family. The reuse's revocation is
// committed although the call fails.
func (s *Store) RotateRefreshToken(ctx context.Context, id string, next storage.RefreshToken, at time.Time) (storage.RefreshFamily, error) {
	var f storage.RefreshFamily
	var outcome error
	err := s.update(ctx, func(tx *sql.Tx) error {
		outcome = nil
		t, err := queryOne(ctx, tx, scanRefresh, refreshSelect+s.f.ForUpdate, id)
		if err != nil {
			return err
		}
		if f, err = queryOne(ctx, tx, s.scanFamily, familySelect+s.f.ForUpdate, t.FamilyID); err != nil {
			return err
		}
		switch {
		case !f.RevokedAt.IsZero():
			outcome = storage.ErrRevoked
			return nil
		case !t.UsedAt.IsZero():
			f.RevokedAt = at.Truncate(time.Microsecond).UTC()
			outcome = storage.ErrConsumed
			if _, err := tx.ExecContext(ctx, "UPDATE refresh_families SET revoked_at = $1 WHERE id = $2", s.f.Time(at), f.ID); err != nil {
				return err
			}
			return s.changing(ctx, tx, func(tx *sql.Tx) error { return s.denylistFamily(ctx, tx, f.ID, at) })
		}
		if _, err := tx.ExecContext(ctx, "UPDATE refresh_tokens SET used_at = $1 WHERE id = $2", s.f.Time(at), id); err != nil {
			return err
		}
		next.FamilyID = f.ID
		return s.insertRefresh(ctx, tx, next)
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
		n, err := affected(tx.ExecContext(ctx, "UPDATE refresh_families SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2", s.f.Time(at), familyID))
		switch {
		case err != nil:
			return err
		case n == 0:
			return storage.ErrNotFound
		}
		return s.denylistFamily(ctx, tx, familyID, at)
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
	err := s.update(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, q := range []string{
			"DELETE FROM login_sessions WHERE expires_at < $1",
			"DELETE FROM auth_codes WHERE expires_at < $1",
			"DELETE FROM refresh_families WHERE expires_at < $1 OR revoked_at < $1",
		} {
			k, err := affected(tx.ExecContext(ctx, q, s.f.Time(before)))
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
	err := s.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM login_sessions WHERE user_id = $1", userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE refresh_families SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL", s.f.Time(at), userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("end logins of user %q: %w", userID, err)
	}
	return nil
}
