package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
)

// clock is a manager whose time the test moves.
type clock struct {
	m   *session.Manager
	db  store.Store
	sc  store.Scope
	now time.Time
	// ended records what the Ended hook heard.
	ended []uuid.UUID
}

func newClock(t *testing.T) *clock {
	t.Helper()
	db, sc := sqlitetest.Default(t)
	// The store stamps a new row with its own clock: the test's starts
	// there.
	c := &clock{db: db, sc: sc, now: time.Now().UTC().Truncate(time.Microsecond)}
	c.m = session.NewManager(time.Hour, "login.example")
	c.m.Now = func() time.Time { return c.now }
	c.m.Ended = func(_ context.Context, _ store.Scope, s store.Session) { c.ended = append(c.ended, s.ID) }
	return c
}

var browser = session.Client{IP: "192.0.2.1", UserAgent: "test-browser", Secure: true}

func (c *clock) open(t *testing.T, secret string) *session.Session {
	t.Helper()
	s, err := c.m.Open(t.Context(), c.sc, secret, browser)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// save saves s and returns the session cookie's value ("" when none was
// sent).
func (c *clock) save(t *testing.T, s *session.Session) string {
	t.Helper()
	cookies, err := c.m.Save(t.Context(), s, browser)
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies) > 1 {
		t.Fatalf("want at most the session cookie, got %+v", cookies)
	}
	if len(cookies) == 0 {
		return ""
	}
	return cookies[0].Value
}

// endedOnly checks that the Ended hook heard of id, once, and of nothing
// else.
func (c *clock) endedOnly(t *testing.T, id uuid.UUID) {
	t.Helper()
	if len(c.ended) != 1 || c.ended[0] != id {
		t.Errorf("Ended should hear of %v once, heard %v", id, c.ended)
	}
}

// loggedIn is a stored session of user, with its cookie's secret.
func (c *clock) loggedIn(t *testing.T, user uuid.UUID) (*session.Session, string) {
	t.Helper()
	s := c.open(t, "")
	c.m.Login(s, user, 0, nil)
	return s, c.save(t, s)
}

func (c *clock) user(t *testing.T, name string) uuid.UUID {
	t.Helper()
	u := &store.User{Username: name, Type: store.UserInternal, IsActive: true}
	if err := c.sc.Users().Create(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestNewSessionIsStoredOnlyWithSomethingInIt: a visitor's session costs
// no row until something is saved in it; then it gets a cookie, and the
// cookie finds it again.
func TestNewSessionIsStoredOnlyWithSomethingInIt(t *testing.T) {
	t.Parallel()
	c := newClock(t)
	s := c.open(t, "")
	if v := c.save(t, s); v != "" {
		t.Fatalf("an empty new session: want no cookie, got %q", v)
	}
	if _, err := c.sc.Sessions().Get(t.Context(), s.ID()); err == nil {
		t.Fatalf("an empty new session was stored")
	}
	s.SetValue("k", "v")
	cookies, err := c.m.Save(t.Context(), s, browser)
	if err != nil || len(cookies) != 1 {
		t.Fatalf("want the session cookie, got %+v (%v)", cookies, err)
	}
	ck := cookies[0]
	if ck.Name != session.CookieName || ck.Value == "" || ck.Path != "/" || ck.Domain != "login.example" ||
		!ck.HTTPOnly || !ck.Secure || ck.SameSite != session.SameSiteLax || ck.MaxAge != 0 {
		t.Errorf("the session cookie: got %+v", ck)
	}
	again := c.open(t, ck.Value)
	var v string
	if again.ID() != s.ID() || !again.Value("k", &v) || v != "v" {
		t.Fatalf("the cookie should open the same session with its data, got %v (%q)", again.ID(), v)
	}
	rec := again.Record()
	if rec.IP != browser.IP || rec.UserAgent != browser.UserAgent {
		t.Errorf("the stored client: got %s %q", rec.IP, rec.UserAgent)
	}
	if c.save(t, again) != "" {
		t.Errorf("an unchanged session is not sent again")
	}
}

// TestOpenRefuses: an unknown, expired, oversized or other tenant's
// secret opens a new session, never an error.
func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	c := newClock(t)
	s := c.open(t, "")
	s.MarkDirty()
	secret := c.save(t, s)

	other := &store.Tenant{Name: "other"}
	if err := c.db.Tenants().Create(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func() (*session.Session, error){
		"unknown": func() (*session.Session, error) { return c.m.Open(t.Context(), c.sc, "nope", browser) },
		"oversized": func() (*session.Session, error) {
			return c.m.Open(t.Context(), c.sc, string(make([]byte, 129)), browser)
		},
		"other tenant": func() (*session.Session, error) {
			return c.m.Open(t.Context(), c.db.Scope(other.ID), secret, browser)
		},
	} {
		got, err := open()
		if err != nil || got.ID() == s.ID() || got.Authenticated() {
			t.Errorf("%s: want a new session, got %v (%v)", name, got.ID(), err)
		}
	}
	c.now = c.now.Add(2 * time.Hour) // past the unauthenticated age
	if got := c.open(t, secret); got.ID() == s.ID() {
		t.Errorf("an expired session was opened")
	}
}

// TestLoginIssuesANewSecret: a login binds the user and issues a new
// secret (a secret planted before is worthless after), resets the CSRF
// token and records the login facts; a login over a logged-in session
// starts a new one and ends the old, telling Ended once.
func TestLoginIssuesANewSecret(t *testing.T) {
	t.Parallel()
	c := newClock(t)
	alice, bob := c.user(t, "alice"), c.user(t, "bob")
	s := c.open(t, "")
	csrf := s.CSRFToken()
	planted := c.save(t, s)

	s.Data.NeedsLogin = true
	c.m.Login(s, alice, 12*time.Hour, []string{"pwd"})
	cookies, err := c.m.Save(t.Context(), s, browser)
	if err != nil || len(cookies) != 1 || cookies[0].MaxAge != int((12*time.Hour).Seconds()) {
		t.Fatalf("a login for 12 hours: want a cookie with that max age, got %+v (%v)", cookies, err)
	}
	fresh := cookies[0].Value
	if fresh == planted {
		t.Fatalf("the secret did not change at login")
	}
	if got := c.open(t, planted); got.Authenticated() {
		t.Errorf("the planted secret opens the logged-in session")
	}
	in := c.open(t, fresh)
	if uid := in.UserID(); uid.UUID != alice || in.Data.NeedsLogin || in.Data.AMR[0] != "pwd" || !in.Data.AuthTime.Equal(c.now) {
		t.Errorf("the login facts: got user %v, needs login %v, amr %v, at %v", uid, in.Data.NeedsLogin, in.Data.AMR, in.Data.AuthTime)
	}
	if in.CheckCSRF(csrf) {
		t.Errorf("the CSRF token of the visitor still works after the login")
	}

	first := in.ID()
	c.m.Login(in, bob, 0, []string{"pwd"})
	second := c.save(t, in)
	if in.ID() == first || c.open(t, second).UserID().UUID != bob {
		t.Fatalf("a login over a logged-in session: want a new session for bob")
	}
	if _, err := c.sc.Sessions().Get(t.Context(), first); err == nil {
		t.Errorf("the replaced session still exists")
	}
	c.endedOnly(t, first)
}

// TestEndOnSave: a session ended by a flow is deleted when saved, its
// cookie cleared, and Ended told.
func TestEndOnSave(t *testing.T) {
	t.Parallel()
	c := newClock(t)
	s, secret := c.loggedIn(t, c.user(t, "alice"))
	id := s.ID()

	s.EndOnSave()
	cookies, err := c.m.Save(t.Context(), s, browser)
	if err != nil || len(cookies) != 1 || cookies[0].Value != "" || cookies[0].MaxAge >= 0 {
		t.Fatalf("want the cookie cleared, got %+v (%v)", cookies, err)
	}
	if got := c.open(t, secret); got.Authenticated() {
		t.Errorf("the ended session still opens")
	}
	c.endedOnly(t, id)
}

// TestLastSeenIsWrittenOncePerMinute: an unchanged session is written at
// most once a minute, and a browser-session login slides its expiry then.
func TestLastSeenIsWrittenOncePerMinute(t *testing.T) {
	t.Parallel()
	c := newClock(t)
	s, secret := c.loggedIn(t, c.user(t, "alice"))
	stored, err := c.sc.Sessions().Get(t.Context(), s.ID())
	if err != nil {
		t.Fatal(err)
	}

	c.now = c.now.Add(30 * time.Second)
	c.save(t, c.open(t, secret))
	if rec, _ := c.sc.Sessions().Get(t.Context(), s.ID()); !rec.LastSeen.Equal(stored.LastSeen) {
		t.Errorf("within a minute: want last seen %v, got %v", stored.LastSeen, rec.LastSeen)
	}
	c.now = c.now.Add(time.Minute)
	c.save(t, c.open(t, secret))
	rec, _ := c.sc.Sessions().Get(t.Context(), s.ID())
	if !rec.LastSeen.Equal(c.now) || !rec.Expires.Equal(c.now.Add(c.m.DefaultAge)) {
		t.Errorf("after a minute: want last seen %v and expiry slid to %v, got %v and %v", c.now,
			c.now.Add(c.m.DefaultAge), rec.LastSeen, rec.Expires)
	}
}

// TestUnreadableDataIsDropped: a session whose stored data cannot be read
// opens empty (the user starts the flow again) rather than failing.
func TestUnreadableDataIsDropped(t *testing.T) {
	t.Parallel()
	c := newClock(t)
	s := c.open(t, "")
	s.SetValue("k", "v")
	secret := c.save(t, s)
	rec := s.Record()
	rec.Data = []byte(`{"values": "not an object"`)
	if err := c.sc.Sessions().Save(t.Context(), &rec); err != nil {
		t.Fatal(err)
	}
	got := c.open(t, secret)
	var v string
	if got.ID() != s.ID() || got.Value("k", &v) {
		t.Fatalf("want the same session with its data dropped, got %v (%q)", got.ID(), v)
	}
}

// TestImpersonation: an admin's session acts as the target until the
// impersonation ends; one inside another is refused.
func TestImpersonation(t *testing.T) {
	t.Parallel()
	c := newClock(t)
	admin, target := c.user(t, "admin"), c.user(t, "target")
	s, secret := c.loggedIn(t, admin)

	if err := c.m.Impersonate(t.Context(), s, target); err != nil {
		t.Fatal(err)
	}
	s = c.open(t, secret) // stored at once, under the same cookie
	if s.UserID().UUID != target || s.Impersonator().UUID != admin || session.ImpersonatorOf(s.Record()).UUID != admin {
		t.Fatalf("want target's session with admin behind it, got %v behind %v", s.UserID(), s.Impersonator())
	}
	if err := c.m.Impersonate(t.Context(), s, admin); err != session.ErrImpersonating {
		t.Errorf("an impersonation inside another: want ErrImpersonating, got %v", err)
	}
	orig, ok, err := c.m.EndImpersonation(t.Context(), s)
	if err != nil || !ok || orig != admin || c.open(t, secret).UserID().UUID != admin {
		t.Fatalf("ending it: want the admin back, got %v %v %v", orig, ok, err)
	}
}

// TestEnd: ending a listed session deletes it and tells Ended.
func TestEnd(t *testing.T) {
	t.Parallel()
	c := newClock(t)
	s, _ := c.loggedIn(t, c.user(t, "alice"))
	if err := c.m.End(t.Context(), c.sc, s.ID()); err != nil {
		t.Fatal(err)
	}
	c.endedOnly(t, s.ID())
	if err := c.m.End(t.Context(), c.sc, s.ID()); err == nil {
		t.Errorf("ending it again: want not found")
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	c := newClock(t)
	s := c.open(t, "")
	tok := s.CSRFToken()
	if tok == "" || s.CSRFToken() != tok {
		t.Fatalf("the token is made once and kept")
	}
	for _, bad := range []string{"", tok + "x", tok[:len(tok)-1]} {
		if s.CheckCSRF(bad) {
			t.Errorf("CheckCSRF(%q) passed", bad)
		}
	}
	if !s.CheckCSRF(tok) {
		t.Errorf("the token itself is refused")
	}
	if c.save(t, s) == "" {
		t.Errorf("a session given a token must be stored, with its cookie")
	}
}
