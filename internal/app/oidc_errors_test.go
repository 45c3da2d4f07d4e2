package app

import (
	"bufio"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// What the OAuth2 provider does when it cannot, or must not, give the
// client what it asked for (docs/security.md, "OAuth 2.0 errors and
// CORS"): requests it must not redirect are explained on a page, recorded
// and logged; a user's refusal reaches the client; a server error is
// logged with its cause and the request ID, and only server_error leaves.

// logLines are the JSON log lines a test environment wrote.
func logLines(t testing.TB, logs *syncBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// logLine is the line with message msg logged for request rid, or nil.
func logLine(t testing.TB, logs *syncBuffer, msg, rid string) map[string]any {
	t.Helper()
	for _, l := range logLines(t, logs) {
		if l["msg"] == msg && l["request_id"] == rid {
			return l
		}
	}
	return nil
}

// eventOf is the event with action recorded during request rid, or nil.
func (e *testEnv) eventOf(action, rid string) *store.Event {
	e.t.Helper()
	for _, ev := range e.events(action) {
		if hr, _ := ev.Context["http_request"].(map[string]any); hr != nil && hr["request_id"] == rid {
			return ev
		}
	}
	return nil
}

// TestOIDCAuthorizationRequestsThatMustNotRedirect: a request whose client
// or redirect URI cannot be trusted (RFC 6749 §4.1.2.1), or whose
// request_uri cannot be read, gets a page that says which parameter is
// wrong and what the administrator must register, in the user's language;
// nothing goes to any redirect URI; a configuration_error event and a log
// line with the reason carry the page's request ID.
func TestOIDCAuthorizationRequestsThatMustNotRedirect(t *testing.T) {
	logs := &syncBuffer{}
	e := newEnvWith(t, envOptions{log: logs})
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	id, secret := e.oidcApp("legacy", nil)
	r := e.rp("legacy", id, secret)
	twoID, twoSecret := e.oidcApp("two-uris", func(c *oauth2.Config) {
		c.RedirectURIs = append(c.RedirectURIs, oauth2.RedirectURI{MatchingMode: "strict", URL: "http://localhost:8000/other"})
	})
	two := e.rp("two-uris", twoID, twoSecret)
	c := e.client()
	c.login("alice", "Alice-Password-1")

	cases := []struct {
		name, url string
		lang      string
		reason    string // the event's and the log line's
		app       string // the event's application, when the client is known
		want      string // on the page
	}{
		{name: "no client_id", url: "/application/o/authorize/?response_type=code&redirect_uri=" + url.QueryEscape(testRedirect),
			reason: "oauth2.client_id_missing", want: "The request has no client_id"},
		{name: "unknown client_id", url: r.authURL("s", "client_id", "no-such-client"),
			reason: "oauth2.unknown_client", want: "No application has the client ID no-such-client."},
		{name: "unregistered redirect_uri", url: r.authURL("s", "redirect_uri", "http://localhost:8000/elsewhere"),
			reason: "oauth2.redirect_uri_mismatch", app: "legacy",
			want: "The redirect URI http://localhost:8000/elsewhere is not registered for legacy. An administrator must add it"},
		{name: "unregistered redirect_uri, in Chinese", url: r.authURL("s", "redirect_uri", "http://localhost:8000/elsewhere"),
			lang: "zh-CN", reason: "oauth2.redirect_uri_mismatch", app: "legacy",
			want: "重定向 URI http://localhost:8000/elsewhere 未在 legacy 中注册"},
		{name: "no redirect_uri, two registered", url: two.authURL("s", "redirect_uri", ""),
			reason: "oauth2.redirect_uri_missing", app: "two-uris", want: "The request has no redirect_uri, and two-uris does not have"},
		{name: "a request_uri of another server", url: r.authURL("s", "request_uri", "https://client.example/request.jwt"),
			reason: "oauth2.request_uri_not_supported", want: "The request_uri was not issued by this server."},
		{name: "an unknown pushed request", url: r.authURL("s", "request_uri", "urn:ietf:params:oauth:request_uri:nope"),
			reason: "oauth2.invalid_request_uri", want: "The pushed authorization request (request_uri) has expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.lang != "" {
				hdr = []string{"Accept-Language", tc.lang}
			}
			f := c.front(tc.url, hdr...)
			body := html.UnescapeString(f.body)
			rid := f.header.Get("X-Request-Id")
			if f.status != http.StatusBadRequest || f.loc != "" || strings.Contains(body, `action="`+testRedirect) {
				t.Fatalf("want a 400 page and nothing sent to a redirect URI, got %d %q:\n%s", f.status, f.loc, body)
			}
			if !strings.Contains(body, tc.want) || !strings.Contains(body, rid) || strings.Contains(body, "Something went wrong") {
				t.Errorf("the page must say %q and show the request ID %s:\n%s", tc.want, rid, body)
			}
			ev := e.eventOf("configuration_error", rid)
			if ev == nil || ev.Context["reason"] != tc.reason || ev.App != tc.app || ev.Context["message"] == "" {
				t.Errorf("want a configuration_error event with reason %s, application %q and the message, got %+v", tc.reason, tc.app, ev)
			}
			if l := logLine(t, logs, "oauth2: authorization request refused", rid); l == nil || l["reason"] != tc.reason {
				t.Errorf("want a log line with request_id %s and reason %s, got %v", rid, tc.reason, l)
			}
		})
	}
}

// TestOIDCDiscoveryRequestURI: discovery says what is true. Only the PAR
// endpoint's own request URIs are taken, and OIDC Discovery's
// request_uri_parameter_supported defaults to true when left out, so it is
// false, explicitly; PAR is advertised on its own.
func TestOIDCDiscoveryRequestURI(t *testing.T) {
	e := newEnv(t)
	e.oidcApp("legacy", nil)
	resp, err := http.Get(e.URL + "/application/o/legacy/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if v, ok := doc["request_uri_parameter_supported"]; !ok || v != false {
		t.Errorf("request_uri_parameter_supported = %v (present %v), want false", v, ok)
	}
	if doc["pushed_authorization_request_endpoint"] != e.URL+"/application/o/par/" {
		t.Errorf("pushed_authorization_request_endpoint = %v", doc["pushed_authorization_request_endpoint"])
	}
}

// TestOIDCConsentDenyReachesTheClient: Deny on the consent page sends
// error=access_denied with the state to the client's redirect URI, in the
// response mode it asked for (RFC 6749 §4.1.2.1), with nothing else, and
// records the refusal.
func TestOIDCConsentDenyReachesTheClient(t *testing.T) {
	e, _, c := legacyApp(t)
	id, secret := e.oidcApp("explicit", func(c *oauth2.Config) {
		c.AuthorizationFlow = e.flowID("default-provider-authorization-explicit-consent")
	})
	r := e.rp("explicit", id, secret)
	for _, tc := range []struct {
		mode string
		kv   []string
	}{
		{"query", nil},
		{"fragment", []string{"response_type", "id_token", "nonce", "n"}},
		{"form_post", []string{"response_mode", "form_post"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			f := c.answerConsent(t, c.follow(r.authURL(hostileState, tc.kv...)), "deny", "true")
			mode, p := f.callback(t)
			if mode != tc.mode || p.Get("error") != "access_denied" || p.Get("error_description") == "" {
				t.Fatalf("want access_denied with a description in the %s, got %s %v", tc.mode, mode, p)
			}
			if p.Get("state") != hostileState {
				t.Errorf("state: want %q back exactly, got %q", hostileState, p.Get("state"))
			}
			for _, k := range []string{"code", "access_token", "id_token"} {
				if p.Has(k) {
					t.Errorf("a refusal carries %s", k)
				}
			}
		})
	}
	denied := 0
	for _, ev := range e.events("authorize_application") {
		if ev.App == "explicit" && ev.Context["authorized"] == false && ev.Context["reason"] == "consent" {
			denied++
		}
	}
	if denied != 3 {
		t.Errorf("want 3 authorize_application events with authorized false and reason consent, got %d", denied)
	}
	// The refusal is not remembered: the next request asks again.
	if f := c.follow(r.authURL("again")); !consentTokRe.MatchString(f.body) {
		t.Errorf("after Deny the next request must ask again, got %d %q", f.status, f.loc)
	}
}

// TestOAuth2ServerErrorsAreLoggedWithTheirCause: a store failure behind
// each JSON endpoint answers 500 server_error with the fixed description
// and nothing of the cause, and the log line for the response's request ID
// says what failed.
func TestOAuth2ServerErrorsAreLoggedWithTheirCause(t *testing.T) {
	logs := &syncBuffer{}
	e := newEnvWith(t, envOptions{log: logs})
	id, secret := e.oidcApp("billing", nil)
	if _, err := e.app.DB().SQL().Exec(`ALTER TABLE artifacts RENAME TO artifacts_unavailable`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		form       url.Values
		bearer     bool
	}{
		{"token", "/application/o/token/", url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}, false},
		{"introspection", "/application/o/introspect/", url.Values{"token": {"some-token"}}, false},
		{"revocation", "/application/o/revoke/", url.Values{"token": {"some-token"}}, false},
		{"userinfo", "/application/o/userinfo/", url.Values{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.URL+tc.path, strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.bearer {
				req.Header.Set("Authorization", "Bearer some-token")
			} else {
				req.SetBasicAuth(id, secret)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := `{"error":"server_error","error_description":"The server could not complete the request."}`
			if resp.StatusCode != http.StatusInternalServerError || strings.TrimSpace(string(raw)) != want {
				t.Fatalf("want 500 %s, got %d %s", want, resp.StatusCode, raw)
			}
			rid := resp.Header.Get("X-Request-Id")
			l := logLine(t, logs, "oauth2: server_error", rid)
			if cause, _ := l["error"].(string); l == nil || l["level"] != "ERROR" || !strings.Contains(cause, "artifacts") {
				t.Errorf("want an ERROR line for request %s whose error names the missing table, got %v", rid, l)
			}
		})
	}
}
