package oauth2

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// refreshTokenGrant exchanges a refresh token (RFC 6749 §6) for new
// tokens of the same grant, for its scopes or fewer. The refresh token is
// rotated (spent, and a new one issued) unless it has more than the
// provider's refresh_token_threshold left.
type refreshTokenGrant struct{ s *Service }

// refreshToken is the refresh token as the grant redeems it.
var refreshToken = redeemable{param: "refresh_token", kind: kindRefresh, noun: "refresh token", replay: "refresh token reused"}

func (g refreshTokenGrant) token(ctx context.Context, r *http.Request, sc store.Scope, c *client) (*tokenResponse, *Error) {
	s := g.s
	var d tokenData
	a, e := s.redeem(ctx, r, sc, c, refreshToken, &d)
	if e != nil {
		return nil, e
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
	rotate := c.cfg.refreshThreshold == 0 || a.Expires.Sub(s.Now()) < c.cfg.refreshThreshold
	if rotate {
		if e := s.consume(ctx, r, sc, c, refreshToken, a); e != nil {
			return nil, e
		}
	}
	return s.issued(ctx, r, sc, &grant{c: c, user: u, scopes: scopes, nonce: d.Nonce, authTime: d.AuthTime, amr: d.AMR,
		sessionID: a.SessionID, grantID: a.GrantID, accessToken: true,
		idToken: slices.Contains(scopes, "openid"), refresh: rotate && slices.Contains(scopes, "offline_access")})
}
