package oauth2

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// userinfo returns the claims of the token's scopes (OIDC Core §5.3).
func (s *Service) userinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		if e := parseForm(w, r); e != nil {
			s.writeError(w, r, e)
			return
		}
	}
	ctx := r.Context()
	sc := s.scope(r)
	a, d, err := s.lookupToken(ctx, sc, kindAccess, bearer(r))
	if errors.Is(err, store.ErrNotFound) {
		s.writeError(w, r, errInvalidToken("the access token is invalid or expired"))
		return
	} else if err != nil {
		s.writeError(w, r, errServer(fmt.Errorf("userinfo: looking up the token: %w", err)))
		return
	}
	if !slices.Contains(d.Scopes, "openid") {
		s.writeError(w, r, oerr(403, "insufficient_scope", "the token was not granted the openid scope"))
		return
	}
	c, err := s.byClientID(ctx, sc, d.ClientID)
	if errors.Is(err, errNoClient) {
		s.writeError(w, r, errInvalidToken("the access token's client no longer exists"))
		return
	} else if err != nil {
		s.writeError(w, r, errServer(fmt.Errorf("userinfo: loading the client: %w", err)))
		return
	}
	knownClient(r, c)
	u, e := s.activeUser(ctx, sc, a.UserID)
	if e != nil && e.status >= http.StatusInternalServerError {
		s.writeError(w, r, e)
		return
	} else if e != nil {
		s.writeError(w, r, errInvalidToken("the user is inactive or no longer exists"))
		return
	}
	claims, err := s.claims(ctx, sc, c, u, d.Scopes, func(name string, err error) {
		s.event(r, sc, "property_mapping_exception", u, c, map[string]any{"mapping": name, "message": err.Error()})
	})
	if err != nil {
		s.writeError(w, r, errServer(fmt.Errorf("userinfo: building claims: %w", err)))
		return
	}
	claims["sub"] = subject(c, sc.TenantID(), u)
	writeJSON(w, claims)
}
