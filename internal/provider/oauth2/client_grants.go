package oauth2

import (
	"context"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// clientGrants are client_credentials and password (placeholder until implemented).
func (s *Service) clientGrants() map[string]grantHandler { return map[string]grantHandler{} }

// authenticateAssertion authenticates a client by a JWT assertion (RFC 7523).
func (s *Service) authenticateAssertion(ctx context.Context, r *http.Request, sc store.Scope) (*client, *Error) {
	return nil, errInvalidClient("client assertions are not accepted yet")
}
