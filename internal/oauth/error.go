package oauth

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Error codes of RFC 6749 §5.2, RFC 8707 §2 and RFC 6750 §3.1.
const (
	CodeInvalidRequest       = "invalid_request"
	CodeInvalidClient        = "invalid_client"
	CodeInvalidGrant         = "invalid_grant"
	CodeUnauthorizedClient   = "unauthorized_client"
	CodeUnsupportedGrantType = "unsupported_grant_type"
	CodeInvalidScope         = "invalid_scope"
	CodeInvalidTarget        = "invalid_target"
	CodeAccessDenied         = "access_denied"
	CodeServerError          = "server_error"
	CodeTooManyRequests      = "too_many_requests"
)

// Error is an OAuth 2.0 protocol error (RFC 6749 §5.2). Handlers return it;
// only the endpoint writes it (see WriteError). Cause, if set, is logged by
// the writer and never shown to the client.
type Error struct {
	Code        string
	Description string
	Status      int
	// RetryAfter, when positive, is sent as the Retry-After header (429).
	RetryAfter time.Duration
	// Challenge, when set, is sent as the WWW-Authenticate header
	// (RFC 6749 §5.2: a 401 for a client that used HTTP Basic).
	Challenge string
	// Header holds further response headers (e.g. Allow on a 405).
	Header http.Header
	Cause  error
}

func (e *Error) Error() string {
	if e.Description == "" {
		return e.Code
	}
	return e.Code + ": " + e.Description
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Cause }

func newError(status int, code, desc string) *Error {
	return &Error{Code: code, Description: desc, Status: status}
}

// InvalidRequest is RFC 6749 §5.2 invalid_request (400).
func InvalidRequest(desc string) *Error {
	return newError(http.StatusBadRequest, CodeInvalidRequest, desc)
}

// InvalidClient is RFC 6749 §5.2 invalid_client (401).
func InvalidClient(desc string) *Error {
	return newError(http.StatusUnauthorized, CodeInvalidClient, desc)
}

// UnauthorizedClient is RFC 6749 §5.2 unauthorized_client (400).
func UnauthorizedClient(desc string) *Error {
	return newError(http.StatusBadRequest, CodeUnauthorizedClient, desc)
}

// UnsupportedGrantType is RFC 6749 §5.2 unsupported_grant_type (400).
func UnsupportedGrantType(desc string) *Error {
	return newError(http.StatusBadRequest, CodeUnsupportedGrantType, desc)
}

// InvalidScope is RFC 6749 §5.2 invalid_scope (400).
func InvalidScope(desc string) *Error {
	return newError(http.StatusBadRequest, CodeInvalidScope, desc)
}

// InvalidTarget is RFC 8707 §2 invalid_target (400).
func InvalidTarget(desc string) *Error {
	return newError(http.StatusBadRequest, CodeInvalidTarget, desc)
}

// ValidResource reports, as an invalid_target, a resource indicator that is
// not an absolute URI without a fragment (RFC 8707 §2). An API whose
// identifier is not a URI is reached with the audience parameter instead.
func ValidResource(resource string) *Error {
	u, err := url.Parse(resource)
	if err != nil || u.Scheme == "" || u.Fragment != "" || strings.Contains(resource, "#") {
		return InvalidTarget("the resource " + strconv.Quote(resource) + " must be an absolute URI without a fragment (RFC 8707 §2); ask for an API whose identifier is not a URI with the audience parameter")
	}
	return nil
}

// AccessDenied is access_denied (403), as Auth0 answers a client that has no
// grant for the requested API.
func AccessDenied(desc string) *Error {
	return newError(http.StatusForbidden, CodeAccessDenied, desc)
}

// MethodNotAllowed is a 405 invalid_request with the Allow header.
func MethodNotAllowed(allow string) *Error {
	e := newError(http.StatusMethodNotAllowed, CodeInvalidRequest, "the method must be "+allow)
	e.Header = http.Header{"Allow": {allow}}
	return e
}

// ServerError is server_error (500); cause is logged, never shown.
func ServerError(cause error) *Error {
	e := newError(http.StatusInternalServerError, CodeServerError, "the server could not process the request")
	e.Cause = cause
	return e
}

// SetNoStore sets the caching headers that RFC 6749 §5.1 requires on every
// response carrying tokens or credentials.
func SetNoStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// WriteJSON writes v as a JSON response with the given status and no-store
// caching headers.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // only values we build reach here
		status, body = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	SetNoStore(h)
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// WriteError writes err as an RFC 6749 §5.2 error response. An error that is
// not an *Error becomes server_error; its text and any Cause are logged on
// log, never sent.
func WriteError(w http.ResponseWriter, log *slog.Logger, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = ServerError(err)
	}
	if e.Status >= 500 && log != nil {
		log.Error("request failed", "error", e.Code, "cause", e.Cause)
	}
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	if e.Challenge != "" {
		h.Set("WWW-Authenticate", e.Challenge)
	}
	if e.RetryAfter > 0 {
		secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	WriteJSON(w, status, errorBody{Error: e.Code, Description: e.Description})
}
