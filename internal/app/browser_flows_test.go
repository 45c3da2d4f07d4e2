package app

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// These tests drive the default flows' HTML pages in a real headless
// Chromium (browser_test.go): what a person does, click by click, with
// JavaScript on and off. flows_test.go covers the same flows through the
// JSON executor in more detail.

const loginPath = "/if/flow/default-authentication-flow/"

// wantPath fails unless the browser is on path (query ignored).
//
// It waits a moment for the browser to get there: a flow that ends in
// answer to a form shows the redirect page, which then navigates by
// itself.
func wantPath(t testing.TB, b *browser, path string) {
	t.Helper()
	deadline := time.Now().Add(browserTimeout)
	for {
		u, err := url.Parse(b.url())
		if err == nil && u.Path == path {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("want the browser on %s, it is on %s\n  page text:\n%s", path, b.url(), indent(b.text()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// browserLogin fills the default login flow's two pages, from its first
// page, and lands wherever the flow sends the user.
func browserLogin(t testing.TB, b *browser, username, password string) {
	t.Helper()
	b.fill("uid_field", username)
	b.clickText("Log in")
	b.fill("password", password)
	b.clickText("Continue")
}

func TestBrowserInitialSetup(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t, withoutJS())

	b.navigate(e.URL + "/if/flow/initial-setup/")
	if txt := b.waitText("Welcome to gatehouse!"); !strings.Contains(txt, "akadmin") {
		t.Fatalf("the setup page names the user being set up, akadmin:\n%s", indent(txt))
	}
	b.fill("email", "root@example.com")
	b.fill("password", "Correct-Horse-9")
	b.fill("password_repeat", "Correct-Horse-9")
	b.clickText("Continue")
	wantPath(t, b, "/if/user/")
	b.waitText("Logged in as akadmin")
	if code := b.navigate(e.URL + "/if/admin/"); code != 200 {
		t.Fatalf("akadmin is a superuser: want /if/admin/ 200, got %d", code)
	}

	// Log out and back in with the password just set, all without
	// JavaScript.
	b.clickText("Log out")
	wantPath(t, b, loginPath)
	browserLogin(t, b, "akadmin", "Correct-Horse-9")
	wantPath(t, b, "/if/user/")
	b.waitText("Logged in as akadmin")
	if code := b.navigate(e.URL + "/if/flow/initial-setup/"); code != 403 && code != 200 {
		t.Fatalf("initial-setup after setup: got status %d", code)
	}
	b.waitText("Access denied")
}

// TestBrowserLogin logs in with a wrong then the right password and logs
// out, with JavaScript on and off: the pages must not need it, and their
// one script (show password) must run under the Content-Security-Policy.
func TestBrowserLogin(t *testing.T) {
	for _, tc := range []struct {
		name string
		js   bool
	}{
		{"JavaScriptOn", true},
		{"JavaScriptOff", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.createUser("alice", "Alice-Password-1", store.UserInternal)
			e.applyYAML(`version: 1
metadata: {name: show-password}
entries:
  - model: authentik_stages_password.passwordstage
    identifiers: {name: default-authentication-password}
    attrs: {allow_show_password: true}
`)
			b := newBrowser(t, withJS(tc.js))

			// An anonymous visitor at / is sent to log in.
			b.navigate(e.URL + "/")
			wantPath(t, b, loginPath)
			b.waitText("Welcome to gatehouse!")
			b.fill("uid_field", "alice")
			b.clickText("Log in")
			if txt := b.waitText("Password"); !strings.Contains(txt, "alice") {
				t.Fatalf("the password page names the user:\n%s", indent(txt))
			}

			// The "Show password" box is the page's script's: shown and
			// working with JavaScript, absent without.
			if got := b.visible("#show-password"); got != tc.js {
				t.Fatalf("JavaScript %s: want the Show password box visible=%v, got %v", onOff(tc.js), tc.js, got)
			}
			if tc.js {
				b.press("#show-password")
				if typ := b.eval("read the password type", `document.getElementById("id_password").type`); typ != "text" {
					t.Fatalf("Show password: want the password input's type text, got %q", typ)
				}
			}

			b.fill("password", "not-her-password")
			b.clickText("Continue")
			b.waitText("Invalid username or password.")
			if v := b.value("password"); v != "" {
				t.Fatalf("a refused password must not come back in the page, got %q", v)
			}
			b.fill("password", "Alice-Password-1")
			b.clickText("Continue")
			wantPath(t, b, "/if/user/")
			b.waitText("Logged in as alice")
			if n := len(e.events("login_failed")); n != 1 {
				t.Fatalf("want one login_failed event, got %d", n)
			}

			// Log out: the link runs the default invalidation flow
			// (/flows/-/default/invalidation/ -> /if/flow/default-invalidation-flow/ -> /).
			b.clickText("Log out")
			wantPath(t, b, loginPath)
			if n := len(e.events("logout")); n != 1 {
				t.Fatalf("want one logout event, got %d", n)
			}
			b.navigate(e.URL + "/if/user/")
			wantPath(t, b, loginPath)
			// The invalidation flow itself, opened directly, ends on / and
			// so on the login page again.
			b.navigate(e.URL + "/if/flow/default-invalidation-flow/")
			wantPath(t, b, loginPath)
		})
	}
}

func TestBrowserSignUp(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	b := newBrowser(t, withoutJS())

	b.navigate(e.URL + loginPath)
	if txt := b.waitText("Welcome to gatehouse!"); strings.Contains(txt, "Sign up") {
		t.Fatalf("no Sign up link before an admin enables sign-up:\n%s", indent(txt))
	}
	e.linkFlows(true, false)
	b.navigate(e.URL + loginPath)
	b.waitText("Need an account? Sign up")
	b.clickText("Sign up")
	wantPath(t, b, "/if/flow/default-enrollment-flow/")

	b.fill("username", "newbie")
	b.fill("name", "New Bie")
	b.fill("email", "newbie@example.com")
	b.fill("password", "Sign-Up-Password-7")
	b.fill("password_repeat", "Sign-Up-Password-8")
	b.clickText("Continue")
	b.waitText("Passwords don't match.")
	if n := b.eval("count the field errors", `String(document.querySelectorAll(".field-errors").length)`); n == "0" {
		t.Fatalf("the mismatch must be shown at a field, not only at the top:\n%s", indent(b.text()))
	}
	for name, want := range map[string]string{"username": "newbie", "name": "New Bie", "email": "newbie@example.com"} {
		if got := b.value(name); got != want {
			t.Fatalf("after a refused sign-up the form keeps %s: want %q, got %q", name, want, got)
		}
	}
	for _, name := range []string{"password", "password_repeat"} {
		if got := b.value(name); got != "" {
			t.Fatalf("passwords must not come back in the page: %s = %q", name, got)
		}
	}
	if n, _ := e.sc.Users().Count(context.Background()); n != 2 {
		t.Fatalf("a refused sign-up stores nothing: want 2 users, got %d", n)
	}

	b.fill("password", "Sign-Up-Password-7")
	b.fill("password_repeat", "Sign-Up-Password-7")
	b.clickText("Continue")
	b.waitText("Logged in as newbie")
	u, err := e.sc.Users().GetByUsername(context.Background(), "newbie")
	if err != nil || u.Name != "New Bie" || u.Email != "newbie@example.com" || u.Type != store.UserExternal {
		t.Fatalf("sign-up must create the external user as typed: %+v %v", u, err)
	}
}

func TestBrowserRecovery(t *testing.T) {
	e := newEnv(t)
	e.createUser("bob", "Old-Password-1", store.UserInternal)
	e.linkFlows(false, true)
	b := newBrowser(t)

	b.navigate(e.URL + loginPath)
	b.clickText("Forgot password?")
	wantPath(t, b, "/if/flow/default-recovery-flow/")
	b.fill("uid_field", "bob@example.com")
	b.clickText("Continue")
	b.waitText("Check your email")

	m, link := e.waitMail(1)
	if len(m.To) != 1 || m.To[0] != "bob@example.com" {
		t.Fatalf("recovery mail: want it sent to bob@example.com, got %v", m.To)
	}
	if !strings.HasPrefix(link, e.URL+"/if/flow/default-recovery-flow/") {
		t.Fatalf("the link must lead to this server's recovery flow, got %q", link)
	}

	// The mail is read in another browser, as on a phone.
	phone := b.fresh()
	phone.navigate(link)
	phone.waitText("Reset your password")
	phone.fill("password", "New-Password-22")
	phone.fill("password_repeat", "New-Password-22")
	phone.clickText("Continue")
	wantPath(t, phone, "/if/user/")
	phone.waitText("Logged in as bob")

	// Back in the first browser: the old password is gone, the new one
	// works.
	b.navigate(e.URL + loginPath)
	browserLogin(t, b, "bob", "Old-Password-1")
	b.waitText("Invalid username or password.")
	b.fill("password", "New-Password-22")
	b.clickText("Continue")
	wantPath(t, b, "/if/user/")
	b.waitText("Logged in as bob")
}

func TestBrowserSimplifiedChinese(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	e.linkFlows(true, true)
	b := newBrowser(t, withLanguage("zh-CN"))

	b.navigate(e.URL + "/")
	wantPath(t, b, loginPath)
	txt := b.waitText("欢迎使用 gatehouse！")
	for _, want := range []string{"用户名或邮箱", "登录", "忘记密码？", "还没有账号？", "注册"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the login page in Chinese must show %q:\n%s", want, indent(txt))
		}
	}
	if strings.Contains(txt, "Log in") || strings.Contains(txt, "Username") {
		t.Errorf("English left on the Chinese login page:\n%s", indent(txt))
	}
	if lang := b.eval("read the page language", `document.documentElement.lang`); !strings.HasPrefix(lang, "zh") {
		t.Errorf("want <html lang> Chinese, got %q", lang)
	}

	b.fill("uid_field", "alice")
	b.clickText("登录")
	b.waitText("密码")
	b.fill("password", "wrong-password")
	b.clickText("继续")
	b.waitText("用户名或密码错误。")
	b.fill("password", "Alice-Password-1")
	b.clickText("继续")
	wantPath(t, b, "/if/user/")
	b.waitText("当前登录用户：alice")
}
