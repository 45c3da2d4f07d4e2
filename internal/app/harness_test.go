package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testEnv is the whole product on an httptest server reachable as
// "localhost" (browsers refuse some features on IP addresses), with a real
// SMTP server catching mail and the job queue running.
type testEnv struct {
	t    testing.TB
	app  *App
	srv  *httptest.Server
	URL  string
	smtp *mailtest.Server
	sc   store.Scope
}

// newEnv builds the product on a fresh SQLite database. mod may change the
// configuration before the build.
func newEnv(t testing.TB, mod ...func(*config.Config)) *testEnv {
	t.Helper()
	return newEnvWith(t, envOptions{}, mod...)
}

// envOptions change what newEnvWith builds beyond the configuration.
type envOptions struct {
	log io.Writer // if set, receives every log line (debug and up) as JSON
	app Options
}

func newEnvWith(t testing.TB, o envOptions, mod ...func(*config.Config)) *testEnv {
	t.Helper()
	smtp := mailtest.Start(t, mailtest.Options{})
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.SecretKey = "test-secret-key-that-is-long-enough-0123456789"
	cfg.Email = smtp.Config()
	cfg.Listen = config.Listen{}
	// Email addresses are unique and createUser gives every user
	// <name>@example.com: keep akadmin's clear of a test user named root.
	cfg.BootstrapEmail = "akadmin@example.com"
	// Many logins come from 127.0.0.1 in tests; the throttle test sets its own.
	cfg.Throttle = config.Throttle{LoginIPPerMinute: 100000, LoginIPBurst: 100000, LoginUserPerMinute: 100000, LoginUserBurst: 100000,
		LoginGlobalPerMinute: 100000, LoginGlobalBurst: 100000}
	cfg.Throttle.EmailAccountPerHour, cfg.Throttle.EmailIPPerHour = 100000, 100000
	for _, m := range mod {
		m(cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if o.log != nil {
		log = slog.New(slog.NewJSONHandler(o.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err := New(context.Background(), cfg, log, o.app)
	if err != nil {
		t.Fatalf("build the app: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.RunJobs(ctx); close(done) }()
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		a.Close()
	})
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	def, err := a.DB().Tenants().EnsureDefault(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, app: a, srv: srv, URL: "http://localhost:" + port, smtp: smtp, sc: a.DB().Scope(def.ID)}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// applyYAML applies a blueprint to the default tenant.
func (e *testEnv) applyYAML(src string) {
	e.t.Helper()
	bp, err := blueprint.Parse("test.yaml", []byte(src))
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := blueprint.Apply(context.Background(), e.sc, bp, blueprint.Options{Models: e.app.svc.blueprints, ValidateConfig: e.app.svc.validateConfig}); err != nil {
		e.t.Fatal(err)
	}
	e.app.Executor().Invalidate(e.sc.TenantID())
}

// linkFlows sets the default identification stage's enrollment and
// recovery flows, the seed's "enable sign-up" step.
func (e *testEnv) linkFlows(enrollment, recovery bool) {
	e.t.Helper()
	var attrs []string
	if enrollment {
		attrs = append(attrs, "      enrollment_flow: !Find [authentik_flows.flow, [slug, default-enrollment-flow]]")
	}
	if recovery {
		attrs = append(attrs, "      recovery_flow: !Find [authentik_flows.flow, [slug, default-recovery-flow]]")
	}
	e.applyYAML(`version: 1
metadata: {name: link}
entries:
  - model: authentik_stages_identification.identificationstage
    identifiers: {name: default-authentication-identification}
    attrs:
      user_fields: [email, username]
` + strings.Join(attrs, "\n") + "\n")
}

// createUser adds a user with a password.
func (e *testEnv) createUser(username, password string, typ store.UserType) *store.User {
	e.t.Helper()
	u := &store.User{Username: username, Name: strings.ToUpper(username[:1]) + username[1:], Email: username + "@example.com",
		Type: typ, IsActive: true}
	if err := e.app.Core().CreateUser(context.Background(), e.sc, u, password); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// client is one browser: a cookie jar and helpers for both executors.
type client struct {
	e    *testEnv
	http *http.Client
}

func (e *testEnv) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// challenge is a decoded JSON executor answer.
type challenge map[string]any

func (c challenge) component() string { s, _ := c["component"].(string); return s }

// errorCodes lists the response error codes per field.
func (c challenge) errorCodes() map[string][]string {
	out := map[string][]string{}
	errs, _ := c["response_errors"].(map[string]any)
	for f, list := range errs {
		for _, item := range list.([]any) {
			out[f] = append(out[f], item.(map[string]any)["code"].(string))
		}
	}
	return out
}

func (c challenge) hasError(code string) bool {
	for _, codes := range c.errorCodes() {
		for _, got := range codes {
			if got == code {
				return true
			}
		}
	}
	return false
}

// get fetches the current challenge of a flow through the JSON executor.
func (c *client) get(slug string, query url.Values) challenge {
	c.e.t.Helper()
	return c.do(http.MethodGet, slug, query, nil)
}

// post answers the current stage.
func (c *client) post(slug string, body map[string]any) challenge {
	c.e.t.Helper()
	return c.do(http.MethodPost, slug, nil, body)
}

func (c *client) do(method, slug string, query url.Values, body map[string]any) challenge {
	c.e.t.Helper()
	u := c.e.URL + "/api/v3/flows/executor/" + slug + "/"
	if query != nil {
		u += "?query=" + url.QueryEscape(query.Encode())
	}
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var ch challenge
	if err := json.NewDecoder(resp.Body).Decode(&ch); err != nil {
		c.e.t.Fatalf("%s %s: status %d, body is not JSON: %v", method, u, resp.StatusCode, err)
	}
	return ch
}

// status GETs a page and returns the status and redirect target.
func (c *client) status(path string) (int, string) {
	c.e.t.Helper()
	resp, err := c.http.Get(c.e.URL + path)
	if err != nil {
		c.e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 == 3 {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, string(body)
}

// login runs the default authentication flow and fails the test unless it
// ends with a redirect.
func (c *client) login(username, password string) {
	c.e.t.Helper()
	ch := c.post("default-authentication-flow", map[string]any{"uid_field": username})
	if ch.component() != "ak-stage-password" {
		c.e.t.Fatalf("login %s: after identification want the password stage, got %v", username, ch)
	}
	ch = c.post("default-authentication-flow", map[string]any{"password": password})
	if ch.component() != "xak-flow-redirect" {
		c.e.t.Fatalf("login %s: want a redirect after the password, got %v", username, ch)
	}
}

// events returns the recorded event actions, oldest first.
func (e *testEnv) events(action string) []*store.Event {
	e.t.Helper()
	e.app.FlushEvents(context.Background())
	list, _, err := e.sc.Events().List(context.Background(), store.EventQuery{Action: action, Page: store.Page{Size: 100}})
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// waitMail waits for the n-th message and returns the link in it.
func (e *testEnv) waitMail(n int) (mailtest.Received, string) {
	e.t.Helper()
	m := e.smtp.Wait(n)
	link := mailtest.ExtractLink(m.Raw)
	if link == "" {
		e.t.Fatalf("mail %d has no link:\n%s", n, m.Raw)
	}
	return m, link
}
