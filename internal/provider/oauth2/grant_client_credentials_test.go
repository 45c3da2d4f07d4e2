package oauth2_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func TestClientCredentialsGrant(t *testing.T) {
	t.Parallel()
	e := newGrantEnv(t)
	id, secret := e.app("machine", nil)

	t.Run("service account with x/oauth2", func(t *testing.T) {
		conf := clientcredentials.Config{ClientID: id, ClientSecret: secret, Scopes: []string{"openid", "profile"},
			TokenURL: e.srv.URL + "/application/o/token/"}
		tok, err := conf.Token(context.Background())
		if err != nil {
			t.Fatalf("client_credentials: %v", err)
		}
		if tok.RefreshToken != "" {
			t.Error("client_credentials must not issue a refresh token (RFC 6749 §4.4.3)")
		}
		status, name := e.userinfo(tok.AccessToken)
		if status != http.StatusOK || name != "ak-machine-client_credentials" {
			t.Errorf("userinfo: %d %q, want the provider's service account", status, name)
		}
		if len(e.eventsOf("login")) == 0 {
			t.Error("a machine login must be recorded")
		}
	})
	t.Run("no scope asked, none granted", func(t *testing.T) {
		a := e.token(id, secret, url.Values{"grant_type": {"client_credentials"}})
		a.wantTokens(t, "no scope", false, false)
		if a.Scope != "" {
			t.Errorf("scope = %q, want none", a.Scope)
		}
	})
	t.Run("app password", func(t *testing.T) {
		alice := e.user("alice")
		pw := e.appPassword(alice)
		a := e.token("", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "username": {"alice"},
			"password": {pw}, "scope": {"openid profile"}})
		a.wantTokens(t, "username and app password, without the client secret", true, false)
		if _, name := e.userinfo(a.AccessToken); name != "alice" {
			t.Errorf("userinfo: %q, want alice", name)
		}
	})
	t.Run("errors", func(t *testing.T) {
		e.token(id, "wrong", url.Values{"grant_type": {"client_credentials"}}).wantError(t, "wrong secret", 401, "invalid_client")
		e.token("", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}}).
			wantError(t, "no secret", 401, "invalid_client")
		e.token(id, secret, url.Values{"grant_type": {"client_credentials"}, "username": {"alice"}}).
			wantError(t, "a username without a password", 400, "invalid_request")
		e.token("", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "username": {"alice"},
			"password": {"not-an-app-password"}}).wantError(t, "a wrong app password", 400, "invalid_grant")
		if len(e.eventsOf("login_failed")) == 0 {
			t.Error("a wrong app password must be recorded as login_failed")
		}
		pub, _ := e.app("spa", func(c *oauth2.Config) { c.ClientType = "public" })
		e.token("", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {pub}}).
			wantError(t, "a public client", 400, "unauthorized_client")
	})
	t.Run("application policy", func(t *testing.T) {
		sid, ssecret := e.app("staff-only", nil)
		ctx := context.Background()
		g := &store.Group{Name: "staff"}
		if err := e.sc.Groups().Create(ctx, g); err != nil {
			t.Fatal(err)
		}
		app, err := e.sc.Applications().GetBySlug(ctx, "staff-only")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.sc.PolicyBindings().Create(ctx, &store.PolicyBinding{TargetID: app.ID,
			GroupID: uuid.NullUUID{UUID: g.ID, Valid: true}, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		e.svc.Invalidate(e.sc.TenantID())
		e.token(sid, ssecret, url.Values{"grant_type": {"client_credentials"}}).
			wantError(t, "a service account the application's policy leaves out", 400, "invalid_grant")
	})
}

// The password grant is client_credentials under another name: the
// password is an app password.
func TestPasswordGrant(t *testing.T) {
	t.Parallel()
	e := newGrantEnv(t)
	id, secret := e.app("cli", nil)
	alice := e.user("alice")
	pw := e.appPassword(alice)
	a := e.token(id, secret, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {pw},
		"scope": {"openid profile"}})
	a.wantTokens(t, "password grant", true, false)
	if _, name := e.userinfo(a.AccessToken); name != "alice" {
		t.Errorf("userinfo: %q, want alice", name)
	}
	e.token(id, secret, url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {pw}}).
		wantError(t, "another user's name", 400, "invalid_grant")
	e.token(id, secret, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"Alice-Password-1"}}).
		wantError(t, "a real password", 400, "invalid_grant")
}
