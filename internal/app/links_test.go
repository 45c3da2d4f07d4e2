package app

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// as returns browser c with every request carrying "Host: host" (the
// TCP connection still goes to the test server, as a forged request's
// does); it shares c's cookies.
func (c *client) as(host string) *client {
	hc := *c.http
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = hostHeader{host, next}
	return &client{e: c.e, http: &hc}
}

type hostHeader struct {
	host string
	next http.RoundTripper
}

func (h hostHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Host = h.host
	return h.next.RoundTrip(r)
}

// port is the test server's port, for Host headers that name it.
func (e *testEnv) port() string {
	u, _ := url.Parse(e.URL)
	return u.Port()
}

// recoveryEnv is a server with bob and the recovery flow linked.
func recoveryEnv(t *testing.T, mod ...func(*config.Config)) *testEnv {
	e := newEnv(t, mod...)
	e.createUser("bob", "Old-Password-1", store.UserInternal)
	e.linkFlows(false, true)
	return e
}

// TestRecoveryRefusesUntrustedHost is the password-reset poisoning attack:
// an anonymous recovery request for bob with "Host: attacker.example".
// Without external_url, no email may carry that host; the visitor sees a
// message that is the same for real and unknown accounts, and the
// administrator gets a configuration_error event saying what to set. The
// real SMTP server is the witness: the only mail that ever arrives is the
// one asked for on a trusted host.
func TestRecoveryRefusesUntrustedHost(t *testing.T) {
	e := recoveryEnv(t)
	attacker := "attacker.example:" + e.port()
	for _, who := range []string{"bob@example.com", "nobody@example.com"} {
		ch := e.client().as(attacker).post("default-recovery-flow", map[string]any{"uid_field": who})
		if ch.component() != "ak-stage-access-denied" || ch["error_message"] != "The email could not be sent. Please contact your administrator." {
			t.Fatalf("recovery for %s with an untrusted host: want the neutral refusal, got %v", who, ch)
		}
	}
	evs := e.events("configuration_error")
	if len(evs) != 2 {
		t.Fatalf("want a configuration_error event per refused request, got %d", len(evs))
	}
	msg, _ := evs[0].Context["message"].(string)
	if evs[0].Context["host"] != "attacker.example" || !strings.Contains(msg, "external_url (GATEHOUSE_EXTERNAL_URL or AUTHENTIK_EXTERNAL_URL)") ||
		!strings.Contains(msg, "tenant's domains") {
		t.Fatalf("configuration_error: want the host and what to set, got %v", evs[0].Context)
	}

	// The same request on the loopback name the server is reached by is
	// served, and its mail is the first and only one to arrive.
	if ch := e.client().post("default-recovery-flow", map[string]any{"uid_field": "bob@example.com"}); ch.component() != "ak-stage-email" {
		t.Fatalf("recovery on localhost: want the check-your-email page, got %v", ch)
	}
	_, link := e.waitMail(1)
	if !strings.HasPrefix(link, e.URL+"/if/flow/default-recovery-flow/?flow_token=") {
		t.Fatalf("recovery on localhost: want a link to %s, got %q", e.URL, link)
	}
	for _, m := range e.smtp.Messages() {
		if bytes.Contains(m.Raw, []byte("attacker.example")) {
			t.Fatalf("a mail names the attacker's host:\n%s", m.Raw)
		}
	}
	if n := len(e.smtp.Messages()); n != 1 {
		t.Fatalf("want exactly the one mail asked for on a trusted host, got %d", n)
	}
}

// TestRecoveryLinkBase: the link in the mail starts with external_url
// whatever the Host says, or, without it, with the request's host when
// that is a tenant's domain; the token in it works on the real server.
func TestRecoveryLinkBase(t *testing.T) {
	t.Run("external_url", func(t *testing.T) {
		e := recoveryEnv(t, func(c *config.Config) { c.ExternalURL = "https://id.example.com" })
		ch := e.client().as("attacker.example").post("default-recovery-flow", map[string]any{"uid_field": "bob@example.com"})
		if ch.component() != "ak-stage-email" {
			t.Fatalf("with external_url: want the check-your-email page, got %v", ch)
		}
		_, link := e.waitMail(1)
		if !strings.HasPrefix(link, "https://id.example.com/if/flow/default-recovery-flow/?flow_token=") {
			t.Fatalf("with external_url: want the link on it, got %q", link)
		}
		e.useLink(link)
	})
	t.Run("tenant domain", func(t *testing.T) {
		e := recoveryEnv(t)
		ctx := context.Background()
		if err := e.app.DB().Tenants().AddDomain(ctx, e.sc.TenantID(), "id.example.test"); err != nil {
			t.Fatal(err)
		}
		if err := e.app.Server.ReloadTenants(ctx); err != nil {
			t.Fatal(err)
		}
		host := net.JoinHostPort("id.example.test", e.port())
		ch := e.client().as(host).post("default-recovery-flow", map[string]any{"uid_field": "bob@example.com"})
		if ch.component() != "ak-stage-email" {
			t.Fatalf("on a tenant domain: want the check-your-email page, got %v", ch)
		}
		_, link := e.waitMail(1)
		if !strings.HasPrefix(link, "http://"+host+"/if/flow/default-recovery-flow/?flow_token=") {
			t.Fatalf("on a tenant domain: want the link on %s, got %q", host, link)
		}
		e.useLink(link)
	})
}

// useLink opens an emailed recovery link's flow on the test server (the
// host in it need not resolve) and expects the new-password prompt.
func (e *testEnv) useLink(link string) {
	e.t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		e.t.Fatal(err)
	}
	if ch := e.client().get("default-recovery-flow", u.Query()); ch.component() != "ak-stage-prompt" {
		e.t.Fatalf("opening %s: want the new-password prompt, got %v", link, ch)
	}
}

// TestIssuerFollowsHostOnlyForTheRequester: without external_url the
// discovery document names the host it was asked on (as Authentik does),
// and a shared cache may keep it only when that host is trusted; with
// external_url the issuer is pinned whatever the Host.
func TestIssuerFollowsHostOnlyForTheRequester(t *testing.T) {
	discover := func(e *testEnv, host string) (string, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.URL+"/application/o/app/.well-known/openid-configuration", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc struct {
			Issuer string `json:"issuer"`
		}
		json.NewDecoder(resp.Body).Decode(&doc)
		return doc.Issuer, resp.Header.Get("Cache-Control")
	}
	e := newEnv(t)
	e.oidcApp("app", nil)
	if iss, cc := discover(e, "attacker.example"); iss != "http://attacker.example/application/o/app/" || !strings.HasPrefix(cc, "private") {
		t.Errorf("untrusted host: want its issuer, private to the requester; got %q, Cache-Control %q", iss, cc)
	}
	if iss, cc := discover(e, "localhost:"+e.port()); iss != e.URL+"/application/o/app/" || !strings.HasPrefix(cc, "public") {
		t.Errorf("loopback host: want its issuer, cacheable; got %q, Cache-Control %q", iss, cc)
	}
	pinned := newEnv(t, func(c *config.Config) { c.ExternalURL = "https://id.example.com" })
	pinned.oidcApp("app", nil)
	if iss, cc := discover(pinned, "attacker.example"); iss != "https://id.example.com/application/o/app/" || !strings.HasPrefix(cc, "public") {
		t.Errorf("external_url: want the pinned issuer, cacheable; got %q, Cache-Control %q", iss, cc)
	}
}

// TestStartupWarnsWithoutExternalURL: email set up and no external_url
// is worth a warning naming the setting; with external_url, no warning.
func TestStartupWarnsWithoutExternalURL(t *testing.T) {
	const warning = "email is configured but external_url is not"
	logs := &lockedBuffer{}
	newEnvWith(t, envOptions{log: logs})
	if !strings.Contains(logs.String(), warning) || !strings.Contains(logs.String(), "GATEHOUSE_EXTERNAL_URL") {
		t.Errorf("want the start-up warning naming GATEHOUSE_EXTERNAL_URL, logs:\n%s", logs.String())
	}
	logs = &lockedBuffer{}
	newEnvWith(t, envOptions{log: logs}, func(c *config.Config) { c.ExternalURL = "https://id.example.com" })
	if strings.Contains(logs.String(), warning) {
		t.Errorf("with external_url set, want no warning")
	}
	logs = &lockedBuffer{}
	newEnvWith(t, envOptions{log: logs}, func(c *config.Config) { c.Email = config.Defaults().Email })
	if strings.Contains(logs.String(), warning) {
		t.Errorf("with email not set up, want no warning")
	}
}

// metaRefreshRe finds the redirect page's own navigation.
var metaRefreshRe = regexp.MustCompile(`<meta http-equiv="refresh" content="0; url=([^"]*)">`)

// followable is the status and Location of resp as a browser follows it:
// a flow that ends in answer to a form shows the redirect page, whose
// meta refresh the browser follows as it would a 302 (without the form
// page's CSP form-action judging where it goes).
func followable(resp *http.Response, body string) (int, string) {
	if resp.StatusCode == http.StatusOK {
		if m := metaRefreshRe.FindStringSubmatch(body); m != nil {
			return http.StatusFound, html.UnescapeString(m[1])
		}
	}
	return resp.StatusCode, resp.Header.Get("Location")
}
