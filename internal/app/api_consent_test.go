package app

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestAPIUserConsent: a consent given on the explicit-consent flow is
// listed for its user, is invisible to everyone else (404, not 403, so
// IDs reveal nothing), and once revoked the application asks again.
func TestAPIUserConsent(t *testing.T) {
	e := newEnv(t)
	aliceUser := e.createUser("alice", "Alice-Password-1", store.UserInternal)
	e.createUser("bob", "Bob-Password-1", store.UserInternal)
	e.superuser("root")
	f, err := e.sc.Flows().GetBySlug(context.Background(), "default-provider-authorization-explicit-consent")
	if err != nil {
		t.Fatal(err)
	}
	id, secret := e.oidcApp("consent-app", func(c *oauth2.Config) { c.AuthorizationFlow = f.ID.String() })
	authURL := e.rp("consent-app", id, secret, "openid", "profile").conf.AuthCodeURL("s")
	alice, browser := e.sessionAPI("alice", "Alice-Password-1")
	consentPage := "/if/flow/" + f.Slug + "/"
	authorize := func() page {
		t.Helper()
		p := browser.open(strings.TrimPrefix(authURL, e.URL), nil)
		if p.status != http.StatusFound {
			t.Fatalf("authorize: %d %s", p.status, p.body)
		}
		return p
	}

	if p := authorize(); p.loc != consentPage {
		t.Fatalf("first authorization: want the consent page, got %q", p.loc)
	}
	consent := browser.open(consentPage, nil)
	token := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(consent.body)
	if token == nil {
		t.Fatalf("want the consent page, got %d:\n%s", consent.status, consent.body)
	}
	browser.open(consentPage, url.Values{"csrf_token": {consent.csrf(t)}, "token": {token[1]}})
	if p := authorize(); !strings.HasPrefix(p.loc, testRedirect) {
		t.Fatalf("after consenting: want a redirect to the client, got %q", p.loc)
	}

	list := results(t, alice.call("GET", "core/user_consent/", nil, true))
	if len(list) != 1 {
		t.Fatalf("alice's consents: want 1, got %v", list)
	}
	c := list[0]
	if app, _ := c["application"].(map[string]any); app["slug"] != "consent-app" || !strings.Contains(c["permissions"].(string), "profile") {
		t.Errorf("consent: want consent-app with the profile scope, got %v", c)
	}
	pk := c["pk"].(string)

	bob, _ := e.sessionAPI("bob", "Bob-Password-1")
	if got := results(t, bob.call("GET", "core/user_consent/", nil, true)); len(got) != 0 {
		t.Errorf("bob sees consents: %v", got)
	}
	root, _ := e.sessionAPI("root", "Admin-Password-1")
	for name, other := range map[string]*apiClient{"bob": bob, "a superuser": root} {
		for _, m := range []string{"GET", "DELETE"} {
			if r := other.call(m, "core/user_consent/"+pk+"/", nil, true); r.status != 404 {
				t.Errorf("%s %s alice's consent: want 404, got %d %s", name, m, r.status, r.body)
			}
		}
	}
	for _, bad := range []string{"core/user_consent/not-a-uuid/", "core/user_consent/" + uuid.NewString() + "/"} {
		if r := alice.call("DELETE", bad, nil, true); r.status != 404 && r.status != 400 {
			t.Errorf("DELETE %s: want 400 or 404, got %d", bad, r.status)
		}
	}
	if r := alice.call("GET", "core/user_consent/?search=x", nil, true); r.status != 400 {
		t.Errorf("search: want 400, got %d", r.status)
	}

	if r := alice.call("DELETE", "core/user_consent/"+pk+"/", nil, true); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if got := results(t, alice.call("GET", "core/user_consent/", nil, true)); len(got) != 0 {
		t.Errorf("after revoking: %v", got)
	}
	if p := authorize(); p.loc != consentPage {
		t.Errorf("after revoking: want the consent page again, got %q", p.loc)
	}
	// A consent outliving its application shows application: null, which
	// the OpenAPI document must allow (the client validates it).
	if err := e.sc.Consents().Put(context.Background(), &store.Consent{UserID: aliceUser.ID, Target: uuid.NewString(),
		Permissions: []string{"openid"}}); err != nil {
		t.Fatal(err)
	}
	if got := results(t, alice.call("GET", "core/user_consent/", nil, true)); len(got) != 1 || got[0]["application"] != nil {
		t.Errorf("a consent for a deleted application: want application null, got %v", got)
	}
	var revoked bool
	for _, ev := range e.events("model_deleted") {
		m, _ := ev.Context["model"].(map[string]any)
		revoked = revoked || (m["model_name"] == "userconsent" && ev.Username == "alice")
	}
	if !revoked {
		t.Error("no model_deleted event for the revoked consent")
	}
}
