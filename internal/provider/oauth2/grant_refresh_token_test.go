package oauth2_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// signIn runs the authorization code grant for b's user at client id.
func (e *grantEnv) signIn(b *browser, id, secret, scope string) tokenAnswer {
	e.t.Helper()
	p := newPKCE()
	a := e.token(id, secret, url.Values{"grant_type": {"authorization_code"}, "code": {b.code(id, scope, p)},
		"redirect_uri": {testRedirect}, "code_verifier": {p.verifier}})
	a.wantTokens(e.t, "sign-in", strings.Contains(scope, "openid"), strings.Contains(scope, "offline_access"))
	return a
}

func TestRefreshTokenGrant(t *testing.T) {
	t.Parallel()
	e := newGrantEnv(t)
	alice := e.user("alice")
	id, secret := e.app("app", nil)
	otherID, otherSecret := e.app("other", nil)
	b := e.browser(alice)
	refresh := func(id, secret, rt, scope string) tokenAnswer {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		if scope != "" {
			form.Set("scope", scope)
		}
		return e.token(id, secret, form)
	}

	t.Run("rotates", func(t *testing.T) {
		first := e.signIn(b, id, secret, "openid profile offline_access")
		next := refresh(id, secret, first.RefreshToken, "")
		next.wantTokens(t, "refresh", true, true)
		if next.RefreshToken == first.RefreshToken {
			t.Error("the refresh token was not rotated (refresh_token_threshold is seconds=0)")
		}
		if status, name := e.userinfo(next.AccessToken); status != http.StatusOK || name != "alice" {
			t.Errorf("userinfo with the refreshed token: %d %q, want alice", status, name)
		}
		// Reusing the spent token is a replay: the whole grant ends.
		refresh(id, secret, first.RefreshToken, "").wantError(t, "a rotated refresh token", 400, "invalid_grant")
		refresh(id, secret, next.RefreshToken, "").wantError(t, "its successor after the replay", 400, "invalid_grant")
		if status, _ := e.userinfo(next.AccessToken); status != http.StatusUnauthorized {
			t.Errorf("an access token of the replayed grant: %d, want 401", status)
		}
	})
	t.Run("narrower scope", func(t *testing.T) {
		first := e.signIn(b, id, secret, "openid profile offline_access")
		a := refresh(id, secret, first.RefreshToken, "openid offline_access")
		a.wantTokens(t, "narrower scope", true, true)
		if a.Scope != "openid offline_access" {
			t.Errorf("scope = %q, want the narrower one", a.Scope)
		}
	})
	t.Run("errors", func(t *testing.T) {
		first := e.signIn(b, id, secret, "openid offline_access")
		refresh(id, secret, "", "").wantError(t, "no refresh_token", 400, "invalid_request")
		refresh(id, secret, "not-a-token", "").wantError(t, "unknown refresh token", 400, "invalid_grant")
		refresh(id, secret, first.RefreshToken, "openid email").wantError(t, "a wider scope", 400, "invalid_scope")
		refresh(otherID, otherSecret, first.RefreshToken, "").wantError(t, "another client's token", 400, "invalid_grant")
		refresh(id, secret, b.code(id, "openid", newPKCE()), "").wantError(t, "an authorization code", 400, "invalid_grant")
		// None of the refusals spent it.
		refresh(id, secret, first.RefreshToken, "").wantTokens(t, "after refused attempts", true, true)
	})
	t.Run("expired", func(t *testing.T) {
		first := e.signIn(b, id, secret, "openid offline_access")
		e.advance(31 * 24 * time.Hour) // refresh_token_validity is days=30
		defer e.resetClock()
		refresh(id, secret, first.RefreshToken, "").wantError(t, "an expired refresh token", 400, "invalid_grant")
	})
	t.Run("threshold keeps the token", func(t *testing.T) {
		kid, ksecret := e.app("keeper", func(c *oauth2.Config) { c.RefreshTokenThreshold = "days=1" })
		first := e.signIn(b, kid, ksecret, "openid offline_access")
		a := refresh(kid, ksecret, first.RefreshToken, "")
		a.wantTokens(t, "a token with more than the threshold left", true, false)
		refresh(kid, ksecret, first.RefreshToken, "").wantTokens(t, "the same token again", true, false)
	})
	t.Run("inactive user", func(t *testing.T) {
		bob := e.user("bob")
		first := e.signIn(e.browser(bob), id, secret, "openid offline_access")
		if _, err := e.sc.Users().Update(t.Context(), bob.ID, func(u *store.User) error { u.IsActive = false; return nil }); err != nil {
			t.Fatal(err)
		}
		refresh(id, secret, first.RefreshToken, "").wantError(t, "a deactivated user's token", 400, "invalid_grant")
	})
}
