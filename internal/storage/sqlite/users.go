package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const userColumns = "user_id, email, name, password_hash, email_verified, disabled, created_at, updated_at"

// CreateUser stores a new user; storage.ErrAlreadyExists if the user ID is
// taken or another user has the same email regardless of case. It appends
// nothing to the change feed.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			"INSERT INTO users (user_id, email, email_key, name, password_hash, email_verified, disabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			u.UserID, u.Email, storage.NormalizeEmail(u.Email), u.Name, u.PasswordHash, u.EmailVerified, u.Disabled,
			toMicros(u.CreatedAt), toMicros(u.UpdatedAt))
		return translate(err)
	})
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.UserID, err)
	}
	return nil
}

// GetUser returns the user or storage.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, userID string) (storage.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE user_id = ?", userID))
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	if err != nil {
		return storage.User{}, fmt.Errorf("get user %q: %w", userID, err)
	}
	return u, nil
}

// GetUserByEmail returns the user whose email matches regardless of case,
// or storage.ErrNotFound.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (storage.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE email_key = ?",
		storage.NormalizeEmail(email)))
	if errors.Is(err, sql.ErrNoRows) {
		err = storage.ErrNotFound
	}
	if err != nil {
		return storage.User{}, fmt.Errorf("get user by email: %w", err)
	}
	return u, nil
}

// ListUsers returns every user ordered by creation time, then user ID.
func (s *Store) ListUsers(ctx context.Context) ([]storage.User, error) {
	out, err := queryAll(ctx, s.db, scanUser, "SELECT "+userColumns+" FROM users ORDER BY created_at, user_id")
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UpdateUser replaces every field of the user but its ID and creation
// time; storage.ErrNotFound if there is no such user,
// storage.ErrAlreadyExists if another user has the new email.
func (s *Store) UpdateUser(ctx context.Context, u storage.User) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET email = ?, email_key = ?, name = ?, password_hash = ?,
			email_verified = ?, disabled = ?, updated_at = ? WHERE user_id = ?`,
			u.Email, storage.NormalizeEmail(u.Email), u.Name, u.PasswordHash, u.EmailVerified, u.Disabled,
			toMicros(u.UpdatedAt), u.UserID)
		if err != nil {
			return translate(err)
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("update user %q: %w", u.UserID, err)
	}
	return nil
}

func scanUser(r rowScanner) (storage.User, error) {
	var (
		u                storage.User
		created, updated sql.NullInt64
	)
	if err := r.Scan(&u.UserID, &u.Email, &u.Name, &u.PasswordHash, &u.EmailVerified, &u.Disabled,
		&created, &updated); err != nil {
		return storage.User{}, err
	}
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	return u, nil
}
