package sessionhttp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/session/sessionhttp"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
)

// request is a request as the server's middleware leaves it.
func request(secure bool, cookie string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/if/flow/x/", nil)
	r.Header.Set("User-Agent", "test-browser")
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: session.CookieName, Value: cookie})
	}
	info := &httpx.Info{Origin: reqinfo.Origin{ClientIP: "192.0.2.1"}, Secure: secure}
	return r.WithContext(httpx.WithInfo(r.Context(), info))
}

// TestCookieRoundTrip: Save sets the session cookie the request's way
// (Secure over TLS, HttpOnly, SameSite=Lax), Load finds the session by it,
// and a session behind an impersonation names the admin in the request's
// context, where the audit log reads it.
func TestCookieRoundTrip(t *testing.T) {
	t.Parallel()
	_, sc := sqlitetest.Default(t)
	m := sessionhttp.New(session.NewManager(0, ""))
	for _, name := range []string{"admin", "target"} {
		if err := sc.Users().Create(t.Context(), &store.User{Username: name, Type: store.UserInternal, IsActive: true}); err != nil {
			t.Fatal(err)
		}
	}
	admin, _ := sc.Users().GetByUsername(t.Context(), "admin")
	target, _ := sc.Users().GetByUsername(t.Context(), "target")

	r := request(true, "")
	s, err := m.Load(r.Context(), r, sc)
	if err != nil {
		t.Fatal(err)
	}
	m.Login(s, admin.ID, 0, nil)
	w := httptest.NewRecorder()
	if err := m.Save(r.Context(), w, r, s); err != nil {
		t.Fatal(err)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("want one Set-Cookie, got %v", w.Header()["Set-Cookie"])
	}
	c := cookies[0]
	if c.Name != session.CookieName || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("the session cookie: got %+v", c)
	}
	if rec := s.Record(); rec.IP != "192.0.2.1" || rec.UserAgent != "test-browser" {
		t.Errorf("the session should record the request's client, got %s %q", rec.IP, rec.UserAgent)
	}
	if err := m.Impersonate(r.Context(), s, target.ID); err != nil {
		t.Fatal(err)
	}

	r = request(false, c.Value)
	again, err := m.Load(r.Context(), r, sc)
	if err != nil || again.ID() != s.ID() || again.UserID().UUID != target.ID {
		t.Fatalf("the cookie should load the impersonating session, got %v (%v)", again.UserID(), err)
	}
	if httpx.From(r.Context()).Impersonator.UUID != admin.ID || reqinfo.From(r.Context()).Impersonator.UUID != admin.ID {
		t.Errorf("the request should name the impersonator")
	}
}

// TestSetCookies: a transport-free cookie becomes the Set-Cookie header
// it describes.
func TestSetCookies(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	sessionhttp.SetCookies(w, []session.Cookie{
		{Name: "a", Value: "1", Path: "/", MaxAge: 60, HTTPOnly: true, Secure: true, SameSite: session.SameSiteStrict},
		{Name: "b", Path: "/", Domain: "login.example", MaxAge: -1, SameSite: session.SameSiteLax},
	})
	got := w.Header()["Set-Cookie"]
	want := []string{"a=1; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Strict",
		"b=; Path=/; Domain=login.example; Max-Age=0; SameSite=Lax"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("want %q, got %q", want, got)
	}
}
