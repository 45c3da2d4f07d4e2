package oauth2

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// authorizationCodeGrant exchanges the code the authorization endpoint
// issued (RFC 6749 §4.1.3), checked against the redirect URI it was issued
// for and its PKCE challenge (RFC 7636).
type authorizationCodeGrant struct{ s *Service }

// authorizationCode is the code as the grant redeems it.
var authorizationCode = redeemable{param: "code", kind: kindCode, noun: "code", replay: "authorization code used twice"}

// codeData is stored with an authorization code.
type codeData struct {
	RedirectURI string    `json:"redirect_uri"`
	Scopes      []string  `json:"scopes"`
	Nonce       string    `json:"nonce,omitempty"`
	Challenge   string    `json:"code_challenge,omitempty"`
	Method      string    `json:"code_challenge_method,omitempty"`
	AuthTime    time.Time `json:"auth_time,omitzero"`
	AMR         []string  `json:"amr,omitempty"`
}

func (g authorizationCodeGrant) token(ctx context.Context, r *http.Request, sc store.Scope, c *client) (*tokenResponse, *Error) {
	s := g.s
	var d codeData
	a, e := s.redeem(ctx, r, sc, c, authorizationCode, &d)
	if e != nil {
		return nil, e
	}
	if ru := r.PostForm.Get("redirect_uri"); ru != d.RedirectURI {
		return nil, errInvalidGrant("redirect_uri does not match the authorization request")
	}
	if e := verifyPKCE(&d, r.PostForm.Get("code_verifier")); e != nil {
		return nil, e
	}
	if e := s.consume(ctx, r, sc, c, authorizationCode, a); e != nil {
		return nil, e
	}
	u, e := s.activeUser(ctx, sc, a.UserID)
	if e != nil {
		return nil, e
	}
	return s.issued(ctx, r, sc, &grant{c: c, user: u, scopes: d.Scopes, nonce: d.Nonce, authTime: d.AuthTime, amr: d.AMR,
		sessionID: a.SessionID, grantID: a.GrantID, accessToken: true,
		idToken: slices.Contains(d.Scopes, "openid"), refresh: slices.Contains(d.Scopes, "offline_access")})
}

// verifyPKCE checks a code_verifier against the stored challenge
// (RFC 7636), in constant time.
func verifyPKCE(d *codeData, verifier string) *Error {
	if d.Challenge == "" {
		if verifier != "" {
			// A verifier without a challenge is a downgrade attempt.
			return errInvalidGrant("code_verifier sent but no code_challenge was given")
		}
		return nil
	}
	if verifier == "" {
		return errInvalidGrant("code_verifier is required")
	}
	if len(verifier) < 43 || len(verifier) > 128 {
		return errInvalidGrant("code_verifier must be 43 to 128 characters")
	}
	got := verifier
	if d.Method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		got = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(d.Challenge)) != 1 {
		return errInvalidGrant("code_verifier does not match the code_challenge")
	}
	return nil
}
