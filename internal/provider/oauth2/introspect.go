package oauth2

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// introspection is an RFC 7662 §2.2 answer. Beside the registered members
// it carries the ID-token claims Authentik returns (auth_time, acr, amr,
// sid), so resource servers written against Authentik find them.
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       string   `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	JTI       string   `json:"jti,omitempty"`
	AuthTime  int64    `json:"auth_time,omitempty"`
	ACR       string   `json:"acr,omitempty"`
	AMR       []string `json:"amr,omitempty"`
	SID       string   `json:"sid,omitempty"`
}

// introspect is /application/o/introspect/ (RFC 7662). Every token the
// caller may not see gets the same {"active":false}: telling "expired"
// from "another client's" would let a client probe tokens it does not own.
func (s *Service) introspect(w http.ResponseWriter, r *http.Request) {
	sc, c, ok := s.clientRequest(w, r, s.introspector)
	if !ok {
		return
	}
	ctx := r.Context()
	value := r.PostForm.Get("token")
	if value == "" {
		s.writeError(w, r, errInvalidRequest("token is required"))
		return
	}
	a, d, kind, err := s.findToken(ctx, sc, value, r.PostForm.Get("token_type_hint"))
	if err != nil {
		s.writeError(w, r, errServer(fmt.Errorf("introspect: looking up a token: %w", err)))
		return
	}
	if a == nil || a.ProviderID != c.provider.ID {
		writeJSON(w, introspection{})
		return
	}
	u, e := s.activeUser(ctx, sc, a.UserID)
	if e != nil {
		writeJSON(w, introspection{})
		return
	}
	out := introspection{Active: true, Scope: strings.Join(d.Scopes, " "), ClientID: c.provider.ClientID,
		Username: u.Username, Exp: a.Expires.Unix(), Iat: a.CreatedAt.Unix(), Sub: subject(c, sc.TenantID(), u),
		Aud: c.provider.ClientID, Iss: s.issuer(r, c), AMR: d.AMR, SID: sidFor(a.SessionID)}
	if kind == kindAccess {
		// RFC 7662 takes token_type from RFC 6749 §7.1, which types access
		// tokens only.
		out.TokenType, out.JTI = "Bearer", d.JTI
	}
	if !d.AuthTime.IsZero() {
		out.AuthTime, out.ACR = d.AuthTime.Unix(), ACR
	}
	writeJSON(w, out)
}

// introspector authenticates the caller: a confidential client with its
// credentials or assertion, or with an access token it obtained for itself
// through client_credentials (RFC 7662 §2.1 allows a bearer token). Public
// clients cannot prove who they are, so they may not read token contents.
func (s *Service) introspector(ctx context.Context, r *http.Request, sc store.Scope) (*client, *Error) {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return s.bearerClient(ctx, sc, bearer(r))
	}
	c, e := s.authenticateClient(ctx, r, sc)
	if e != nil {
		return nil, e
	}
	if c.cfg.Public() {
		return nil, errInvalidClient("public clients cannot introspect tokens; use a confidential client")
	}
	return c, nil
}

// bearerClient is the client whose own service-account token this is. A
// token a user obtained through the client does not count: a resource
// server receiving users' tokens could otherwise read every other token of
// that client.
func (s *Service) bearerClient(ctx context.Context, sc store.Scope, value string) (*client, *Error) {
	refused := errInvalidToken("the bearer token must be a live access token the client obtained for itself with client_credentials")
	a, d, err := s.lookupToken(ctx, sc, kindAccess, value)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refused
	}
	if err != nil {
		return nil, errServer(fmt.Errorf("introspect: looking up the bearer token: %w", err))
	}
	c, err := s.byClientID(ctx, sc, d.ClientID)
	if err != nil && !errors.Is(err, errNoClient) {
		return nil, errServer(fmt.Errorf("introspect: loading the bearer token's client: %w", err))
	}
	if err != nil || c.cfg.Public() || c.provider.ID != a.ProviderID {
		return nil, refused
	}
	u, e := s.activeUser(ctx, sc, a.UserID)
	if e != nil || u.Attributes[attrClientOf] != c.provider.ID.String() {
		return nil, refused
	}
	return c, nil
}

// findToken finds a live access or refresh token, trying the hinted kind
// first. Unknown hints are ignored, as RFC 7009 §2.1 and RFC 7662 §2.1
// allow: the server searches all kinds anyway. A token that is unknown,
// expired or revoked is (nil, nil, "", nil).
func (s *Service) findToken(ctx context.Context, sc store.Scope, value, hint string) (*store.Artifact, *tokenData, string, error) {
	kinds := []string{kindAccess, kindRefresh}
	if hint == "refresh_token" {
		kinds = []string{kindRefresh, kindAccess}
	}
	for _, kind := range kinds {
		a, d, err := s.lookupToken(ctx, sc, kind, value)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, "", err
		}
		return a, d, kind, nil
	}
	return nil, nil, "", nil
}
