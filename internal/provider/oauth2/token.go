package oauth2

import (
	"context"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// token is /application/o/token/: the request is parsed once, the client
// authenticated once, and the grant returns its error as a value.
func (s *Service) token(w http.ResponseWriter, r *http.Request) {
	if e := parseForm(w, r); e != nil {
		s.writeError(w, r, e)
		return
	}
	g, ok := s.grants.byType[r.PostForm.Get("grant_type")]
	if !ok {
		s.writeError(w, r, errUnsupportedGrant("grant_type must be one of: "+s.grants.supported))
		return
	}
	ctx := r.Context()
	sc := s.scope(r)
	c, e := s.authenticateClient(ctx, r, sc)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	knownClient(r, c)
	resp, e := g.token(ctx, r, sc, c)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	writeJSON(w, resp)
}

// clientRequest parses a client endpoint's form and authenticates the
// client with auth, answering errors as RFC 6749 JSON itself; ok is false
// when it did.
func (s *Service) clientRequest(w http.ResponseWriter, r *http.Request,
	auth func(context.Context, *http.Request, store.Scope) (*client, *Error)) (sc store.Scope, c *client, ok bool) {
	if e := parseForm(w, r); e != nil {
		s.writeError(w, r, e)
		return nil, nil, false
	}
	sc = s.scope(r)
	c, e := auth(r.Context(), r, sc)
	if e != nil {
		s.writeError(w, r, e)
		return nil, nil, false
	}
	knownClient(r, c)
	return sc, c, true
}
