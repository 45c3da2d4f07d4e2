package oauth2

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// clientCredentials extracts client_id and client_secret from HTTP Basic
// (form-urlencoded inside, RFC 6749 §2.3.1) or the body; both at once is
// an error.
func clientCredentials(r *http.Request) (id, secret string, basic bool, e *Error) {
	if u, p, ok := r.BasicAuth(); ok {
		if r.PostForm.Get("client_secret") != "" {
			return "", "", false, errInvalidRequest("use one client authentication method, not several")
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(u)
		secret, err2 = url.QueryUnescape(p)
		if err1 != nil || err2 != nil {
			return "", "", false, errInvalidClient("malformed Basic credentials")
		}
		if f := r.PostForm.Get("client_id"); f != "" && f != id {
			return "", "", false, errInvalidRequest("client_id differs from the Basic credentials")
		}
		return id, secret, true, nil
	}
	return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), false, nil
}

// authenticateClient identifies the client of a token-endpoint request.
// Confidential clients must prove themselves (secret or assertion); public
// clients are identified by client_id alone and rely on PKCE.
func (s *Service) authenticateClient(ctx context.Context, r *http.Request, sc store.Scope) (*client, *Error) {
	if r.PostForm.Get("client_assertion_type") != "" || r.PostForm.Get("client_assertion") != "" {
		return s.authenticateAssertion(ctx, r, sc)
	}
	id, secret, basic, e := clientCredentials(r)
	if e != nil {
		return nil, e
	}
	if id == "" {
		return nil, errInvalidClient("client authentication is required")
	}
	c, err := s.byClientID(ctx, sc, id)
	if err != nil {
		if !errors.Is(err, errNoClient) {
			return nil, errServer(fmt.Errorf("token: loading client: %w", err))
		}
		return nil, errInvalidClient("client authentication failed")
	}
	if c.cfg.Public() {
		return c, nil
	}
	if secret == "" && appPasswordGrant(r) {
		// Authentik's machine login: the user's app password, checked by
		// the grant, authenticates the request instead of the secret.
		return c, nil
	}
	switch m := c.cfg.TokenEndpointAuthMethod; {
	case m == "private_key_jwt" || m == "client_secret_jwt":
		return nil, errInvalidClient("this client authenticates with a " + m + " client assertion, not its secret")
	case m == "client_secret_basic" && !basic, m == "client_secret_post" && basic:
		return nil, errInvalidClient("this client must authenticate with " + m)
	}
	if secret == "" || c.secret == "" || !crypto.Equal(secret, c.secret) {
		return nil, errInvalidClient("client authentication failed")
	}
	return c, nil
}
