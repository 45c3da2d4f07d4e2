package flow_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/session"
)

const alicePassword = "Correct-Horse-9"

// login runs the default authentication flow for v: identification, then
// the password, and returns the last result.
func (v *visit) login(username, plain string) flow.Result {
	v.e.t.Helper()
	slug := flow.DefaultAuthenticationFlow
	if r := v.get(slug); component(r) != flow.ComponentIdentification {
		v.e.t.Fatalf("first stage: want identification, got %s", component(r))
	}
	if r := v.post(slug, flow.Response{"uid_field": username}); component(r) != flow.ComponentPassword {
		v.e.t.Fatalf("after the identifier: want the password stage, got %s (%v)", component(r), denial(r))
	}
	return v.post(slug, flow.Response{"password": plain})
}

// TestDefaultLoginWithoutHTTP: the default authentication flow
// (identification, password, login) runs end to end for a client that is
// only a description, with no HTTP request anywhere, as the LDAP bind
// will run it.
func TestDefaultLoginWithoutHTTP(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	alice := e.user("alice", alicePassword)
	v := e.visitor(client)

	res := v.login("alice", alicePassword)
	if to := redirectTo(res); to != "/" || res.Failure != flow.NoFailure {
		t.Fatalf("a right password: want the flow to end with a redirect to /, got %s %q (failure %d)",
			component(res), denial(res), res.Failure)
	}
	if uid := v.sess.UserID(); !uid.Valid || uid.UUID != alice.ID {
		t.Errorf("the session should be alice's, got %v", uid)
	}
	if !slices.Equal(v.sess.Data.AMR, []string{"pwd"}) || v.sess.Data.AuthTime.IsZero() {
		t.Errorf("the login facts: want amr [pwd] and an auth time, got %v at %v", v.sess.Data.AMR, v.sess.Data.AuthTime)
	}
	if v.sess.Data.Plan != nil {
		t.Errorf("a finished flow leaves no plan in the session")
	}
	logins := e.eventsOf("login")
	if len(logins) != 1 || logins[0].ClientIP != client.IP || logins[0].Username != "alice" {
		t.Fatalf("want one login event from %s for alice, got %+v", client.IP, logins)
	}
	if len(res.Cookies) != 0 {
		t.Errorf("no throttle, no known-device cookie: got %+v", res.Cookies)
	}
	// The session is stored like any other; what a browser would get
	// comes back as a value for the front end to send, or not.
	cookies, err := e.env.Sessions.Save(t.Context(), v.sess, session.Client{IP: client.IP, UserAgent: client.UserAgent})
	if err != nil || len(cookies) != 1 || cookies[0].Name != session.CookieName || cookies[0].Value == "" {
		t.Fatalf("saving the logged-in session: want its cookie, got %+v (%v)", cookies, err)
	}
}

// TestWrongPasswordWithoutHTTP: a wrong password shows the password stage
// again with the generic error, records login_failed from the client's
// address, and logs nobody in.
func TestWrongPasswordWithoutHTTP(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	e.user("alice", alicePassword)
	v := e.visitor(client)

	res := v.login("alice", "wrong")
	if component(res) != flow.ComponentPassword {
		t.Fatalf("want the password stage again, got %s", component(res))
	}
	if errs := flow.BaseOf(res.Challenge).ResponseErrors["password"]; len(errs) != 1 || errs[0].Code != "stage.password.invalid" {
		t.Errorf("want the generic password error, got %+v", errs)
	}
	if v.sess.Authenticated() {
		t.Errorf("a wrong password logged the session in")
	}
	if failed := e.eventsOf("login_failed"); len(failed) != 1 || failed[0].ClientIP != client.IP {
		t.Errorf("want one login_failed event from %s, got %+v", client.IP, failed)
	}
}

// TestKnownDeviceCookieIsAnOutput: the login throttle's known-device
// cookie leaves the engine as Result.Cookies, and comes back in
// Client.Cookies: a browser known to the account logs in on its own
// budget when strangers have spent the account's.
func TestKnownDeviceCookieIsAnOutput(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	e.user("alice", alicePassword)
	box, err := secretbox.New("a-test-secret-key-of-enough-length-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	never := 1e-9 // a budget that does not refill during the test
	e.env.Login = &flow.LoginThrottle{IP: ratelimit.New(100, 100, 100), Account: ratelimit.New(never, 1, 100),
		Global: ratelimit.New(100, 100, 100), Device: ratelimit.New(100, 100, 100), Box: box, DeviceAge: time.Hour}

	tls := client
	tls.Secure = true
	res := e.visitor(tls).login("alice", alicePassword)
	if redirectTo(res) != "/" || len(res.Cookies) != 1 {
		t.Fatalf("a login with the throttle on: want a redirect and one cookie, got %s %+v", component(res), res.Cookies)
	}
	c := res.Cookies[0]
	if c.Name != flow.DeviceCookie || c.Value == "" || !c.HTTPOnly || !c.Secure || c.SameSite != session.SameSiteStrict ||
		c.MaxAge != int(time.Hour.Seconds()) || c.Path != "/" {
		t.Fatalf("the known-device cookie: got %+v", c)
	}

	// A stranger spends the account's budget.
	if r := e.visitor(client).login("alice", "wrong"); component(r) != flow.ComponentPassword {
		t.Fatalf("a stranger's wrong password: want the password stage, got %s", component(r))
	}
	limited := func(r flow.Result) bool {
		errs := flow.BaseOf(r.Challenge).ResponseErrors["password"]
		return len(errs) == 1 && errs[0].Code == i18n.PasswordRateLimited
	}
	if r := e.visitor(client).login("alice", alicePassword); !limited(r) {
		t.Fatalf("a new browser after the account's budget is spent: want rate limited, got %s %+v", component(r),
			flow.BaseOf(r.Challenge).ResponseErrors)
	}
	known := client
	known.Cookies = map[string]string{flow.DeviceCookie: c.Value}
	if r := e.visitor(known).login("alice", alicePassword); redirectTo(r) != "/" {
		t.Fatalf("the browser that holds the cookie: want it logged in, got %s %+v", component(r),
			flow.BaseOf(r.Challenge).ResponseErrors)
	}
}
