package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

const userColumns = "user_id, email, name, password_hash, email_verified, disabled, created_at, updated_at"

// CreateUser stores a new user; storage.ErrAlreadyExists if the user ID is
// taken or another user has the same email regardless of case. It appends
// nothing to the change feed, so it takes no change lock.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	_, err := s.exec(ctx,
		"INSERT INTO users (user_id, email, email_key, name, password_hash, email_verified, disabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		u.UserID, u.Email, storage.NormalizeEmail(u.Email), u.Name, u.PasswordHash, u.EmailVerified, u.Disabled,
		s.f.Time(u.CreatedAt), s.f.Time(u.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.UserID, s.translate(err))
	}
	return nil
}

// GetUser returns the user or storage.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, userID string) (storage.User, error) {
	return selectOne(ctx, s, fmt.Sprintf("get user %q", userID), scanUser,
		"SELECT "+userColumns+" FROM users WHERE user_id = $1", userID)
}

// GetUserByEmail returns the user whose email matches regardless of case,
// or storage.ErrNotFound.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (storage.User, error) {
	return selectOne(ctx, s, "get user by email", scanUser,
		"SELECT "+userColumns+" FROM users WHERE email_key = $1", storage.NormalizeEmail(email))
}

// ListUsers returns every user ordered by creation time, then user ID.
func (s *Store) ListUsers(ctx context.Context) ([]storage.User, error) {
	return selectAll(ctx, s, "list users", scanUser, "SELECT "+userColumns+" FROM users ORDER BY created_at, user_id")
}

// UpdateUser replaces every field of the user but its ID and creation
// time; storage.ErrNotFound if there is no such user,
// storage.ErrAlreadyExists if another user has the new email.
func (s *Store) UpdateUser(ctx context.Context, u storage.User) error {
	n, err := s.exec(ctx, `UPDATE users SET email = $1, email_key = $2, name = $3, password_hash = $4,
		email_verified = $5, disabled = $6, updated_at = $7 WHERE user_id = $8`,
		u.Email, storage.NormalizeEmail(u.Email), u.Name, u.PasswordHash, u.EmailVerified, u.Disabled,
		s.f.Time(u.UpdatedAt), u.UserID)
	if err == nil && n == 0 {
		err = storage.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("update user %q: %w", u.UserID, s.translate(err))
	}
	return nil
}

// DeleteUser deletes the user; its login sessions, codes, consents and
// refresh tokens go with it (ON DELETE CASCADE). storage.ErrNotFound if
// there is no such user. It appends nothing to the change feed.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	n, err := s.exec(ctx, "DELETE FROM users WHERE user_id = $1", userID)
	if err == nil && n == 0 {
		err = storage.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete user %q: %w", userID, s.translate(err))
	}
	return nil
}

func scanUser(r rowScanner) (storage.User, error) {
	var u storage.User
	err := r.Scan(&u.UserID, &u.Email, &u.Name, &u.PasswordHash, &u.EmailVerified, &u.Disabled,
		at(&u.CreatedAt), at(&u.UpdatedAt))
	return u, err
}
