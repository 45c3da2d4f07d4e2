package oauth2

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// Error is an RFC 6749 error. Grants and endpoints return it as a value;
// one writer (Service.writeError) turns it into JSON.
type Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	status      int
	// cause is why a server_error happened: logged, never sent.
	cause error
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// Unwrap is the cause of a server_error.
func (e *Error) Unwrap() error { return e.cause }

func oerr(status int, code, desc string) *Error {
	return &Error{Code: code, Description: desc, status: status}
}

// The errors of RFC 6749 §5.2 and its extensions.
func errInvalidRequest(d string) *Error   { return oerr(400, "invalid_request", d) }
func errInvalidClient(d string) *Error    { return oerr(401, "invalid_client", d) }
func errInvalidGrant(d string) *Error     { return oerr(400, "invalid_grant", d) }
func errUnauthorized(d string) *Error     { return oerr(400, "unauthorized_client", d) }
func errUnsupportedGrant(d string) *Error { return oerr(400, "unsupported_grant_type", d) }
func errInvalidScope(d string) *Error     { return oerr(400, "invalid_scope", d) }
func errAccessDenied(d string) *Error     { return oerr(403, "access_denied", d) }
func errInvalidToken(d string) *Error     { return oerr(401, "invalid_token", d) }

// errServer is a server_error caused by cause. The cause is required: a
// 500 that nobody can explain afterwards is the bug this type prevents.
// The client sees the same fixed text whatever the cause.
func errServer(cause error) *Error {
	e := oerr(500, "server_error", "The server could not complete the request.")
	e.cause = cause
	return e
}

// writeError writes e as RFC 6749 JSON, never cached. invalid_client over
// HTTP Basic also asks for Basic credentials (RFC 6749 §5.2). It is the one
// place a server_error is logged, with its cause and the request ID the
// client sees in X-Request-Id.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, e *Error) {
	if e.status >= http.StatusInternalServerError {
		s.logError(r.Context(), "oauth2: "+e.Code, e.cause, "route", r.Pattern)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if e.status == http.StatusUnauthorized {
		if e.Code == "invalid_token" {
			h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		} else if _, _, ok := r.BasicAuth(); ok {
			h.Set("WWW-Authenticate", `Basic realm="gatehouse"`)
		}
	}
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(e)
}

// logError logs a failure with the request ID, so that the line can be
// found from what the user or client saw.
func (s *Service) logError(ctx context.Context, msg string, err error, attrs ...any) {
	s.Log.ErrorContext(ctx, msg, append([]any{"request_id", httpx.From(ctx).RequestID, "error", err}, attrs...)...)
}

// writeJSON writes a successful token-endpoint style answer.
func writeJSON(w http.ResponseWriter, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	json.NewEncoder(w).Encode(v)
}
