package oauth2

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// passwordGrant is the resource owner password grant (RFC 6749 §4.3) as
// Authentik has it: it never checks a real password at the token endpoint.
// The password is one of the user's app passwords, which client_credentials
// accepts too, so it is that grant under another name.
type passwordGrant struct{ clientCredentialsGrant }

// appPasswordGrant is a client_credentials or password request carrying a
// username and an app password.
func appPasswordGrant(r *http.Request) bool {
	gt := r.PostForm.Get("grant_type")
	return (gt == "client_credentials" || gt == "password") && r.PostForm.Get("username") != "" &&
		r.PostForm.Get("password") != ""
}

// appPasswordUser is the user whose app password came in the username and
// password fields of a client_credentials or password request.
func (s *Service) appPasswordUser(ctx context.Context, r *http.Request, sc store.Scope, c *client, username, password string) (*store.User, machineLogin, *Error) {
	if username == "" || password == "" {
		return nil, machineLogin{}, errInvalidRequest("username and password go together: the password is an app password of that user")
	}
	// The token is looked up by its secret and only then compared with the
	// username, so an unknown user and a wrong password take the same path
	// and get the same answer.
	t, u, err := s.Core.AuthenticateToken(ctx, sc, password, store.IntentAppPassword)
	if err != nil && !errors.Is(err, core.ErrBadToken) {
		return nil, machineLogin{}, errServer(fmt.Errorf("token: checking an app password: %w", err))
	}
	if err != nil || !strings.EqualFold(u.Username, username) {
		s.event(r, sc, "login_failed", nil, c, map[string]any{"username": username, "auth_method": "token"})
		return nil, machineLogin{}, errInvalidGrant("invalid username or app password")
	}
	return u, machineLogin{method: "token", args: map[string]any{"identifier": t.Identifier}, amr: []string{"pwd", "app_password"}}, nil
}
