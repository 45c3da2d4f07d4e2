package app

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	xoauth2 "golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ssoApp is a relying party on its own origin (localhost, another port)
// whose callback, as many do, redirects onwards to the application's
// front end on yet another origin (127.0.0.1). Its pages are what a
// browser sees of it.
type ssoApp struct {
	conf      xoauth2.Config
	rp, front *httptest.Server
}

func (e *testEnv) ssoApp(slug string) *ssoApp {
	e.t.Helper()
	a := &ssoApp{}
	a.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<!doctype html><title>App</title><p>Signed in by %s</p>", html.EscapeString(r.URL.Query().Get("via")))
	}))
	a.rp = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("code") == "" {
			http.Error(w, "no code", http.StatusBadRequest)
			return
		}
		if _, err := a.conf.Exchange(r.Context(), r.Form.Get("code")); err != nil {
			http.Error(w, "exchange: "+err.Error(), http.StatusBadGateway)
			return
		}
		http.Redirect(w, r, a.front.URL+"/?via="+r.Method, http.StatusFound)
	}))
	a.rp.Start()
	e.t.Cleanup(func() { a.rp.Close(); a.front.Close() })
	callback := "http://localhost:" + strings.TrimPrefix(a.rp.URL, "http://127.0.0.1:") + "/cb"
	id, secret := e.oidcApp(slug, func(c *oauth2.Config) {
		c.RedirectURIs = []oauth2.RedirectURI{{MatchingMode: "strict", URL: callback}}
	})
	r := e.rp(slug, id, secret)
	a.conf = r.conf
	a.conf.RedirectURL = callback
	return a
}

// TestBrowserSSOAfterForms: the flow pages' forms post only to Gatehouse
// (CSP form-action 'self'), and single sign-on still ends at the
// application in Chromium, which applies form-action to every redirect a
// submission leads to: the login form's flow ends on the redirect page,
// a new navigation, and the form_post page, whose form goes to the
// application, lets the application redirect onwards to another origin.
func TestBrowserSSOAfterForms(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	a := e.ssoApp("sso")
	if p := e.client().open(loginPath, nil); !strings.Contains(p.body, `name="uid_field"`) {
		t.Fatalf("want the login page, got %d", p.status)
	}
	resp, err := http.Get(e.URL + loginPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") {
		t.Fatalf("the login page's forms must post only to Gatehouse, CSP %q", csp)
	}

	b := newBrowser(t)
	for _, mode := range []struct{ param, via string }{{"query", "GET"}, {"form_post", "POST"}} {
		t.Run(mode.param, func(t *testing.T) {
			b := b.fresh()
			b.navigate(a.conf.AuthCodeURL("s", xoauth2.SetAuthURLParam("response_mode", mode.param)))
			wantPath(t, b, loginPath)
			browserLogin(t, b, "alice", "Alice-Password-1")
			b.waitText("Signed in by " + mode.via)
			if !strings.HasPrefix(b.url(), a.front.URL+"/") {
				t.Fatalf("want the application's front end, the browser is at %s", b.url())
			}
		})
	}
}
