package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	xoauth2 "golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Cross-origin access to the provider (docs/security.md, "OAuth 2.0
// errors and CORS"): a browser app on the origin of one of its client's
// redirect URIs may call the token, userinfo, revocation and introspection
// endpoints; other origins may not read the answers.

// cors sends an OPTIONS preflight (method and header empty: a plain
// OPTIONS) or, with body or bearer, an actual request from origin.
func (e *testEnv) cors(method, path, origin string, header ...string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.URL+path, nil)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func preflightHeaders(method string) []string {
	return []string{"Access-Control-Request-Method", method, "Access-Control-Request-Headers", "authorization"}
}

func TestOIDCCORS(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	id, secret := e.oidcApp("spa", nil) // registers testRedirect: origin http://localhost:8000
	e.oidcApp("other", func(c *oauth2.Config) {
		c.RedirectURIs = []oauth2.RedirectURI{{MatchingMode: "strict", URL: "https://other.example/cb"}}
	})
	const mine, theirs, nobody = "http://localhost:8000", "https://other.example", "https://evil.example"
	c := e.client()
	c.login("alice", "Alice-Password-1")
	in := c.signIn(e.rp("spa", id, secret))
	bearer := "Bearer " + in.tok.AccessToken

	t.Run("preflights", func(t *testing.T) {
		for _, tc := range []struct {
			path, method, origin string
			status               int
			allow                string // Access-Control-Allow-Origin, "" for none
		}{
			{"/application/o/userinfo/", "GET", mine, 204, mine},
			{"/application/o/userinfo/", "POST", mine, 204, mine},
			{"/application/o/token/", "POST", mine, 204, mine},
			{"/application/o/revoke/", "POST", mine, 204, mine},
			{"/application/o/introspect/", "POST", mine, 204, mine},
			{"/application/o/par/", "POST", mine, 204, mine},
			{"/application/o/device/", "POST", mine, 204, mine},
			// A preflight cannot know the client: any provider's origin passes it.
			{"/application/o/userinfo/", "GET", theirs, 204, theirs},
			{"/application/o/token/", "POST", nobody, 403, ""},
			{"/application/o/userinfo/", "GET", nobody, 403, ""},
			{"/application/o/userinfo/", "GET", "null", 403, ""},
			{"/application/o/token/", "DELETE", mine, 405, ""},
			{"/application/o/spa/.well-known/openid-configuration", "GET", nobody, 204, "*"},
			{"/application/o/spa/jwks/", "GET", nobody, 204, "*"},
		} {
			resp := e.cors(http.MethodOptions, tc.path, tc.origin, preflightHeaders(tc.method)...)
			h := resp.Header
			if resp.StatusCode != tc.status || h.Get("Access-Control-Allow-Origin") != tc.allow {
				t.Errorf("OPTIONS %s for %s from %s: got %d allowing %q, want %d allowing %q", tc.path, tc.method, tc.origin,
					resp.StatusCode, h.Get("Access-Control-Allow-Origin"), tc.status, tc.allow)
				continue
			}
			if tc.allow == "" {
				continue
			}
			if !strings.Contains(h.Get("Access-Control-Allow-Methods"), tc.method) ||
				!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "authorization") ||
				h.Get("Access-Control-Max-Age") == "" || h.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("OPTIONS %s from %s: want the method, Authorization, a max-age and no credentials, got %v", tc.path, tc.origin, h)
			}
			if tc.allow != "*" && !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
				t.Errorf("OPTIONS %s: an answer that depends on Origin must say Vary: Origin, got %v", tc.path, h)
			}
		}
		if resp := e.cors(http.MethodOptions, "/application/o/token/", ""); resp.StatusCode != 204 ||
			resp.Header.Get("Allow") != "POST, OPTIONS" {
			t.Errorf("a plain OPTIONS: want 204 with Allow: POST, OPTIONS, got %d %v", resp.StatusCode, resp.Header)
		}
	})

	t.Run("responses", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, path, origin string
			header                     []string
			status                     int
			allow                      string
		}{
			{"userinfo from the client's origin", "GET", "/application/o/userinfo/", mine, []string{"Authorization", bearer}, 200, mine},
			// Another provider's origin passed the preflight, but this token's client did not register it.
			{"userinfo from another client's origin", "GET", "/application/o/userinfo/", theirs, []string{"Authorization", bearer}, 200, ""},
			{"userinfo from an unknown origin", "GET", "/application/o/userinfo/", nobody, []string{"Authorization", bearer}, 200, ""},
			// An error before the client is known is readable where the preflight passed: the app learns it must refresh.
			{"a bad token from a registered origin", "GET", "/application/o/userinfo/", mine, []string{"Authorization", "Bearer nope"}, 401, mine},
			{"a bad token from an unknown origin", "GET", "/application/o/userinfo/", nobody, []string{"Authorization", "Bearer nope"}, 401, ""},
			{"discovery", "GET", "/application/o/spa/.well-known/openid-configuration", nobody, nil, 200, "*"},
		} {
			resp := e.cors(tc.method, tc.path, tc.origin, tc.header...)
			if resp.StatusCode != tc.status || resp.Header.Get("Access-Control-Allow-Origin") != tc.allow {
				t.Errorf("%s: got %d allowing %q, want %d allowing %q", tc.name, resp.StatusCode,
					resp.Header.Get("Access-Control-Allow-Origin"), tc.status, tc.allow)
			}
			if tc.status == 401 && tc.allow != "" && resp.Header.Get("Access-Control-Expose-Headers") != "WWW-Authenticate" {
				t.Errorf("%s: the app must be able to read WWW-Authenticate, got %v", tc.name, resp.Header)
			}
		}
		// The token endpoint and revocation learn the client from the body.
		for origin, allow := range map[string]string{mine: mine, theirs: ""} {
			form := url.Values{"token": {in.tok.AccessToken}}
			req, _ := http.NewRequest(http.MethodPost, e.URL+"/application/o/introspect/", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", origin)
			req.SetBasicAuth(id, secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != allow {
				t.Errorf("introspection from %s: got %d allowing %q, want 200 allowing %q", origin, resp.StatusCode,
					resp.Header.Get("Access-Control-Allow-Origin"), allow)
			}
		}
	})
}

// spaPage is a single-page app's page: it calls userinfo with the bearer
// token, revokes the token (a public client: client_id alone), and calls
// userinfo again, writing what it could read into the page.
const spaPage = `<!doctype html><meta charset="utf-8"><title>SPA</title><pre id="out">running</pre>
<script>
const out = document.getElementById("out");
const base = %q, token = %q, clientID = %q;
(async () => {
  let text = "";
  try {
    let r = await fetch(base + "/application/o/userinfo/", {headers: {Authorization: "Bearer " + token}});
    text += "userinfo " + r.status + " " + (await r.json()).preferred_username + "\n";
    r = await fetch(base + "/application/o/revoke/", {method: "POST",
      headers: {"Content-Type": "application/x-www-form-urlencoded"},
      body: new URLSearchParams({token: token, client_id: clientID})});
    text += "revoke " + r.status + "\n";
    r = await fetch(base + "/application/o/userinfo/", {headers: {Authorization: "Bearer " + token}});
    text += "after revoke " + r.status + " " + r.headers.get("WWW-Authenticate") + "\n";
  } catch (e) {
    text += "blocked\n";
  }
  out.textContent = text + "done";
})();
</script>`

// TestBrowserSPACallsUserinfo: in Chromium, a page on the origin of a
// public client's redirect URI calls userinfo with a bearer token (a
// preflighted request), revokes the token and sees userinfo refuse it; the
// same page served from an origin nobody registered is blocked by the
// browser.
func TestBrowserSPACallsUserinfo(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	spa := httptest.NewServer(nil)
	t.Cleanup(spa.Close)
	stranger := httptest.NewServer(nil)
	t.Cleanup(stranger.Close)
	origin := func(s *httptest.Server) string {
		_, port, _ := net.SplitHostPort(s.Listener.Addr().String())
		return "http://localhost:" + port
	}
	id, _ := e.oidcApp("spa", func(c *oauth2.Config) {
		c.ClientType = "public"
		c.RedirectURIs = append(c.RedirectURIs, oauth2.RedirectURI{MatchingMode: "strict", URL: origin(spa) + "/callback"})
	})
	r := e.rp("spa", id, "")
	c := e.client()
	c.login("alice", "Alice-Password-1")
	verifier := xoauth2.GenerateVerifier()
	cb := c.authorize(r.conf.AuthCodeURL("s", xoauth2.S256ChallengeOption(verifier)))
	tok, err := r.conf.Exchange(context.Background(), cb.Query().Get("code"), xoauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	page := fmt.Sprintf(spaPage, e.URL, tok.AccessToken, id)
	serve := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	})
	spa.Config.Handler, stranger.Config.Handler = serve, serve

	b.navigate(origin(spa) + "/")
	got := b.waitText("done")
	if want := "userinfo 200 alice\nrevoke 200\nafter revoke 401 Bearer error=\"invalid_token\"\ndone"; got != want {
		t.Errorf("the app on its registered origin read:\n%s\nwant:\n%s", got, want)
	}
	for _, msg := range b.consoleErrors() {
		// Chromium logs every 4xx fetch; the 401 after revocation is the point.
		if !strings.Contains(msg, "status of 401") {
			t.Errorf("the app on its registered origin met an error: %s", msg)
		}
	}
	// The same page elsewhere: the browser refuses it the answer.
	b.allowConsoleErrors = true
	b.navigate(origin(stranger) + "/")
	if got := b.waitText("done"); !strings.Contains(got, "blocked") {
		t.Errorf("a page on an unregistered origin read userinfo:\n%s", got)
	}
}
