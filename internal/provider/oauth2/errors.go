package oauth2

import (
	"encoding/json"
	"net/http"
)

// Error is an RFC 6749 error. Grants and endpoints return it as a value;
// one writer turns it into JSON.
type Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	status      int
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

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
func errServer() *Error {
	return oerr(500, "server_error", "The server could not complete the request.")
}

// writeError writes e as RFC 6749 JSON, never cached. invalid_client over
// HTTP Basic also asks for Basic credentials (RFC 6749 §5.2).
func writeError(w http.ResponseWriter, r *http.Request, e *Error) {
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

// writeJSON writes a successful token-endpoint style answer.
func writeJSON(w http.ResponseWriter, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	json.NewEncoder(w).Encode(v)
}
