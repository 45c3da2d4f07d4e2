package oauth2

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// revoke is /application/o/revoke/ (RFC 7009). The answer is 200 whether
// or not anything was revoked (§2.2): an unknown token, one already
// revoked and another client's look alike, so the endpoint cannot be used
// to test tokens. Public clients identify themselves by client_id alone,
// as at the token endpoint; holding the token is the proof §2.1 asks.
func (s *Service) revoke(w http.ResponseWriter, r *http.Request) {
	sc, c, ok := s.clientRequest(w, r, s.authenticateClient)
	if !ok {
		return
	}
	ctx := r.Context()
	value := r.PostForm.Get("token")
	if value == "" {
		s.writeError(w, r, errInvalidRequest("token is required"))
		return
	}
	a, _, kind, err := s.findToken(ctx, sc, value, r.PostForm.Get("token_type_hint"))
	if err != nil {
		s.writeError(w, r, errServer(fmt.Errorf("revoke: looking up a token: %w", err)))
		return
	}
	if a != nil && a.ProviderID == c.provider.ID {
		if kind == kindRefresh {
			// §2.1: revoking a refresh token ends its grant, so the access
			// tokens it produced (and its rotated successors) die with it.
			_, err = sc.Artifacts().ConsumeGrant(ctx, a.GrantID, s.Now())
		} else {
			err = sc.Artifacts().Consume(ctx, a.ID, s.Now())
		}
		if err != nil && !isGone(err) {
			s.writeError(w, r, errServer(fmt.Errorf("revoke: revoking a token: %w", err)))
			return
		}
	}
	writeJSON(w, struct{}{})
}

// isGone reports that another request revoked or deleted the artifact
// first: what the caller wanted is done.
func isGone(err error) bool {
	return errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound)
}
