package flowhttp_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/crypto/password"
	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/stage"
	"github.com/gatehouse-id/gatehouse/internal/flowhttp"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/session/sessionhttp"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

const alicePassword = "Correct-Horse-9"

// front is the flow front on an httptest server, over a fresh SQLite
// store with the default blueprints and a user alice, behind a stand-in
// for the server's middleware (request ID, client address, tenant).
type front struct {
	t   *testing.T
	srv *httptest.Server
	sc  store.Scope
}

func newFront(t *testing.T) *front {
	t.Helper()
	db, sc := sqlitetest.Default(t)
	ctx := t.Context()
	if _, err := blueprint.ApplyDefaults(ctx, sc, blueprint.Options{}); err != nil {
		t.Fatal(err)
	}
	tenant, err := db.Tenants().EnsureDefault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := core.New(db, password.NewHasher(password.Params{Memory: 8, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, 0), nil)
	if err := c.CreateUser(ctx, sc, &store.User{Username: "alice", Type: store.UserInternal, IsActive: true}, alicePassword); err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New("a-test-secret-key-of-enough-length-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	sessions := session.NewManager(0, "")
	plenty := func() *ratelimit.Limiter { return ratelimit.New(100, 100, 100) }
	env := &flow.Env{Core: c, Policies: policy.NewEngine(policy.Kinds(time.Now), policy.Hooks{}, nil), Sessions: sessions,
		Login: &flow.LoginThrottle{IP: plenty(), Account: plenty(), Global: plenty(), Device: plenty(), Box: box, DeviceAge: time.Hour},
		Log:   slog.New(slog.DiscardHandler), Now: time.Now}
	renderer, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	h := &flowhttp.Handler{Store: db, Core: c, Executor: flow.NewExecutor(env, stage.Kinds()), Sessions: sessionhttp.New(sessions),
		Web: renderer, Log: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.Host)
		info := &httpx.Info{Origin: reqinfo.Origin{RequestID: "req-front", ClientIP: "192.0.2.7", Method: r.Method,
			Path: r.URL.Path, UserAgent: r.UserAgent()}, Host: host, Tenant: tenant, BaseURL: "http://" + r.Host,
			PublicURL: "http://" + r.Host}
		mux.ServeHTTP(w, r.WithContext(httpx.WithInfo(r.Context(), info)))
	}))
	t.Cleanup(srv.Close)
	return &front{t: t, srv: srv, sc: sc}
}

// browser is a client with a cookie jar that does not follow redirects.
func (f *front) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (f *front) do(c *http.Client, method, path, contentType, body string) (*http.Response, string) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// challenge is a JSON executor answer.
type challenge map[string]any

func (f *front) json(c *http.Client, method, slug string, answer map[string]any) (int, challenge) {
	f.t.Helper()
	var body string
	if answer != nil {
		b, _ := json.Marshal(answer)
		body = string(b)
	}
	resp, text := f.do(c, method, "/api/v3/flows/executor/"+slug+"/", "application/json", body)
	var ch challenge
	if err := json.Unmarshal([]byte(text), &ch); err != nil {
		f.t.Fatalf("%s %s: not JSON: %s", method, slug, text)
	}
	if resp.Header.Get("Cache-Control") != "no-store" && resp.StatusCode != http.StatusBadRequest {
		f.t.Errorf("a challenge must not be cached")
	}
	return resp.StatusCode, ch
}

func (f *front) cookie(c *http.Client, name string) *http.Cookie {
	u, _ := url.Parse(f.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// TestJSONExecutorLogin: the JSON executor runs the default login; the
// session cookie and the known-device cookie the flow set reach the
// client as Set-Cookie headers.
func TestJSONExecutorLogin(t *testing.T) {
	t.Parallel()
	f := newFront(t)
	c := f.browser()
	const slug = flow.DefaultAuthenticationFlow
	if code, ch := f.json(c, http.MethodGet, slug, nil); code != http.StatusOK || ch["component"] != flow.ComponentIdentification {
		t.Fatalf("first: want 200 identification, got %d %v", code, ch)
	}
	if _, ch := f.json(c, http.MethodPost, slug, map[string]any{"uid_field": "alice"}); ch["component"] != flow.ComponentPassword {
		t.Fatalf("after the identifier: want the password stage, got %v", ch)
	}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/api/v3/flows/executor/"+slug+"/",
		bytes.NewReader([]byte(`{"password": "`+alicePassword+`"}`)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var device *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == flow.DeviceCookie {
			device = ck
		}
	}
	if device == nil || device.SameSite != http.SameSiteStrictMode || !device.HttpOnly || device.MaxAge != 3600 {
		t.Fatalf("the known-device cookie should be set from the flow's result, got %v", resp.Header["Set-Cookie"])
	}
	if f.cookie(c, session.CookieName) == nil {
		t.Fatalf("no session cookie after the login")
	}
	// Logged in: the login flow has nothing left to do.
	if _, ch := f.json(c, http.MethodGet, slug, nil); ch["component"] != flow.ComponentRedirect || ch["to"] != "/" {
		t.Errorf("a logged-in user at the login flow: want a redirect to /, got %v", ch)
	}
}

// TestStatuses: the front end gives a flow's result its HTTP status: 404
// for a flow that does not exist, 500 for a stage that broke (showing
// the request ID only), 200 for a denial; a malformed answer is a 400
// problem.
func TestStatuses(t *testing.T) {
	t.Parallel()
	f := newFront(t)
	c := f.browser()
	if code, ch := f.json(c, http.MethodGet, "no-such-flow", nil); code != http.StatusNotFound || ch["component"] != flow.ComponentAccessDenied {
		t.Errorf("unknown flow: want 404 access denied, got %d %v", code, ch)
	}
	broken, err := json.Marshal(map[string]any{"throw_error": true})
	if err != nil {
		t.Fatal(err)
	}
	st := &store.Object{Name: "broken", Kind: "dummy", Config: broken}
	fl := &store.Flow{Slug: "broken", Name: "broken", Title: "broken", Designation: store.DesignationAuthentication}
	fl.Normalize()
	if f.sc.Stages().Create(t.Context(), st) != nil || f.sc.Flows().Create(t.Context(), fl) != nil ||
		f.sc.FlowStageBindings().Create(t.Context(), &store.FlowStageBinding{FlowID: fl.ID, StageID: st.ID, Order: 10,
			PolicyEngineMode: "any", InvalidResponseAction: "retry"}) != nil {
		t.Fatal("creating the broken flow")
	}
	if code, ch := f.json(c, http.MethodGet, "broken", nil); code != http.StatusInternalServerError ||
		ch["component"] != flow.ComponentFlowError || ch["request_id"] != "req-front" {
		t.Errorf("a broken stage: want 500 with the request ID, got %d %v", code, ch)
	}
	if code, ch := f.json(c, http.MethodGet, "default-enrollment-flow", nil); code != http.StatusOK || ch["component"] != flow.ComponentAccessDenied {
		t.Errorf("a flow closed to the public: want 200 access denied, got %d %v", code, ch)
	}
	if resp, body := f.do(c, http.MethodPost, "/api/v3/flows/executor/"+flow.DefaultAuthenticationFlow+"/",
		"text/plain", `{}`); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "application/json") {
		t.Errorf("a non-JSON answer: want 400 naming the content type, got %d %s", resp.StatusCode, body)
	}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// TestHTMLExecutorLogin: the HTML executor shows pages, answers a form
// with a redirect back to the flow (post-redirect-get), shows the stage
// again with a clear message when the CSRF token is missing, and ends the
// login with the redirect page rather than a redirect (the form-action
// rule).
func TestHTMLExecutorLogin(t *testing.T) {
	t.Parallel()
	f := newFront(t)
	c := f.browser()
	path := flow.FlowURL(flow.DefaultAuthenticationFlow)
	form := func(values url.Values) (*http.Response, string) {
		t.Helper()
		return f.do(c, http.MethodPost, path, "application/x-www-form-urlencoded", values.Encode())
	}
	resp, page := f.do(c, http.MethodGet, path, "", "")
	m := csrfField.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("the login page: want 200 with a CSRF field, got %d", resp.StatusCode)
	}
	token := m[1]

	resp, page = form(url.Values{"uid_field": {"alice"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Your session expired, please try again.") {
		t.Fatalf("a form without the CSRF token: want the stage again with the message, got %d", resp.StatusCode)
	}
	resp, _ = form(url.Values{"uid_field": {"alice"}, "csrf_token": {token}})
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != path {
		t.Fatalf("an answer: want a redirect back to the flow, got %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = f.do(c, http.MethodGet, path, "", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="password"`) {
		t.Fatalf("then the password page, got %d", resp.StatusCode)
	}
	resp, _ = form(url.Values{"password": {alicePassword}, "csrf_token": {token}})
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != path {
		t.Fatalf("the password: want a redirect back to the flow, got %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The GET that follows is still the form's navigation: the flow ends
	// with the redirect page.
	resp, page = f.do(c, http.MethodGet, path, "", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `http-equiv="refresh" content="0; url=/"`) {
		t.Fatalf("the end of the login: want the redirect page to /, got %d", resp.StatusCode)
	}
	resp, _ = f.do(c, http.MethodGet, "/", "", "")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/if/user/" {
		t.Errorf("a logged-in internal user at /: want /if/user/, got %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestClient: how an HTTP request is described to the flow engine.
func TestClient(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/if/flow/x/?next=/a", nil)
	r.Header.Set("User-Agent", "test-browser")
	r.Header.Set("Accept-Language", "zh-CN,en;q=0.5")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.AddCookie(&http.Cookie{Name: flow.DeviceCookie, Value: "known"})
	r.AddCookie(&http.Cookie{Name: session.CookieName, Value: "secret"})
	info := &httpx.Info{Origin: reqinfo.Origin{RequestID: "req-1", ClientIP: "192.0.2.9"}, Host: "login.example",
		PublicURL: "https://login.example", Secure: true}
	r = r.WithContext(httpx.WithInfo(r.Context(), info))
	got := flowhttp.Client(r)
	want := flow.Client{RequestID: "req-1", IP: "192.0.2.9", UserAgent: "test-browser", Lang: "zh-Hans", Method: "POST",
		Path: "/if/flow/x/", Host: "login.example", AcceptLanguage: "zh-CN,en;q=0.5", PublicURL: "https://login.example",
		Secure: true, CrossSite: true, Cookies: map[string]string{flow.DeviceCookie: "known"}}
	if g, w := describe(got), describe(want); g != w {
		t.Errorf("want %s\ngot  %s", w, g)
	}
}

func describe(c flow.Client) string {
	b, _ := json.Marshal(c)
	return string(b)
}

func TestStatus(t *testing.T) {
	t.Parallel()
	for f, want := range map[flow.Failure]int{flow.NoFailure: http.StatusOK, flow.NotFound: http.StatusNotFound,
		flow.InternalError: http.StatusInternalServerError} {
		if got := flowhttp.Status(flow.Result{Failure: f}); got != want {
			t.Errorf("Status(failure %d) = %d, want %d", f, got, want)
		}
	}
}
