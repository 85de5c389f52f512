package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const userColumns = "user_id, email, name, password_hash, email_verified, disabled, created_at, updated_at"

// CreateUser stores a new user; storage.ErrAlreadyExists if the user ID is
// taken or another user has the same email regardless of case. It appends
// nothing to the change feed, so it does not take the change lock.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	err := s.retry(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx,
			"INSERT INTO users (user_id, email, email_key, name, password_hash, email_verified, disabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
			u.UserID, u.Email, storage.NormalizeEmail(u.Email), u.Name, u.PasswordHash, u.EmailVerified, u.Disabled,
			ts(u.CreatedAt), ts(u.UpdatedAt))
		return translate(err)
	})
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.UserID, err)
	}
	return nil
}

// GetUser returns the user or storage.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, userID string) (storage.User, error) {
	u, err := queryOne(ctx, s.pool, scanUser, "SELECT "+userColumns+" FROM users WHERE user_id = $1", userID)
	if err != nil {
		return storage.User{}, fmt.Errorf("get user %q: %w", userID, err)
	}
	return u, nil
}

// GetUserByEmail returns the user whose email matches regardless of case,
// or storage.ErrNotFound.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (storage.User, error) {
	u, err := queryOne(ctx, s.pool, scanUser, "SELECT "+userColumns+" FROM users WHERE email_key = $1",
		storage.NormalizeEmail(email))
	if err != nil {
		return storage.User{}, fmt.Errorf("get user by email: %w", err)
	}
	return u, nil
}

// ListUsers returns every user ordered by creation time, then user ID;
// users without a creation time come last.
func (s *Store) ListUsers(ctx context.Context) ([]storage.User, error) {
	out, err := queryAll(ctx, s.pool, scanUser, "SELECT "+userColumns+" FROM users ORDER BY created_at, user_id")
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UpdateUser replaces every field of the user but its ID and creation
// time; storage.ErrNotFound if there is no such user,
// storage.ErrAlreadyExists if another user has the new email.
func (s *Store) UpdateUser(ctx context.Context, u storage.User) error {
	err := s.retry(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET email = $1, email_key = $2, name = $3, password_hash = $4,
			email_verified = $5, disabled = $6, updated_at = $7 WHERE user_id = $8`,
			u.Email, storage.NormalizeEmail(u.Email), u.Name, u.PasswordHash, u.EmailVerified, u.Disabled,
			ts(u.UpdatedAt), u.UserID)
		if err != nil {
			return translate(err)
		}
		return mustAffect(tag)
	})
	if err != nil {
		return fmt.Errorf("update user %q: %w", u.UserID, err)
	}
	return nil
}

func scanUser(r pgx.Row) (storage.User, error) {
	var (
		u                storage.User
		created, updated *time.Time
	)
	if err := r.Scan(&u.UserID, &u.Email, &u.Name, &u.PasswordHash, &u.EmailVerified, &u.Disabled,
		&created, &updated); err != nil {
		return storage.User{}, err
	}
	u.CreatedAt, u.UpdatedAt = fromTS(created), fromTS(updated)
	return u, nil
}
