package mgmt

import (
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

var userRes = resource{conflict: CodeUserConflict}

// User is a user in Auth0's shape: blocked is gatehouse's disabled. The
// password hash is never shown.
type User struct {
	UserID        string  `json:"user_id"`
	Email         string  `json:"email"`
	EmailVerified bool    `json:"email_verified"`
	Name          string  `json:"name"`
	Blocked       bool    `json:"blocked"`
	CreatedAt     *string `json:"created_at"`
	UpdatedAt     *string `json:"updated_at"`
}

func viewUser(u storage.User) User {
	return User{UserID: u.UserID, Email: u.Email, EmailVerified: u.EmailVerified, Name: u.Name, Blocked: u.Disabled,
		CreatedAt: ts(u.CreatedAt), UpdatedAt: ts(u.UpdatedAt)}
}

// userInput is the body of POST and PATCH /users. connection is accepted
// for Auth0's callers, and must name the one database connection there is
// when given.
type userInput struct {
	Email         *string `json:"email"`
	Password      *string `json:"password"`
	Name          *string `json:"name"`
	EmailVerified *bool   `json:"email_verified"`
	Blocked       *bool   `json:"blocked"`
	Connection    *string `json:"connection"`
}

// Connection is the name of gatehouse's one user store as Auth0 callers
// name a database connection.
const Connection = "Username-Password-Authentication"

func (in userInput) checkConnection() []string {
	if in.Connection != nil && *in.Connection != Connection {
		return []string{`connection must be "` + Connection + `" (the one user store)`}
	}
	return nil
}

func (h *Handler) listUsers(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	return listing[storage.User, User]{
		key: "users", load: h.store().ListUsers, view: viewUser,
		cursor: func(u storage.User) string { return timeCursor(u.CreatedAt, u.UserID) },
	}.serve(r)
}

func (h *Handler) createUser(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in userInput
	if err := decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	problems := in.checkConnection()
	if in.Email == nil {
		problems = append(problems, `field "email" is required`)
	}
	if in.Password == nil {
		problems = append(problems, `field "password" is required`)
	}
	if in.Blocked != nil && *in.Blocked {
		problems = append(problems, "a user is created unblocked; block it with PATCH")
	}
	if len(problems) > 0 {
		return 0, nil, badBody(strings.Join(problems, "; "))
	}
	ui := admin.UserInput{Email: *in.Email, Password: *in.Password}
	if in.Name != nil {
		ui.Name = *in.Name
	}
	if in.EmailVerified != nil {
		ui.EmailVerified = *in.EmailVerified
	}
	u, err := h.svc().CreateUser(r.Context(), ui)
	if err != nil {
		return 0, nil, translate(err, userRes)
	}
	return one(r, http.StatusCreated, viewUser(u))
}

// deleteUser deletes a user with the user's logins, as Auth0's DELETE
// /users/{id}: 204 whether or not the user existed.
func (h *Handler) deleteUser(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	return deleted(h.svc().DeleteUser(r.Context(), r.PathValue("id")))
}

func (h *Handler) getUser(r *http.Request, _ http.ResponseWriter) (int, any, *Error) {
	u, err := h.svc().GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, translate(err, userRes)
	}
	return one(r, http.StatusOK, viewUser(u))
}

// updateUser changes name and email_verified, blocks or unblocks, and sets
// a new password (which ends the user's logins).
func (h *Handler) updateUser(r *http.Request, w http.ResponseWriter) (int, any, *Error) {
	var in userInput
	if err := decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	problems := in.checkConnection()
	if in.Email != nil {
		problems = append(problems, "email cannot be changed")
	}
	if len(problems) > 0 {
		return 0, nil, badBody(strings.Join(problems, "; "))
	}
	id := r.PathValue("id")
	if _, err := h.svc().GetUser(r.Context(), id); err != nil {
		return 0, nil, translate(err, userRes)
	}
	if in.Password != nil {
		if _, err := h.svc().SetUserPassword(r.Context(), id, *in.Password); err != nil {
			return 0, nil, translate(err, userRes)
		}
	}
	if in.Name != nil || in.EmailVerified != nil {
		if _, err := h.svc().UpdateUser(r.Context(), id, admin.UserPatch{Name: in.Name, EmailVerified: in.EmailVerified}); err != nil {
			return 0, nil, translate(err, userRes)
		}
	}
	if in.Blocked != nil {
		if _, err := h.svc().SetUserDisabled(r.Context(), id, *in.Blocked); err != nil {
			return 0, nil, translate(err, userRes)
		}
	}
	u, err := h.svc().GetUser(r.Context(), id)
	if err != nil {
		return 0, nil, translate(err, userRes)
	}
	return one(r, http.StatusOK, viewUser(u))
}
