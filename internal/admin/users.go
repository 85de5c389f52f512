package admin

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/secret"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/users"
)

// PasswordHasher turns a password into the hash that is stored (package
// users: argon2id).
type PasswordHasher interface {
	Hash(password string) (string, error)
}

var _ PasswordHasher = users.Hasher{}

// User limits. A password has at least MinPasswordLen characters (NIST SP
// 800-63B §3.1.1.2 asks for at least 8) and at most users.MaxPasswordLen
// bytes.
const (
	MinPasswordLen  = 8
	MaxEmailLen     = 254 // RFC 5321 §4.5.3.1.3 path limit, less the brackets
	MaxUserNameLen  = 255
	userIDRandomLen = 24
)

func (s *Service) passwords() PasswordHasher {
	if s.Passwords != nil {
		return s.Passwords
	}
	return users.Hasher{}
}

// UserInput describes a new user. Name defaults to the email, as Auth0
// does.
type UserInput struct {
	Email         string
	Name          string
	Password      string
	EmailVerified bool
}

// CreateUser validates in and stores the user with an argon2id hash of the
// password, reporting every problem at once. An email another user has,
// in any case, is storage.ErrAlreadyExists.
func (s *Service) CreateUser(ctx context.Context, in UserInput) (storage.User, error) {
	now := s.now()
	u := storage.User{
		Email: strings.TrimSpace(in.Email), Name: strings.TrimSpace(in.Name),
		EmailVerified: in.EmailVerified, CreatedAt: now, UpdatedAt: now,
	}
	if u.Name == "" {
		u.Name = u.Email
	}
	problems := checkUser(u)
	problems = append(problems, checkPassword(in.Password)...)
	if len(problems) > 0 {
		return storage.User{}, invalid("%s", strings.Join(problems, "; "))
	}
	switch _, err := s.Store.GetUserByEmail(ctx, u.Email); {
	case err == nil:
		return storage.User{}, describe(storage.ErrAlreadyExists, "a user with email %q already exists", u.Email)
	case !errors.Is(err, storage.ErrNotFound):
		return storage.User{}, fmt.Errorf("look up user: %w", err)
	}
	hash, err := s.passwords().Hash(in.Password)
	if err != nil {
		return storage.User{}, fmt.Errorf("hash password: %w", err)
	}
	u.PasswordHash = hash
	// Auth0 spells local user IDs auth0|<id>; ours are usr_<random>.
	if u.UserID, err = secret.ID(s.rand(), "usr_", userIDRandomLen); err != nil {
		return storage.User{}, err
	}
	if err := s.Store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return storage.User{}, describe(err, "a user with email %q already exists", u.Email)
		}
		return storage.User{}, fmt.Errorf("create user: %w", err)
	}
	s.record(ctx, storage.AuditUserCreated, u.UserID, nil)
	return u, nil
}

// checkUser reports every problem with the editable fields of u.
func checkUser(u storage.User) []string {
	var problems []string
	if err := ValidateEmail(u.Email); err != nil {
		problems = append(problems, err.Error())
	}
	if utf8.RuneCountInString(u.Name) > MaxUserNameLen {
		problems = append(problems, fmt.Sprintf("name is longer than %d characters", MaxUserNameLen))
	}
	if strings.ContainsFunc(u.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		problems = append(problems, "name must not contain control characters")
	}
	return problems
}

// ValidateEmail checks that email is one bare address (RFC 5322 §3.4.1
// addr-spec), such as alice@example.com, without a display name.
func ValidateEmail(email string) error {
	if email == "" {
		return errors.New("email is required")
	}
	if len(email) > MaxEmailLen {
		return fmt.Errorf("email is longer than %d characters", MaxEmailLen)
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		return fmt.Errorf("email %q must be an address such as alice@example.com", email)
	}
	return nil
}

// CheckUserInput reports what CreateUser would refuse in in before it looks
// at the store (every problem at once, ErrInvalid), so that a caller that
// creates other things first can refuse bad input before it changes
// anything.
func CheckUserInput(in UserInput) error {
	problems := checkUser(storage.User{Email: strings.TrimSpace(in.Email), Name: strings.TrimSpace(in.Name)})
	problems = append(problems, checkPassword(in.Password)...)
	if len(problems) > 0 {
		return invalid("%s", strings.Join(problems, "; "))
	}
	return nil
}

func checkPassword(pw string) []string {
	switch n := utf8.RuneCountInString(pw); {
	case n < MinPasswordLen:
		return []string{fmt.Sprintf("password must have at least %d characters", MinPasswordLen)}
	case len(pw) > users.MaxPasswordLen:
		return []string{fmt.Sprintf("password is longer than %d bytes", users.MaxPasswordLen)}
	}
	return nil
}

// GetUser returns a user by ID or, when ref contains '@', by email.
func (s *Service) GetUser(ctx context.Context, ref string) (storage.User, error) {
	if strings.Contains(ref, "@") {
		u, err := s.Store.GetUserByEmail(ctx, ref)
		return u, notFound(err, "user", ref)
	}
	u, err := s.Store.GetUser(ctx, ref)
	return u, notFound(err, "user", ref)
}

// DeleteUser deletes a user (by ID or email) with the user's sessions,
// consents and refresh tokens: their logins end.
func (s *Service) DeleteUser(ctx context.Context, ref string) error {
	u, err := s.GetUser(ctx, ref)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteUser(ctx, u.UserID); err != nil {
		return notFound(err, "user", ref)
	}
	s.record(ctx, storage.AuditUserDeleted, u.UserID, nil)
	return nil
}

// ListUsers lists the users by creation time (never their hashes: callers
// show views).
func (s *Service) ListUsers(ctx context.Context) ([]storage.User, error) {
	return s.Store.ListUsers(ctx)
}

// SetUserDisabled disables or enables a user (by ID or email) and returns
// it. A disabled user cannot log in; disabling ends the user's sessions and
// revokes the user's refresh tokens.
func (s *Service) SetUserDisabled(ctx context.Context, ref string, disabled bool) (storage.User, error) {
	u, err := s.GetUser(ctx, ref)
	if err != nil {
		return storage.User{}, err
	}
	u.Disabled, u.UpdatedAt = disabled, s.now()
	if err := s.Store.UpdateUser(ctx, u); err != nil {
		return storage.User{}, notFound(err, "user", ref)
	}
	action := storage.AuditUserEnabled
	if disabled {
		action = storage.AuditUserDisabled
		if err := s.Store.EndUserLogins(ctx, u.UserID, u.UpdatedAt); err != nil {
			return storage.User{}, fmt.Errorf("end the user's logins: %w", err)
		}
	}
	s.record(ctx, action, u.UserID, nil)
	return u, nil
}

// SetUserPassword replaces a user's password (by ID or email) under the
// rules of CreateUser, and ends the user's sessions and refresh tokens.
func (s *Service) SetUserPassword(ctx context.Context, ref, password string) (storage.User, error) {
	if problems := checkPassword(password); len(problems) > 0 {
		return storage.User{}, invalid("%s", strings.Join(problems, "; "))
	}
	u, err := s.GetUser(ctx, ref)
	if err != nil {
		return storage.User{}, err
	}
	if u.PasswordHash, err = s.passwords().Hash(password); err != nil {
		return storage.User{}, fmt.Errorf("hash password: %w", err)
	}
	u.UpdatedAt = s.now()
	if err := s.Store.UpdateUser(ctx, u); err != nil {
		return storage.User{}, notFound(err, "user", ref)
	}
	// A new password ends every login of the old one (sessions and
	// refresh tokens), as OWASP's session management asks.
	if err := s.Store.EndUserLogins(ctx, u.UserID, u.UpdatedAt); err != nil {
		return storage.User{}, fmt.Errorf("end the user's logins: %w", err)
	}
	s.record(ctx, storage.AuditUserPasswordSet, u.UserID, nil)
	return u, nil
}

// UserPatch changes some fields of a user; nil fields stay as they are.
type UserPatch struct {
	Name          *string
	EmailVerified *bool
}

// UpdateUser applies p to the user (by ID or email) under the rules of
// CreateUser and returns the user as stored.
func (s *Service) UpdateUser(ctx context.Context, ref string, p UserPatch) (storage.User, error) {
	u, err := s.GetUser(ctx, ref)
	if err != nil {
		return storage.User{}, err
	}
	if p.Name != nil {
		u.Name = strings.TrimSpace(*p.Name)
		if u.Name == "" {
			u.Name = u.Email
		}
	}
	if p.EmailVerified != nil {
		u.EmailVerified = *p.EmailVerified
	}
	if problems := checkUser(u); len(problems) > 0 {
		return storage.User{}, invalid("%s", strings.Join(problems, "; "))
	}
	u.UpdatedAt = s.now()
	if err := s.Store.UpdateUser(ctx, u); err != nil {
		return storage.User{}, notFound(err, "user", ref)
	}
	s.record(ctx, storage.AuditUserUpdated, u.UserID, nil)
	return u, nil
}
