package oauth2_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	xoauth2 "golang.org/x/oauth2"
)

func TestAuthorizationCodeGrant(t *testing.T) {
	t.Parallel()
	e := newGrantEnv(t)
	alice := e.user("alice")
	id, secret := e.app("app", nil)
	otherID, otherSecret := e.app("other", nil)
	b := e.browser(alice)

	t.Run("exchange with x/oauth2", func(t *testing.T) {
		p := newPKCE()
		code := b.code(id, "openid profile offline_access", p)
		conf := xoauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: testRedirect,
			Endpoint: xoauth2.Endpoint{TokenURL: e.srv.URL + "/application/o/token/", AuthStyle: xoauth2.AuthStyleInHeader}}
		tok, err := conf.Exchange(context.Background(), code, xoauth2.VerifierOption(p.verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
			t.Errorf("want an ID token and a refresh token (openid, offline_access), got %+v", tok)
		}
		if status, name := e.userinfo(tok.AccessToken); status != http.StatusOK || name != "alice" {
			t.Errorf("userinfo with the access token: %d %q, want alice", status, name)
		}
	})
	t.Run("no offline_access, no refresh token", func(t *testing.T) {
		p := newPKCE()
		a := e.token(id, secret, url.Values{"grant_type": {"authorization_code"}, "code": {b.code(id, "openid", p)},
			"redirect_uri": {testRedirect}, "code_verifier": {p.verifier}})
		a.wantTokens(t, "openid only", true, false)
	})

	exchange := func(code, redirect, verifier string) tokenAnswer {
		return e.token(id, secret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {redirect}, "code_verifier": {verifier}})
	}
	t.Run("errors", func(t *testing.T) {
		p := newPKCE()
		exchange("", testRedirect, p.verifier).wantError(t, "no code", 400, "invalid_request")
		exchange("not-a-code", testRedirect, p.verifier).wantError(t, "unknown code", 400, "invalid_grant")
		exchange(b.code(id, "openid", p), "https://app.example.com/other", p.verifier).
			wantError(t, "another redirect_uri", 400, "invalid_grant")
		exchange(b.code(id, "openid", p), testRedirect, newPKCE().verifier).wantError(t, "wrong verifier", 400, "invalid_grant")
		exchange(b.code(id, "openid", p), testRedirect, "").wantError(t, "no verifier", 400, "invalid_grant")
		code := b.code(id, "openid", p)
		e.token(otherID, otherSecret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {testRedirect}, "code_verifier": {p.verifier}}).wantError(t, "another client's code", 400, "invalid_grant")
		e.token(id, "wrong-secret", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {testRedirect}, "code_verifier": {p.verifier}}).wantError(t, "wrong client secret", 401, "invalid_client")
		// Neither refusal spent the code.
		exchange(code, testRedirect, p.verifier).wantTokens(t, "the code after refused attempts", true, false)
	})
	t.Run("expired", func(t *testing.T) {
		p := newPKCE()
		code := b.code(id, "openid", p)
		e.advance(2 * time.Minute) // access_code_validity is minutes=1
		defer e.resetClock()
		exchange(code, testRedirect, p.verifier).wantError(t, "an expired code", 400, "invalid_grant")
	})
	t.Run("replay revokes the grant", func(t *testing.T) {
		p := newPKCE()
		code := b.code(id, "openid offline_access", p)
		first := exchange(code, testRedirect, p.verifier)
		first.wantTokens(t, "first use", true, true)
		exchange(code, testRedirect, p.verifier).wantError(t, "second use", 400, "invalid_grant")
		if status, _ := e.userinfo(first.AccessToken); status != http.StatusUnauthorized {
			t.Errorf("the first use's access token after a replay: %d, want 401 (revoked)", status)
		}
		e.token(id, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}}).
			wantError(t, "the first use's refresh token after a replay", 400, "invalid_grant")
		if len(e.eventsOf("suspicious_request")) == 0 {
			t.Error("a replayed code must be recorded as suspicious_request")
		}
	})
}
