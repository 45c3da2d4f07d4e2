package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// tokenGrant is one grant type of the token endpoint (RFC 6749 §4 and its
// extensions), each in its own file (grant_*.go). The endpoint has parsed
// the form and authenticated the client c once; the grant reads its own
// parameters from r.PostForm and returns the tokens, or an RFC 6749 error
// as a value for the endpoint's one error writer.
type tokenGrant interface {
	token(ctx context.Context, r *http.Request, sc store.Scope, c *client) (*tokenResponse, *Error)
}

// grantRegistry is the token endpoint's grant types by grant_type, built
// once by New: a request only looks its grant up.
type grantRegistry struct {
	byType map[string]tokenGrant
	// supported lists the grant types, sorted, for unsupported_grant_type.
	supported string
}

func (s *Service) newGrantRegistry() grantRegistry {
	byType := map[string]tokenGrant{
		"authorization_code": authorizationCodeGrant{s},
		"refresh_token":      refreshTokenGrant{s},
		"client_credentials": clientCredentialsGrant{s},
		"password":           passwordGrant{clientCredentialsGrant{s}},
		grantDeviceCode:      deviceCodeGrant{s},
	}
	return grantRegistry{byType: byType, supported: strings.Join(slices.Sorted(maps.Keys(byType)), ", ")}
}

// redeemable is a single-use secret a grant exchanges for tokens: an
// authorization code, a refresh token, a device code. Its lookup, the
// client, replay and expiry checks are the same for all three, and so are
// their errors, named after the secret.
type redeemable struct {
	// param is the form parameter that carries it.
	param string
	// kind is its artifact kind.
	kind string
	// noun names it in error descriptions: "code", "refresh token".
	noun string
	// replay is the suspicious_request reason recorded for a second use.
	replay string
	// expired is the error for an expired one; nil is invalid_grant.
	expired func() *Error
}

// redeem finds the secret r carries for grant g, issued to c and neither
// used nor expired, and decodes its data into data. A second use is a
// replay: every token of its grant is revoked.
func (s *Service) redeem(ctx context.Context, r *http.Request, sc store.Scope, c *client, g redeemable, data any) (*store.Artifact, *Error) {
	secret := r.PostForm.Get(g.param)
	if secret == "" || len(secret) > 512 {
		return nil, errInvalidRequest(g.param + " is required")
	}
	a, err := sc.Artifacts().GetByKey(ctx, g.kind, crypto.HashToken(secret))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvalidGrant("the " + g.noun + " is invalid")
	}
	if err != nil {
		return nil, errServer(fmt.Errorf("looking up the %s: %w", g.noun, err))
	}
	if a.ProviderID != c.provider.ID {
		return nil, errInvalidGrant("the " + g.noun + " was issued to another client")
	}
	if !a.ConsumedAt.IsZero() {
		return nil, s.replayed(ctx, r, sc, c, a, g.replay)
	}
	if !s.Now().Before(a.Expires) {
		if g.expired != nil {
			return nil, g.expired()
		}
		return nil, errInvalidGrant("the " + g.noun + " has expired")
	}
	if err := json.Unmarshal(a.Data, data); err != nil {
		return nil, errServer(fmt.Errorf("decoding the %s: %w", g.noun, err))
	}
	return a, nil
}

// consume spends a, which redeem returned; of two requests that redeemed
// it at once, the one that consumes second is a replay.
func (s *Service) consume(ctx context.Context, r *http.Request, sc store.Scope, c *client, g redeemable, a *store.Artifact) *Error {
	if err := sc.Artifacts().Consume(ctx, a.ID, s.Now()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return s.replayed(ctx, r, sc, c, a, g.replay)
		}
		return errServer(fmt.Errorf("consuming the %s: %w", g.noun, err))
	}
	return nil
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

// issued answers a grant with the tokens s.issue minted for g.
func (s *Service) issued(ctx context.Context, r *http.Request, sc store.Scope, g *grant) (*tokenResponse, *Error) {
	resp, err := s.issue(ctx, r, sc, g)
	if err != nil {
		return nil, errServer(fmt.Errorf("token: issuing: %w", err))
	}
	return resp, nil
}
