package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// grantHandler runs one grant type for an authenticated client.
type grantHandler func(ctx context.Context, r *http.Request, sc store.Scope, c *client) (*tokenResponse, *Error)

// token is /application/o/token/: the request is parsed once, the client
// authenticated once, and the grant returns its error as a value.
func (s *Service) token(w http.ResponseWriter, r *http.Request) {
	if e := parseForm(w, r); e != nil {
		s.writeError(w, r, e)
		return
	}
	grants := map[string]grantHandler{
		"authorization_code": s.grantAuthorizationCode,
		"refresh_token":      s.grantRefresh,
	}
	for k, v := range s.moreGrants() {
		grants[k] = v
	}
	gt := r.PostForm.Get("grant_type")
	h, ok := grants[gt]
	if !ok {
		s.writeError(w, r, errUnsupportedGrant("grant_type must be one of: "+strings.Join(sortedKeys(grants), ", ")))
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
	resp, e := h(ctx, r, sc, c)
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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

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

// appPasswordGrant is a client_credentials or password request carrying a
// username and an app password.
func appPasswordGrant(r *http.Request) bool {
	gt := r.PostForm.Get("grant_type")
	return (gt == "client_credentials" || gt == "password") && r.PostForm.Get("username") != "" &&
		r.PostForm.Get("password") != ""
}

func (s *Service) grantAuthorizationCode(ctx context.Context, r *http.Request, sc store.Scope, c *client) (*tokenResponse, *Error) {
	code := r.PostForm.Get("code")
	if code == "" || len(code) > 512 {
		return nil, errInvalidRequest("code is required")
	}
	a, err := sc.Artifacts().GetByKey(ctx, kindCode, crypto.HashToken(code))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvalidGrant("the code is invalid")
	}
	if err != nil {
		return nil, errServer(fmt.Errorf("looking up the code: %w", err))
	}
	if a.ProviderID != c.provider.ID {
		return nil, errInvalidGrant("the code was issued to another client")
	}
	now := s.Now()
	if !a.ConsumedAt.IsZero() {
		return nil, s.replayed(ctx, r, sc, c, a, "authorization code used twice")
	}
	if !now.Before(a.Expires) {
		return nil, errInvalidGrant("the code has expired")
	}
	var d codeData
	if err := json.Unmarshal(a.Data, &d); err != nil {
		return nil, errServer(fmt.Errorf("decoding the code: %w", err))
	}
	if ru := r.PostForm.Get("redirect_uri"); ru != d.RedirectURI {
		return nil, errInvalidGrant("redirect_uri does not match the authorization request")
	}
	if e := verifyPKCE(&d, r.PostForm.Get("code_verifier")); e != nil {
		return nil, e
	}
	if err := sc.Artifacts().Consume(ctx, a.ID, now); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, s.replayed(ctx, r, sc, c, a, "authorization code used twice")
		}
		return nil, errServer(fmt.Errorf("consuming the code: %w", err))
	}
	u, e := s.activeUser(ctx, sc, a.UserID)
	if e != nil {
		return nil, e
	}
	g := &grant{c: c, user: u, scopes: d.Scopes, nonce: d.Nonce, authTime: d.AuthTime, amr: d.AMR,
		sessionID: a.SessionID, grantID: a.GrantID, accessToken: true,
		idToken: slices.Contains(d.Scopes, "openid"), refresh: slices.Contains(d.Scopes, "offline_access")}
	resp, err := s.issue(ctx, r, sc, g)
	if err != nil {
		return nil, errServer(fmt.Errorf("token: issuing: %w", err))
	}
	return resp, nil
}

// replayed handles a second use of a single-use secret: every token of the
// grant is revoked (RFC 6749 §4.1.2, OAuth 2.0 Security BCP) and the
// attempt is recorded as suspicious.
func (s *Service) replayed(ctx context.Context, r *http.Request, sc store.Scope, c *client, a *store.Artifact, what string) *Error {
	n, err := sc.Artifacts().ConsumeGrant(ctx, a.GrantID, s.Now())
	if err != nil {
		s.logError(ctx, "oauth2: revoking a replayed grant", err)
	}
	var u *store.User
	if a.UserID.Valid {
		u, _ = sc.Users().Get(ctx, a.UserID.UUID)
	}
	s.event(r, sc, "suspicious_request", u, c, map[string]any{"reason": what, "revoked_tokens": n})
	return errInvalidGrant("the grant is invalid, expired or was already used")
}

// activeUser loads the user a grant belongs to, refusing inactive ones.
func (s *Service) activeUser(ctx context.Context, sc store.Scope, id uuid.NullUUID) (*store.User, *Error) {
	if !id.Valid {
		return nil, errInvalidGrant("the grant has no user")
	}
	u, err := sc.Users().Get(ctx, id.UUID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.IsActive) {
		return nil, errInvalidGrant("the user is inactive or no longer exists")
	}
	if err != nil {
		return nil, errServer(fmt.Errorf("loading the grant's user: %w", err))
	}
	return u, nil
}

func (s *Service) grantRefresh(ctx context.Context, r *http.Request, sc store.Scope, c *client) (*tokenResponse, *Error) {
	rt := r.PostForm.Get("refresh_token")
	if rt == "" || len(rt) > 512 {
		return nil, errInvalidRequest("refresh_token is required")
	}
	a, err := sc.Artifacts().GetByKey(ctx, kindRefresh, crypto.HashToken(rt))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvalidGrant("the refresh token is invalid")
	}
	if err != nil {
		return nil, errServer(fmt.Errorf("looking up the refresh token: %w", err))
	}
	if a.ProviderID != c.provider.ID {
		return nil, errInvalidGrant("the refresh token was issued to another client")
	}
	now := s.Now()
	if !a.ConsumedAt.IsZero() {
		return nil, s.replayed(ctx, r, sc, c, a, "refresh token reused")
	}
	if !now.Before(a.Expires) {
		return nil, errInvalidGrant("the refresh token has expired")
	}
	var d tokenData
	if err := json.Unmarshal(a.Data, &d); err != nil {
		return nil, errServer(fmt.Errorf("decoding the refresh token: %w", err))
	}
	scopes := d.Scopes
	if req := strings.Fields(r.PostForm.Get("scope")); len(req) > 0 {
		for _, sc := range req {
			if !slices.Contains(d.Scopes, sc) {
				return nil, errInvalidScope("the requested scope exceeds the original grant")
			}
		}
		scopes = req
	}
	u, e := s.activeUser(ctx, sc, a.UserID)
	if e != nil {
		return nil, e
	}
	rotate := c.cfg.refreshThreshold == 0 || a.Expires.Sub(now) < c.cfg.refreshThreshold
	if rotate {
		if err := sc.Artifacts().Consume(ctx, a.ID, now); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, s.replayed(ctx, r, sc, c, a, "refresh token reused")
			}
			return nil, errServer(fmt.Errorf("consuming the refresh token: %w", err))
		}
	}
	g := &grant{c: c, user: u, scopes: scopes, nonce: d.Nonce, authTime: d.AuthTime, amr: d.AMR,
		sessionID: a.SessionID, grantID: a.GrantID, accessToken: true,
		idToken: slices.Contains(scopes, "openid"), refresh: rotate && slices.Contains(scopes, "offline_access")}
	resp, err := s.issue(ctx, r, sc, g)
	if err != nil {
		return nil, errServer(fmt.Errorf("token: issuing: %w", err))
	}
	return resp, nil
}

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
