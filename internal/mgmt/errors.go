package mgmt

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/keys"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Error codes of the errorCode field. Where Auth0 has one for the case it
// is Auth0's; the token errors are RFC 6750 §3.1's.
const (
	CodeInvalidBody        = "invalid_body"
	CodeInvalidQuery       = "invalid_query_string"
	CodeInvalidToken       = "invalid_token"
	CodeInsufficientScope  = "insufficient_scope"
	CodeNotFound           = "inexistent_resource"
	CodeMethodNotAllowed   = "method_not_allowed"
	CodeTooLarge           = "payload_too_large"
	CodeNotSupported       = "operation_not_supported"
	CodeRotationRefused    = "rotation_refused"
	CodeServerError        = "internal_error"
	CodeUnavailable        = "temporarily_unavailable"
	CodeClientConflict     = "client_conflict"
	CodeResourceConflict   = "resource_server_conflict"
	CodeGrantConflict      = "client_grant_conflict"
	CodeKeyConflict        = "signing_key_conflict"
	CodeRoleConflict       = "role_conflict"
	codeInexistentClient   = "inexistent_client"
	codeInexistentResource = "inexistent_resource_server"
	codeInexistentGrant    = "inexistent_client_grant"
	codeInexistentSecret   = "inexistent_client_secret"
	codeInexistentUser     = "inexistent_user"
	codeInexistentRole     = "inexistent_role"
	CodeUserConflict       = "user_exists" // Auth0's errorCode for a taken email
)

// Error is a management API error: the status, Auth0's errorCode and a
// message for the caller. Cause, if set, is logged and never sent.
type Error struct {
	Status  int
	Code    string
	Message string
	// Challenge is the WWW-Authenticate header (RFC 6750 §3) of a 401 or 403.
	Challenge string
	Header    http.Header
	Cause     error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Cause }

func newError(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

func badBody(msg string) *Error  { return newError(http.StatusBadRequest, CodeInvalidBody, msg) }
func badQuery(msg string) *Error { return newError(http.StatusBadRequest, CodeInvalidQuery, msg) }

// errorBody is Auth0's error shape.
type errorBody struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
	ErrorCode  string `json:"errorCode,omitempty"`
}

// resource says how a route names its errors: the errorCode of a conflict.
type resource struct {
	conflict string
}

// RetryAfter is the Retry-After (RFC 9110 §10.2.3) of a 503 answered while
// the database is unreachable, in seconds: outages of a restart or a
// failover end within seconds.
const RetryAfter = "2"

// translate turns an error of the admin service or the store into an
// *Error: invalid input is 400, not found 404, already exists 409, an
// unreachable database 503 with Retry-After, and anything else a 500
// whose cause is logged only.
func translate(err error, res resource) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, storage.ErrUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
			Message: "the database is unreachable; try again later",
			Header:  http.Header{"Retry-After": {RetryAfter}}, Cause: err}
	case errors.Is(err, admin.ErrInvalid):
		return badBody(err.Error())
	case errors.Is(err, storage.ErrNotFound):
		code := CodeNotFound
		switch admin.NotFoundKind(err) {
		case "client":
			code = codeInexistentClient
		case "API":
			code = codeInexistentResource
		case "grant":
			code = codeInexistentGrant
		case "secret":
			code = codeInexistentSecret
		case "user":
			code = codeInexistentUser
		case "role":
			code = codeInexistentRole
		}
		return newError(http.StatusNotFound, code, err.Error())
	case errors.Is(err, storage.ErrAlreadyExists) && res.conflict != "":
		return newError(http.StatusConflict, res.conflict, err.Error())
	case errors.Is(err, keys.ErrRotateTooSoon), errors.Is(err, keys.ErrNoCurrentKey):
		return newError(http.StatusConflict, CodeRotationRefused, err.Error())
	case errors.Is(err, storage.ErrAlreadyExists):
		return newError(http.StatusConflict, CodeKeyConflict, "another change was made at the same time; try again")
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeServerError, Message: "the server could not process the request", Cause: err}
}

// writeError writes e in Auth0's error shape.
func writeError(w http.ResponseWriter, log *slog.Logger, e *Error) {
	if e.Status >= 500 {
		log.Error("management request failed", "error", e.Code, "cause", e.Cause)
	}
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	if e.Challenge != "" {
		h.Set("WWW-Authenticate", e.Challenge)
	}
	writeJSON(w, e.Status, errorBody{StatusCode: e.Status, Error: http.StatusText(e.Status), Message: e.Message, ErrorCode: e.Code})
}

// writeJSON writes v with the no-store caching of responses that may carry
// credentials (RFC 6749 §5.1); nil writes no body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if v == nil {
		w.WriteHeader(status)
		return
	}
	body, err := json.Marshal(v)
	if err != nil { // only values we build reach here
		status, body = http.StatusInternalServerError, []byte(`{"statusCode":500,"error":"Internal Server Error","message":"the server could not process the request","errorCode":"internal_error"}`)
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
