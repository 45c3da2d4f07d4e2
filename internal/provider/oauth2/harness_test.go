package oauth2_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/crypto/keys"
	"github.com/gatehouse-id/gatehouse/internal/crypto/password"
	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/stage"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/provider"
	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/session/sessionhttp"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// The grant tests drive the provider alone on an httptest server: one
// SQLite tenant with the default blueprints and key, the Service with the
// flow engine it runs authorizations on, and a stand-in for the login flow
// (/test/login sets the session's user). They take seconds, so a change to
// one grant is checked without building the whole product (internal/app
// drives the same endpoints end to end with third-party clients).

const (
	testRedirect = "https://app.example.com/callback"
	testSecret   = "test-secret-key-that-is-long-enough-0123456789"
)

// grantEnv is the provider on a test server.
type grantEnv struct {
	t   *testing.T
	svc *oauth2.Service
	srv *httptest.Server
	sc  store.Scope
	key *store.CertificateKeyPair

	mu     sync.Mutex
	now    time.Time // zero: the real clock
	events []*store.Event
}

func newGrantEnv(t *testing.T) *grantEnv {
	t.Helper()
	ctx := context.Background()
	db, sc := sqlitetest.Default(t)
	box, err := secretbox.New(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	e := &grantEnv{t: t, sc: sc}
	km := keys.NewManager(db, box, time.Now)
	if e.key, err = km.EnsureDefault(ctx, sc); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	policies := policy.NewEngine(policy.Kinds(time.Now), policy.Hooks{}, log)
	renderer, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	sessions := session.NewManager(time.Hour, "")
	cookies := sessionhttp.New(sessions)
	env := &provider.Env{Store: db, Box: box, Core: core.New(db, password.NewHasher(password.DefaultParams, 0), log),
		Sessions: cookies, Policies: policies, Web: renderer, Events: e.record, Log: log, Now: e.clock}
	e.svc = oauth2.New(env, oauth2.ManagedKeys(km))
	kinds := stage.Kinds()
	maps.Copy(kinds, env.AuthorizationStages())
	maps.Copy(kinds, e.svc.StageKinds())
	env.Executor = flow.NewExecutor(&flow.Env{Core: env.Core, Policies: policies, Sessions: sessions, Events: e.record,
		Log: log, Now: time.Now}, kinds)
	models := blueprint.NewRegistry()
	e.svc.RegisterBlueprint(models)
	if _, err := blueprint.ApplyDefaults(ctx, sc, blueprint.Options{Box: box, Models: models}); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	e.svc.Mount(mux)
	mux.HandleFunc("GET /test/login", func(w http.ResponseWriter, r *http.Request) {
		sess, err := cookies.Load(r.Context(), r, sc)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sessions.Login(sess, uuid.MustParse(r.URL.Query().Get("user")), time.Hour, []string{"pwd"})
		if err := cookies.Save(r.Context(), w, r, sess); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	ten, err := db.Tenants().Get(ctx, sc.TenantID())
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := "http://" + r.Host
		info := &httpx.Info{Origin: reqinfo.Origin{RequestID: "test", ClientIP: "127.0.0.1", Method: r.Method,
			Path: r.URL.Path, UserAgent: r.UserAgent()}, Host: r.Host, BaseURL: base, PublicURL: base, Tenant: ten}
		mux.ServeHTTP(w, r.WithContext(httpx.WithInfo(r.Context(), info)))
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *grantEnv) record(_ context.Context, _ store.Scope, ev *store.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, ev)
}

// eventsOf returns the recorded events of action.
func (e *grantEnv) eventsOf(action string) []*store.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*store.Event
	for _, ev := range e.events {
		if ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

func (e *grantEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.now.IsZero() {
		return time.Now()
	}
	return e.now
}

// advance moves the provider's clock d ahead of now.
func (e *grantEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = time.Now().Add(d)
}

// resetClock gives the provider the real clock back.
func (e *grantEnv) resetClock() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = time.Time{}
}

// app creates an application with an OAuth2 provider (the tenant's
// default flows, key and scope mappings; mod may change its settings) and
// returns its credentials.
func (e *grantEnv) app(slug string, mod func(*oauth2.Config)) (clientID, secret string) {
	e.t.Helper()
	ctx := context.Background()
	defs, err := oauth2.LoadTenantDefaults(ctx, e.sc, e.key.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := oauth2.Defaults()
	cfg.RedirectURIs = []oauth2.RedirectURI{{MatchingMode: "strict", URL: testRedirect}}
	if mod != nil {
		mod(&cfg)
	}
	created, err := oauth2.CreateProvider(ctx, e.sc, e.svc.Box, defs, oauth2.NewProvider{Name: slug, Config: &cfg})
	if err != nil {
		e.t.Fatal(err)
	}
	a := &store.Application{Name: slug, Slug: slug, ProviderID: uuid.NullUUID{UUID: created.Provider.ID, Valid: true}}
	if err := e.sc.Applications().Create(ctx, a); err != nil {
		e.t.Fatal(err)
	}
	return created.ClientID, created.ClientSecret
}

// user creates an active user.
func (e *grantEnv) user(name string) *store.User {
	e.t.Helper()
	u := &store.User{Username: name, Name: name, Email: name + "@example.com", Type: store.UserInternal, IsActive: true}
	if err := e.sc.Users().Create(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// appPassword gives u an app password and returns it.
func (e *grantEnv) appPassword(u *store.User) string {
	e.t.Helper()
	secret, err := e.svc.Core.CreateToken(context.Background(), e.sc,
		&store.Token{UserID: u.ID, Intent: store.IntentAppPassword}, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// browser is a cookie jar that does not follow redirects.
type browser struct {
	e    *grantEnv
	http *http.Client
}

// browser returns a browser logged in as u.
func (e *grantEnv) browser(u *store.User) *browser {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{e: e, http: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if resp := b.get("/test/login?user=" + u.ID.String()); resp.status != http.StatusOK {
		e.t.Fatalf("test login: %d %s", resp.status, resp.body)
	}
	return b
}

type page struct {
	status int
	loc    string
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	resp, err := b.http.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header.Get("Location"), string(body)}
}

func (b *browser) get(path string) page {
	req, _ := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// pkce is a verifier and its S256 challenge.
type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	v := strings.Repeat("v", 20) + uuid.NewString()
	sum := sha256.Sum256([]byte(v))
	return pkce{v, base64.RawURLEncoding.EncodeToString(sum[:])}
}

// code runs the authorization endpoint for clientID with scope and PKCE p
// and returns the code the browser is sent back with.
func (b *browser) code(clientID, scope string, p pkce) string {
	b.e.t.Helper()
	q := url.Values{"client_id": {clientID}, "redirect_uri": {testRedirect}, "response_type": {"code"},
		"scope": {scope}, "state": {"st"}, "code_challenge": {p.challenge}, "code_challenge_method": {"S256"}}
	pg := b.get("/application/o/authorize/?" + q.Encode())
	if pg.status != http.StatusFound || !strings.HasPrefix(pg.loc, testRedirect) {
		b.e.t.Fatalf("authorize: want a redirect to the client, got %d %q", pg.status, pg.loc)
	}
	u, _ := url.Parse(pg.loc)
	if u.Query().Get("state") != "st" || u.Query().Get("code") == "" {
		b.e.t.Fatalf("authorize: want a code and the state, got %q", pg.loc)
	}
	return u.Query().Get("code")
}

// csrf is the CSRF token of a page's form.
func (p page) csrf(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token in the page (%d):\n%s", p.status, p.body)
	}
	return m[1]
}

// tokenAnswer is the token endpoint's answer: tokens, or an RFC 6749 error.
type tokenAnswer struct {
	status       int
	header       http.Header
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

// token posts form to the token endpoint, authenticating with HTTP Basic
// when clientID is given (else the form carries what the test wants).
func (e *grantEnv) token(clientID, secret string, form url.Values) tokenAnswer {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/application/o/token/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientID != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	a := tokenAnswer{status: resp.StatusCode, header: resp.Header}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		e.t.Fatalf("token endpoint: status %d, the body is not JSON: %v", resp.StatusCode, err)
	}
	return a
}

// wantError fails unless a is the RFC 6749 error code with status.
func (a tokenAnswer) wantError(t *testing.T, what string, status int, code string) {
	t.Helper()
	if a.status != status || a.Error != code || a.AccessToken != "" {
		t.Errorf("%s: want %d %s, got %d %q (%s), access token %t", what, status, code, a.status, a.Error, a.Description,
			a.AccessToken != "")
	}
	if cc := a.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", what, cc)
	}
}

// wantTokens fails unless a carries an access token, and an ID and refresh
// token as asked.
func (a tokenAnswer) wantTokens(t *testing.T, what string, idToken, refresh bool) {
	t.Helper()
	if a.status != http.StatusOK || a.AccessToken == "" || a.TokenType != "Bearer" || a.ExpiresIn <= 0 {
		t.Fatalf("%s: want tokens, got %d %q (%s)", what, a.status, a.Error, a.Description)
	}
	if (a.IDToken != "") != idToken || (a.RefreshToken != "") != refresh {
		t.Errorf("%s: id_token %t, refresh_token %t; want %t, %t", what, a.IDToken != "", a.RefreshToken != "", idToken, refresh)
	}
}

// userinfo is what the userinfo endpoint says of an access token: its
// status and the sub claim.
func (e *grantEnv) userinfo(accessToken string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/application/o/userinfo/", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var claims struct {
		Sub               string `json:"sub"`
		PreferredUsername string `json:"preferred_username"`
	}
	json.NewDecoder(resp.Body).Decode(&claims)
	return resp.StatusCode, claims.PreferredUsername
}
