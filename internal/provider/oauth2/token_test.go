package oauth2_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The token endpoint's own answers, before any grant runs.
func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	e := newGrantEnv(t)
	id, secret := e.app("app", nil)

	a := e.token(id, secret, url.Values{"grant_type": {"implicit"}})
	a.wantError(t, "an unknown grant type", 400, "unsupported_grant_type")
	want := "authorization_code, client_credentials, password, refresh_token, urn:ietf:params:oauth:grant-type:device_code"
	if !strings.HasSuffix(a.Description, want) {
		t.Errorf("the error lists %q, want the grant types %q", a.Description, want)
	}
	e.token(id, secret, url.Values{}).wantError(t, "no grant type", 400, "unsupported_grant_type")
	e.token(id, secret, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid", "profile"}}).
		wantError(t, "a repeated parameter", 400, "invalid_request")
	e.token("nobody", "x", url.Values{"grant_type": {"client_credentials"}}).
		wantError(t, "an unknown client", 401, "invalid_client")
	a = e.token(id, "wrong", url.Values{"grant_type": {"client_credentials"}})
	if got := a.header.Get("WWW-Authenticate"); got != `Basic realm="gatehouse"` {
		t.Errorf("invalid_client over Basic: WWW-Authenticate %q, want the Basic challenge", got)
	}

	// Every grant type discovery advertises for the token endpoint is one
	// it takes (implicit is the authorization endpoint's).
	resp, err := http.Get(e.srv.URL + "/application/o/app/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		GrantTypes []string `json:"grant_types_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for _, gt := range doc.GrantTypes {
		if gt == "implicit" {
			continue
		}
		if a := e.token(id, secret, url.Values{"grant_type": {gt}}); a.Error == "unsupported_grant_type" {
			t.Errorf("discovery advertises %s, which the token endpoint refuses", gt)
		}
	}
}
