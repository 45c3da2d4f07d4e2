package app

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// What the OAuth2 provider does when it cannot give the client what it
// asked for (docs/security.md, "OAuth 2.0 errors and CORS"): discovery
// says what is true; a server error is logged with its cause and the
// request ID, and only server_error leaves.

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
