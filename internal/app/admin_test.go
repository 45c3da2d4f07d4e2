package app

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	xoauth2 "golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The admin console (/if/admin/) driven over HTTP as a browser without
// JavaScript would: GET a page, read its CSRF token, POST its form.

// consolePage is one answer of the console.
type consolePage struct {
	status   int
	body     string
	location string
}

// has reports whether the page's text contains s (HTML entities decoded).
func (p consolePage) has(s string) bool { return strings.Contains(html.UnescapeString(p.body), s) }

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf is the token of the page's first form.
func (p consolePage) csrf(t testing.TB) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token on the page (status %d):\n%s", p.status, p.body)
	}
	return m[1]
}

// consoleGet fetches a console page; hdr are header name, value pairs.
func (c *client) consoleGet(path string, hdr ...string) consolePage {
	c.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.e.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.consoleDo(req)
}

// consolePost submits a form; the CSRF token is read from the page at
// from unless form already has one.
func (c *client) consolePost(from, to string, form url.Values) consolePage {
	c.e.t.Helper()
	if !form.Has("csrf_token") {
		form.Set("csrf_token", c.consoleGet(from).csrf(c.e.t))
	}
	req, _ := http.NewRequest(http.MethodPost, c.e.URL+to, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.consoleDo(req)
}

func (c *client) consoleDo(req *http.Request) consolePage {
	c.e.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return consolePage{status: resp.StatusCode, body: string(b), location: resp.Header.Get("Location")}
}

// adminBrowser is a logged-in superuser's browser.
func (e *testEnv) adminBrowser() *client {
	e.t.Helper()
	e.superuser("root")
	c := e.client()
	c.login("root", "Admin-Password-1")
	return c
}

func TestAdminUsersListCreateEditDelete(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	for _, name := range []string{"alice", "bob", "carol"} {
		e.createUser(name, "Some-Password-1", store.UserInternal)
	}

	p := c.consoleGet("/if/admin/core/users/")
	if p.status != 200 || !p.has("alice") || !p.has("carol") || !p.has("New User") {
		t.Fatalf("user list: %d\n%s", p.status, p.body)
	}
	// Search and paging go to the API: one page of two, a link to the next.
	p = c.consoleGet("/if/admin/core/users/?search=ar")
	if !p.has(">carol<") || p.has(">alice<") || p.has(">bob<") {
		t.Errorf("search for ar: want carol only:\n%s", p.body)
	}
	p = c.consoleGet("/if/admin/core/users/?ordering=-username")
	if i, j := strings.Index(p.body, ">carol<"), strings.Index(p.body, ">alice<"); i < 0 || j < i ||
		!strings.Contains(p.body, `aria-sort="descending"`) {
		t.Errorf("ordering=-username: carol must come before alice:\n%s", p.body)
	}

	// Create through the form.
	p = c.consolePost("/if/admin/core/users/new/", "/if/admin/core/users/new/", url.Values{
		"username": {"dave"}, "name": {"Dave Doe"}, "email": {"dave@example.com"}, "is_active": {"true"}, "type": {"internal"},
		"path": {"users"}, "attributes": {`{"team": "blue"}`}})
	if p.status != http.StatusSeeOther || !strings.Contains(p.location, "?done=created") {
		t.Fatalf("create: want 303 to the new user, got %d %q\n%s", p.status, p.location, p.body)
	}
	dave, err := e.sc.Users().GetByUsername(context.Background(), "dave")
	if err != nil || dave.Name != "Dave Doe" || dave.Email != "dave@example.com" || dave.Attributes["team"] != "blue" || !dave.IsActive {
		t.Fatalf("created user: %+v, %v", dave, err)
	}
	detail := "/if/admin/core/users/" + dave.ID.String() + "/"
	if p.location != detail+"?done=created" {
		t.Errorf("create went to %q, want the user's page", p.location)
	}
	p = c.consoleGet(p.location)
	if p.status != 200 || !p.has("Dave Doe") || !p.has("Created.") || !p.has(`"team": "blue"`) {
		t.Errorf("user page after create: %d\n%s", p.status, p.body)
	}
	if len(e.events("model_created")) == 0 {
		t.Error("the console's create recorded no model_created event: it must go through the API")
	}

	// Edit: the form shows the current values; only changes are sent.
	p = c.consoleGet(detail + "edit/")
	if p.status != 200 || !strings.Contains(p.body, `value="Dave Doe"`) || !strings.Contains(p.body, `name="version" value="&#34;1&#34;"`) {
		t.Fatalf("edit form: %d\n%s", p.status, p.body)
	}
	form := url.Values{"username": {"dave"}, "name": {"David Doe"}, "email": {"dave@example.com"}, "is_active": {"true"},
		"type": {"internal"}, "path": {"users"}, "attributes": {`{"team": "blue"}`}, "version": {`"1"`}}
	p = c.consolePost(detail+"edit/", detail+"edit/", form)
	if p.status != http.StatusSeeOther || p.location != detail+"?done=saved" {
		t.Fatalf("edit: %d %q\n%s", p.status, p.location, p.body)
	}
	if u, _ := e.sc.Users().Get(context.Background(), dave.ID); u.Name != "David Doe" {
		t.Errorf("after edit the name is %q", u.Name)
	}
	// The same form again is a lost update: refused, input kept.
	form.Set("name", "Lost Update")
	p = c.consolePost(detail+"edit/", detail+"edit/", form)
	if p.status != http.StatusPreconditionFailed || !p.has("changed this object") || !strings.Contains(p.body, `value="Lost Update"`) {
		t.Errorf("stale edit: want 412 with the input kept, got %d\n%s", p.status, p.body)
	}
	// Unchecking a box is a change too.
	form.Set("version", `"2"`)
	form.Set("name", "David Doe")
	form.Del("is_active")
	if p = c.consolePost(detail+"edit/", detail+"edit/", form); p.status != http.StatusSeeOther {
		t.Fatalf("deactivate: %d\n%s", p.status, p.body)
	}
	if u, _ := e.sc.Users().Get(context.Background(), dave.ID); u.IsActive {
		t.Error("unchecking Active did not deactivate the user")
	}

	// Delete asks first; the question page deletes nothing.
	p = c.consoleGet(detail + "delete/")
	if p.status != 200 || !p.has("Delete User “dave”?") || !p.has("cannot be undone") {
		t.Fatalf("delete confirmation: %d\n%s", p.status, p.body)
	}
	if _, err := e.sc.Users().Get(context.Background(), dave.ID); err != nil {
		t.Fatal("showing the confirmation deleted the user")
	}
	p = c.consolePost(detail+"delete/", detail+"delete/", url.Values{})
	if p.status != http.StatusSeeOther || p.location != "/if/admin/core/users/?done=deleted" {
		t.Fatalf("delete: %d %q\n%s", p.status, p.location, p.body)
	}
	if _, err := e.sc.Users().Get(context.Background(), dave.ID); err == nil {
		t.Error("the user is still there after delete")
	}
	if p = c.consoleGet(detail); p.status != 404 {
		t.Errorf("deleted user's page: %d, want 404", p.status)
	}
	// The API's own rules stay the API's: nobody deletes themselves.
	root, _ := e.sc.Users().GetByUsername(context.Background(), "root")
	self := "/if/admin/core/users/" + root.ID.String() + "/delete/"
	if p = c.consolePost(self, self, url.Values{}); p.status != 400 || !p.has("You cannot delete yourself.") {
		t.Errorf("deleting oneself: %d\n%s", p.status, p.body)
	}
}

func TestAdminUserListPagesThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	for i := range 45 {
		e.createUser("user"+string(rune('a'+i/26))+string(rune('a'+i%26)), "", store.UserInternal)
	}
	p := c.consoleGet("/if/admin/core/users/?search=user")
	if !p.has("45 results, page 1 of 3") || !strings.Contains(p.body, `rel="next"`) || strings.Contains(p.body, `rel="prev"`) {
		t.Fatalf("first page: want 20 of 45 with a next link:\n%s", p.body)
	}
	if n := strings.Count(p.body, `<th scope="row">`); n != 20 {
		t.Errorf("first page has %d rows, want 20", n)
	}
	p = c.consoleGet("/if/admin/core/users/?search=user&page=3")
	if !p.has("page 3 of 3") || strings.Count(p.body, `<th scope="row">`) != 5 || !strings.Contains(p.body, `rel="prev"`) {
		t.Errorf("last page: want 5 rows and a previous link:\n%s", p.body)
	}
}

func TestAdminApplicationsCRUD(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	p := c.consolePost("/if/admin/core/applications/new/", "/if/admin/core/applications/new/", url.Values{
		"name": {"Wiki"}, "slug": {"wiki"}, "meta_launch_url": {"https://wiki.example.com/"}, "policy_engine_mode": {"any"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("create application: %d\n%s", p.status, p.body)
	}
	app, err := e.sc.Applications().GetBySlug(context.Background(), "wiki")
	if err != nil || app.LaunchURL != "https://wiki.example.com/" {
		t.Fatalf("created application: %+v %v", app, err)
	}
	p = c.consoleGet("/if/admin/core/applications/")
	if !strings.Contains(p.body, `href="https://wiki.example.com/" rel="noopener noreferrer"`) {
		t.Errorf("application list: no launch link:\n%s", p.body)
	}
	detail := "/if/admin/core/applications/" + app.ID.String() + "/"
	p = c.consolePost(detail+"edit/", detail+"edit/", url.Values{"name": {"Team wiki"}, "slug": {"wiki"},
		"meta_launch_url": {"https://wiki.example.com/"}, "policy_engine_mode": {"any"}, "provider": {""}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("edit application: %d\n%s", p.status, p.body)
	}
	if a, _ := e.sc.Applications().Get(context.Background(), app.ID); a.Name != "Team wiki" {
		t.Errorf("after edit: %q", a.Name)
	}
	// The application's page offers its policy bindings.
	p = c.consoleGet(detail)
	if !p.has("Policy, group and user bindings") || !p.has("Bind a policy, group or user") {
		t.Errorf("application page: no bindings panel:\n%s", p.body)
	}
	p = c.consolePost(detail+"delete/", detail+"delete/", url.Values{})
	if p.status != http.StatusSeeOther {
		t.Fatalf("delete application: %d\n%s", p.status, p.body)
	}
	if _, err := e.sc.Applications().Get(context.Background(), app.ID); err == nil {
		t.Error("application still there")
	}
}

func TestAdminFieldErrorsKeepInput(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	e.createUser("taken", "", store.UserInternal)
	p := c.consolePost("/if/admin/core/users/new/", "/if/admin/core/users/new/", url.Values{
		"username": {"bad name!"}, "name": {"Keep <Me>"}, "email": {"not-an-email"}, "type": {"internal"}, "attributes": {"{nope"}})
	if p.status != 400 {
		t.Fatalf("invalid JSON: want 400, got %d", p.status)
	}
	// A value the console cannot parse is reported without asking the API.
	if !p.has("Enter valid JSON.") || !strings.Contains(p.body, `value="Keep &lt;Me&gt;"`) || !strings.Contains(p.body, "{nope</textarea>") {
		t.Errorf("local error: want the JSON error with all input kept:\n%s", p.body)
	}
	p = c.consolePost("/if/admin/core/users/new/", "/if/admin/core/users/new/", url.Values{
		"username": {"bad name!"}, "name": {"Keep <Me>"}, "email": {"not-an-email"}, "type": {"internal"}})
	if p.status != 400 {
		t.Fatalf("invalid user: want 400, got %d\n%s", p.status, p.body)
	}
	for _, want := range []string{
		`<ul class="field-errors" id="e_f_username">`, "Use only letters, digits and @ . + - _.",
		`<ul class="field-errors" id="e_f_email">`, "Enter a valid email address.",
		`value="bad name!"`, `value="not-an-email"`, `value="Keep &lt;Me&gt;"`, `aria-invalid="true"`,
	} {
		if !strings.Contains(html.UnescapeString(p.body), html.UnescapeString(want)) {
			t.Errorf("invalid user: page lacks %q", want)
		}
	}
	// The error sits next to its field: the username's list follows its input.
	if i, j := strings.Index(p.body, `name="username"`), strings.Index(p.body, `id="e_f_username"`); i < 0 || j < i ||
		strings.Contains(p.body[i:j], `name="name"`) {
		t.Error("the username's error is not right after the username field")
	}
	// A duplicate: the API's 409 on the field.
	p = c.consolePost("/if/admin/core/users/new/", "/if/admin/core/users/new/", url.Values{
		"username": {"taken"}, "name": {"Other"}, "type": {"internal"}})
	if p.status != 409 || !strings.Contains(p.body, `id="e_f_username"`) || !p.has("This is already in use.") {
		t.Errorf("duplicate username: want 409 with the field error, got %d\n%s", p.status, p.body)
	}
	if _, n, _ := e.sc.Users().List(context.Background(), store.UserQuery{}); n != 3 {
		t.Errorf("%d users after refused forms, want 3", n)
	}
}

func TestAdminAccess(t *testing.T) {
	e := newEnv(t)
	anon := e.client()
	if p := anon.consoleGet("/if/admin/core/users/"); p.status != http.StatusFound ||
		!strings.Contains(p.location, "next=%2Fif%2Fadmin%2Fcore%2Fusers%2F") {
		t.Errorf("anonymous: want a redirect to log in and come back, got %d %q", p.status, p.location)
	}

	e.createUser("eve", "Eve-Password-1", store.UserExternal)
	ext := e.client()
	ext.login("eve", "Eve-Password-1")
	if p := ext.consoleGet("/if/admin/"); p.status != 403 || !p.has("Interface can only be accessed by internal users") {
		t.Errorf("external user: want the internal-users page, got %d\n%s", p.status, p.body)
	}

	plain := e.createUser("pat", "Pat-Password-1", store.UserInternal)
	pat := e.client()
	pat.login("pat", "Pat-Password-1")
	if p := pat.consoleGet("/if/admin/"); p.status != 403 || !p.has("administrator rights") {
		t.Errorf("internal user without rights: want 403, got %d\n%s", p.status, p.body)
	}

	// With the console permission but not view_user: the console opens,
	// the user list does not (the API refuses), nor does its link show.
	ctx := context.Background()
	g := &store.Group{Name: "helpdesk"}
	e.sc.Groups().Create(ctx, g)
	e.sc.Groups().AddMember(ctx, g.ID, plain.ID)
	role := &store.Role{Name: "console"}
	e.sc.Roles().Create(ctx, role)
	e.sc.Roles().SetPermissions(ctx, role.ID, []string{"authentik_rbac.access_admin_interface", "authentik_core.view_group"})
	e.sc.Roles().AssignToGroup(ctx, role.ID, g.ID)
	p := pat.consoleGet("/if/admin/")
	if p.status != 200 || strings.Contains(p.body, `href="/if/admin/core/users/"`) || !strings.Contains(p.body, `href="/if/admin/core/groups/"`) {
		t.Errorf("overview with view_group only: want groups and not users in the sidebar, got %d\n%s", p.status, p.body)
	}
	if p := pat.consoleGet("/if/admin/core/users/"); p.status != 403 || !p.has("authentik_core.view_user") {
		t.Errorf("user list without view_user: want 403 naming the permission, got %d\n%s", p.status, p.body)
	}
	// Viewing groups does not allow changing them: no edit link, and the
	// form is refused even when posted directly.
	p = pat.consoleGet("/if/admin/core/groups/" + g.ID.String() + "/")
	if p.status != 200 || strings.Contains(p.body, "/edit/") {
		t.Errorf("group page with view only: %d, want no edit link\n%s", p.status, p.body)
	}
	me := (&apiClient{e: e, http: pat.http, router: e.openAPIRouter()}).call("GET", "core/users/me/", nil, true)
	p = pat.consolePost("", "/if/admin/core/groups/new/", url.Values{"name": {"sneaky"},
		"csrf_token": {me.json(t)["csrf_token"].(string)}})
	if p.status != 403 {
		t.Errorf("posting a group without add_group: %d, want 403", p.status)
	}
	if _, err := e.sc.Groups().GetByName(ctx, "sneaky"); err == nil {
		t.Error("a group was created without permission")
	}
}

func TestAdminCSRF(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	for name, token := range map[string]string{"missing": "", "wrong": "not-the-token"} {
		form := url.Values{"name": {"csrf-" + name}}
		form.Set("csrf_token", token)
		p := c.consolePost("", "/if/admin/core/groups/new/", form)
		if p.status != 403 || !p.has("This form has expired") {
			t.Errorf("%s token: want 403, got %d\n%s", name, p.status, p.body)
		}
		if _, err := e.sc.Groups().GetByName(context.Background(), "csrf-"+name); err == nil {
			t.Errorf("%s token: the group was created", name)
		}
	}
	// A cross-site post is refused before the token is even read.
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/if/admin/core/groups/new/", strings.NewReader("name=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := c.consoleDo(req); p.status != 403 {
		t.Errorf("cross-site post: %d, want 403", p.status)
	}
	// Every form carries the token.
	for _, path := range []string{"/if/admin/core/groups/new/", "/if/admin/core/users/new/", "/if/admin/wizard/"} {
		p := c.consoleGet(path)
		if strings.Count(p.body, "<form method=\"post\"") != strings.Count(p.body, `name="csrf_token"`) {
			t.Errorf("%s: a post form without the CSRF token", path)
		}
	}
}

func TestAdminChinese(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	p := c.consoleGet("/if/admin/core/users/", "Accept-Language", "zh-CN,zh;q=0.9,en;q=0.5")
	for _, want := range []string{`<html lang="zh-Hans">`, "新建用户", "用户名", "搜索", "退出登录", "gatehouse 管理后台", "流程与阶段"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("zh-CN user list lacks %q", want)
		}
	}
	if strings.Contains(p.body, "New User") || strings.Contains(p.body, ">Search<") {
		t.Error("zh-CN user list still has English labels")
	}
	// Field errors in Chinese too.
	p = c.consolePost("/if/admin/core/users/new/", "/if/admin/core/users/new/", url.Values{"username": {"x y"}, "name": {"X"}})
	p2 := c.consolePost("/if/admin/core/users/new/?locale=zh-Hans", "/if/admin/core/users/new/?locale=zh-Hans",
		url.Values{"username": {"x y"}, "name": {"X"}})
	if !p.has("Use only letters") || !p2.has("只能使用字母、数字和 @ . + - _。") {
		t.Errorf("field error: English %v, Chinese %v\n%s", p.has("Use only letters"), p2.has("只能使用"), p2.body)
	}
	// The switcher keeps the page and its query, and the choice sticks.
	p = c.consoleGet("/if/admin/core/users/?search=ro")
	if !strings.Contains(p.body, `href="/if/admin/core/users/?locale=zh-Hans&amp;search=ro"`) {
		t.Errorf("language switcher link missing:\n%s", p.body)
	}
	c.consoleGet("/if/admin/?locale=zh-Hans")
	if p = c.consoleGet("/if/admin/"); !strings.Contains(p.body, `<html lang="zh-Hans">`) || !p.has("概览") {
		t.Error("the language chosen with ?locale= was not remembered")
	}
}

func TestAdminOverviewEventsAndSystem(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	e.createUser("mallory", "Mallory-Password-1", store.UserInternal)
	bad := e.client()
	bad.post("default-authentication-flow", map[string]any{"uid_field": "mallory"})
	bad.post("default-authentication-flow", map[string]any{"password": "wrong"})

	p := c.consoleGet("/if/admin/")
	if p.status != 200 {
		t.Fatalf("overview: %d\n%s", p.status, p.body)
	}
	for _, want := range []string{"Logins in the last 24 hours", "<svg", `class="bar-login"`, `class="bar-failed"`,
		"Logins: 1", "Failed logins: 1", "Recent events", "login_failed", "Users", "Applications", "Providers"} {
		if !p.has(want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if strings.Contains(p.body, "style=") {
		t.Error("the overview uses inline styles, which the CSP blocks")
	}

	p = c.consoleGet("/if/admin/events/?action=login_failed")
	if p.status != 200 || !p.has("mallory") || strings.Contains(p.body, "<code>login</code>") {
		t.Fatalf("events filtered by action: %d\n%s", p.status, p.body)
	}
	m := regexp.MustCompile(`href="(/if/admin/events/[0-9a-f-]{36}/\?at=\d+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no event link:\n%s", p.body)
	}
	p = c.consoleGet(html.UnescapeString(m[1]))
	if p.status != 200 || !p.has("Events of mallory") || !p.has("Events from 127.0.0.1") || !p.has(`"username": "mallory"`) {
		t.Errorf("event page: %d\n%s", p.status, p.body)
	}
	if p = c.consoleGet("/if/admin/events/?since=yesterday"); p.status != 400 || !p.has("Enter a date and time") {
		t.Errorf("bad date filter: %d", p.status)
	}

	p = c.consoleGet("/if/admin/system/")
	if p.status != 200 || !p.has("SQLite (embedded)") || !p.has("Job queue") || !p.has("Go version") || !p.has("Job workers") {
		t.Errorf("system page: %d\n%s", p.status, p.body)
	}
}

// Every resource the API declares has working generic pages: a list, a
// create form where it can be created, and the page of an object.
func TestAdminEveryResourceRenders(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	var console *admin.Handler
	for _, h := range e.app.svc.handlers {
		if x, ok := h.(*admin.Handler); ok {
			console = x
		}
	}
	if console == nil {
		t.Fatal("the admin console is not mounted")
	}
	rowLink := regexp.MustCompile(`<th scope="row"><a href="(/if/admin/[^"]*/[0-9a-f-]{36}/)"`)
	for _, r := range console.Resources() {
		if !r.List {
			continue
		}
		p := c.consoleGet("/if/admin/" + r.Path)
		switch {
		case p.status == 400 && strings.HasSuffix(r.Path, "bindings/"):
			// Bindings are listed per target, on their target's page.
		case p.status != 200:
			t.Errorf("%s list: %d\n%s", r.Path, p.status, p.body)
			continue
		}
		if r.Create {
			if p := c.consoleGet("/if/admin/" + r.Path + "new/"); p.status != 200 {
				t.Errorf("%s create form: %d\n%s", r.Path, p.status, p.body)
			}
		}
		if m := rowLink.FindStringSubmatch(p.body); m != nil {
			if d := c.consoleGet(m[1]); d.status != 200 {
				t.Errorf("%s detail %s: %d\n%s", r.Path, m[1], d.status, d.body)
			}
			if d := c.consoleGet(m[1] + "edit/"); d.status != 200 && d.status != 404 {
				t.Errorf("%s edit %s: %d\n%s", r.Path, m[1], d.status, d.body)
			}
		}
	}
}

// formValues reads what a browser would submit from the console's first
// post form (the console's own markup: inputs, checkboxes, selects, text
// areas), so a test changes one field and sends the rest as shown.
func formValues(t testing.TB, body string) url.Values {
	t.Helper()
	i := strings.Index(body, `<form method="post"`)
	if i < 0 {
		t.Fatalf("no post form on the page:\n%s", body)
	}
	body = body[i:]
	body = body[:strings.Index(body, "</form>")]
	v := url.Values{}
	attr := func(tag, name string) (string, bool) {
		m := regexp.MustCompile(`\s` + name + `(?:="([^"]*)")?[\s>]`).FindStringSubmatch(tag)
		if m == nil {
			return "", false
		}
		return html.UnescapeString(m[1]), true
	}
	for _, tag := range regexp.MustCompile(`<input[^>]*>`).FindAllString(body, -1) {
		name, _ := attr(tag, "name")
		typ, _ := attr(tag, "type")
		val, _ := attr(tag, "value")
		if name == "" {
			continue
		}
		if typ == "checkbox" {
			if _, on := attr(tag, "checked"); on {
				v.Add(name, val)
			}
			continue
		}
		v.Add(name, val)
	}
	for _, m := range regexp.MustCompile(`(?s)<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>`).FindAllStringSubmatch(body, -1) {
		for _, o := range regexp.MustCompile(`<option value="([^"]*)" selected>`).FindAllStringSubmatch(m[2], -1) {
			v.Add(m[1], html.UnescapeString(o[1]))
		}
	}
	for _, m := range regexp.MustCompile(`(?s)<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>`).FindAllStringSubmatch(body, -1) {
		v.Add(m[1], html.UnescapeString(m[2]))
	}
	return v
}

// optionValue finds the value of the option labelled label in select name.
func optionValue(t testing.TB, body, name, label string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<select[^>]*name="` + name + `"[^>]*>(.*?)</select>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no select %s on the page", name)
	}
	o := regexp.MustCompile(`<option value="([^"]*)"[^>]*>` + regexp.QuoteMeta(label) + `</option>`).FindStringSubmatch(m[1])
	if o == nil {
		t.Fatalf("select %s has no option %q:\n%s", name, label, m[1])
	}
	return o[1]
}

// linkTo finds the href of the link whose text is text.
func linkTo(t testing.TB, body, text string) string {
	t.Helper()
	if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:] // not the sidebar's links
	}
	m := regexp.MustCompile(`<a (?:class="[^"]*" )?href="([^"]+)"[^>]*>` + regexp.QuoteMeta(text) + `(?:<span class="visually-hidden">[^<]*</span>)?</a>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no link %q on the page:\n%s", text, body)
	}
	return html.UnescapeString(m[1])
}

// The seed's "allow sign-up" steps, in the console: open the default
// authentication flow, follow its identification stage, set the
// enrollment flow, and the login page offers "Sign up".
func TestAdminSeedEnablesSignUp(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	if p := c.consoleGet("/flows/-/default/authentication/"); strings.Contains(c.consoleGet(p.location).body, "Sign up") {
		t.Fatal("Sign up is offered before it is enabled")
	}
	p := c.consoleGet("/if/admin/flows/instances/?search=default-authentication-flow")
	p = c.consoleGet(linkTo(t, p.body, "default-authentication-flow"))
	if !p.has("Stage bindings") || !p.has("default-authentication-identification") || !p.has("default-authentication-password") {
		t.Fatalf("flow page: no stage bindings:\n%s", p.body)
	}
	stage := linkTo(t, p.body, "default-authentication-identification")
	if !strings.HasPrefix(stage, "/if/admin/stages/identification/") {
		t.Fatalf("the binding links to %s, want the identification stage's own page", stage)
	}
	p = c.consoleGet(stage + "edit/")
	form := formValues(t, p.body)
	form.Set("enrollment_flow", optionValue(t, p.body, "enrollment_flow", "default-enrollment-flow"))
	if p = c.consolePost(stage+"edit/", stage+"edit/", form); p.status != http.StatusSeeOther {
		t.Fatalf("update the stage: %d\n%s", p.status, p.body)
	}
	p = c.consoleGet(p.location)
	if !p.has("Saved.") || !strings.Contains(p.body, ">default-enrollment-flow</a>") {
		t.Errorf("stage page after update: want the enrollment flow linked by name:\n%s", p.body)
	}
	// Nothing else changed: the stage still asks for email or username.
	if !p.has("email\nusername") {
		t.Errorf("user_fields changed by the update:\n%s", p.body)
	}
	login := e.client()
	lp := login.consoleGet("/if/flow/default-authentication-flow/")
	if !lp.has("Sign up") || !strings.Contains(lp.body, `href="/if/flow/default-enrollment-flow/`) {
		t.Errorf("login page after the update: no Sign up link:\n%s", lp.body)
	}
}

func TestAdminStageBindingsEditor(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	f, _ := e.sc.Flows().GetBySlug(context.Background(), "default-authentication-flow")
	page := "/if/admin/flows/instances/" + f.ID.String() + "/"
	p := c.consoleGet(page)
	form := formValues(t, p.body)
	var orders []string
	for k := range form {
		if strings.HasPrefix(k, "order_") {
			orders = append(orders, k)
		}
	}
	if len(orders) < 3 {
		t.Fatalf("want an order field per binding, got %v", form)
	}
	// Move the password stage (order 20) after the login stage.
	bindings, _ := e.sc.FlowStageBindings().ListForFlow(context.Background(), f.ID)
	pw := bindings[1]
	form.Set("order_"+pw.ID.String(), "1000")
	if p = c.consolePost(page, page+"reorder/", form); p.status != http.StatusSeeOther {
		t.Fatalf("reorder: %d\n%s", p.status, p.body)
	}
	if b, _ := e.sc.FlowStageBindings().Get(context.Background(), pw.ID); b.Order != 1000 {
		t.Errorf("binding order after reorder: %d", b.Order)
	}
	// Add a binding: the form comes with the flow fixed and an order after the last.
	p = c.consoleGet(page)
	add := linkTo(t, p.body, "Bind a stage")
	p = c.consoleGet(add)
	if !p.has("default-authentication-flow") || !strings.Contains(p.body, `name="target" value="`+f.ID.String()+`"`) ||
		!strings.Contains(p.body, `name="order" value="1010"`) {
		t.Fatalf("add binding form: want the flow fixed and order 1010:\n%s", p.body)
	}
	form = formValues(t, p.body)
	form.Set("stage", optionValue(t, p.body, "stage", "default-recovery-email"))
	p = c.consolePost(add, add, form)
	if p.status != http.StatusSeeOther || p.location != page {
		t.Fatalf("add binding: want to go back to the flow, got %d %q\n%s", p.status, p.location, p.body)
	}
	// A binding's page has its own policy bindings.
	p = c.consoleGet(page)
	p = c.consoleGet(linkTo(t, p.body, "Policies"))
	if !p.has("Policy, group and user bindings") {
		t.Errorf("binding page: no policy bindings panel:\n%s", p.body)
	}
}

func TestAdminWizardCreatesAWorkingOIDCApp(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	form := url.Values{"name": {"fastapi-demo"}, "slug": {"bad slug"}, "meta_launch_url": {"http://localhost:8000/"},
		"client_type": {"confidential"}, "redirect_uris": {testRedirect}, "post_logout_redirect_uris": {"http://localhost:8000/"}}
	p := c.consolePost("/if/admin/wizard/", "/if/admin/wizard/", form)
	if p.status != 400 || !strings.Contains(p.body, `id="e_f_slug"`) || !strings.Contains(p.body, `value="bad slug"`) ||
		!strings.Contains(p.body, testRedirect+"</textarea>") {
		t.Fatalf("bad slug: want 400 with the slug's error and the input kept, got %d\n%s", p.status, p.body)
	}
	if _, n, _ := e.sc.Providers().List(context.Background(), store.ObjectQuery{}); n != 0 {
		t.Fatalf("a refused wizard left %d providers behind", n)
	}
	form.Set("slug", "fastapi-demo")
	p = c.consolePost("/if/admin/wizard/", "/if/admin/wizard/", form)
	if p.status != 200 {
		t.Fatalf("wizard: %d\n%s", p.status, p.body)
	}
	get := func(id string) string {
		m := regexp.MustCompile(`<code id="` + id + `"[^>]*>([^<]+)</code>`).FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("the result page shows no %s:\n%s", id, p.body)
		}
		return html.UnescapeString(m[1])
	}
	clientID, secret, issuer := get("client-id"), get("client-secret"), get("issuer")
	if issuer != e.URL+"/application/o/fastapi-demo/" {
		t.Errorf("issuer %q", issuer)
	}
	// The values work with real client libraries.
	r := e.rp("fastapi-demo", clientID, secret)
	alice := e.client()
	alice.login("alice", "Alice-Password-1")
	cb := alice.authorize(r.conf.AuthCodeURL("s", xoauth2.S256ChallengeOption("verifier-0123456789-0123456789-0123456789-0123")))
	if _, err := r.conf.Exchange(context.Background(), cb.Query().Get("code"),
		xoauth2.VerifierOption("verifier-0123456789-0123456789-0123456789-0123")); err != nil {
		t.Fatalf("the wizard's client ID and secret do not work: %v", err)
	}
	// The application's page shows the same values again, the secret on request.
	app, _ := e.sc.Applications().GetBySlug(context.Background(), "fastapi-demo")
	p = c.consoleGet("/if/admin/core/applications/" + app.ID.String() + "/")
	if !p.has(clientID) || !p.has(issuer) || p.has(secret) {
		t.Errorf("application page: want client ID and issuer but not the secret:\n%s", p.body)
	}
	if p = c.consoleGet(linkTo(t, p.body, "Show client secret")); !p.has(secret) {
		t.Errorf("show client secret: %d\n%s", p.status, p.body)
	}
	if len(e.events("secret_view")) != 2 {
		t.Errorf("want a secret_view event for the wizard and one for the page, got %d", len(e.events("secret_view")))
	}
}

func TestAdminGroupMembersAndPolicyTest(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	alice := e.createUser("alice", "", store.UserInternal)
	p := c.consolePost("/if/admin/core/groups/new/", "/if/admin/core/groups/new/", url.Values{"name": {"staff"}, "attributes": {"{}"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("create group: %d\n%s", p.status, p.body)
	}
	page := strings.TrimSuffix(p.location, "?done=created")
	if p = c.consolePost(page, page+"members/", url.Values{"username": {"nobody"}}); p.status != 400 || !p.has("no user named “nobody”") {
		t.Errorf("adding an unknown user: %d\n%s", p.status, p.body)
	}
	if p = c.consolePost(page, page+"members/", url.Values{"username": {"ALICE"}}); p.status != http.StatusSeeOther {
		t.Fatalf("add member: %d\n%s", p.status, p.body)
	}
	p = c.consoleGet(page)
	if !p.has("1 member") || !strings.Contains(p.body, ">alice</a>") {
		t.Errorf("group page: alice is not listed:\n%s", p.body)
	}
	remove := linkTo(t, p.body, "Remove")
	if q := c.consoleGet(remove); !q.has("Remove alice from staff?") {
		t.Fatalf("remove asks first:\n%s", q.body)
	}
	if p = c.consolePost(remove, remove, url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("remove member: %d\n%s", p.status, p.body)
	}
	if ids, _ := e.sc.Groups().Members(context.Background(), mustGroup(t, e, "staff")); len(ids) != 0 {
		t.Errorf("members after remove: %v", ids)
	}

	// A policy made in the console, tested against a user.
	p = c.consolePost("/if/admin/policies/expression/new/", "/if/admin/policies/expression/new/", url.Values{
		"name": {"only-alice"}, "expression": {`return request.user.username == "alice"`}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("create policy: %d\n%s", p.status, p.body)
	}
	page = strings.TrimSuffix(p.location, "?done=created")
	if p = c.consolePost(page, page+"test/", url.Values{"username": {"alice"}}); !p.has("The policy passes.") {
		t.Errorf("test for alice: %d\n%s", p.status, p.body)
	}
	if p = c.consolePost(page, page+"test/", url.Values{"username": {"root"}}); !p.has("The policy does not pass.") {
		t.Errorf("test for root: %d\n%s", p.status, p.body)
	}
	_ = alice
}

// A group's roles in the console: chosen by name on the group's form,
// listed by name on its page, refused with the API's field error.
func TestAdminGroupRoles(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	ctx := context.Background()
	helpdesk := &store.Role{Name: "helpdesk", Permissions: []string{"authentik_core.view_user"}}
	if err := e.sc.Roles().Create(ctx, helpdesk); err != nil {
		t.Fatal(err)
	}
	p := c.consoleGet("/if/admin/core/groups/new/")
	if optionValue(t, p.body, "roles", "helpdesk") != helpdesk.ID.String() {
		t.Fatal("the group form does not offer the role by name")
	}
	p = c.consolePost("/if/admin/core/groups/new/", "/if/admin/core/groups/new/", url.Values{"name": {"support"},
		"attributes": {"{}"}, "roles": {helpdesk.ID.String()}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("create a group with a role: %d\n%s", p.status, p.body)
	}
	page := strings.TrimSuffix(p.location, "?done=created")
	p = c.consoleGet(page)
	if !p.has("Roles") || !strings.Contains(p.body, `<a href="/if/admin/rbac/roles/`+helpdesk.ID.String()+`/">helpdesk</a>`) {
		t.Fatalf("the group page does not list its role by name:\n%s", p.body)
	}
	groupID := strings.TrimSuffix(strings.TrimPrefix(page, "/if/admin/core/groups/"), "/")
	if strings.Contains(p.body, "/if/admin/core/users/"+groupID+"/") || strings.Contains(p.body, helpdesk.ID.String()+`"`+"\n") ||
		strings.Contains(p.body, `&#34;name&#34;: &#34;helpdesk&#34;`) {
		t.Errorf("the group page links its own ID to a user, or shows the roles as raw IDs or JSON:\n%s", p.body)
	}
	edit := linkTo(t, p.body, "Change roles")
	if edit != page+"edit/" {
		t.Errorf("Change roles goes to %q, want the edit form", edit)
	}
	if p = c.consoleGet(page + "?locale=zh-Hans"); !p.has("修改角色") {
		t.Errorf("the roles panel in Chinese:\n%s", p.body)
	}
	c.consoleGet(page + "?locale=en")

	// A crafted post with a role that does not exist: the API's field
	// error next to the field, and the group unchanged.
	form := formValues(t, c.consoleGet(edit).body)
	if form.Get("roles") != helpdesk.ID.String() {
		t.Fatalf("the edit form does not select the group's role: %v", form)
	}
	ghost := uuid.NewString()
	form["roles"] = []string{helpdesk.ID.String(), ghost}
	if p = c.consolePost(edit, edit, form); p.status != http.StatusBadRequest || !p.has("No such role: "+ghost+".") {
		t.Errorf("an unknown role: %d\n%s", p.status, p.body)
	}
	gid := mustGroup(t, e, "support")
	if m, _ := e.sc.Roles().ForGroups(ctx, []uuid.UUID{gid}); len(m[gid]) != 1 {
		t.Errorf("a refused edit changed the roles: %v", m[gid])
	}
	// Nothing selected: the group gives no roles.
	form = formValues(t, c.consoleGet(edit).body)
	form.Del("roles")
	if p = c.consolePost(edit, edit, form); p.status != http.StatusSeeOther {
		t.Fatalf("clear the roles: %d\n%s", p.status, p.body)
	}
	if p = c.consoleGet(page); !p.has("This group gives its members no roles.") {
		t.Errorf("the group page after clearing its roles:\n%s", p.body)
	}
}

func mustGroup(t testing.TB, e *testEnv, name string) uuid.UUID {
	t.Helper()
	g, err := e.sc.Groups().GetByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return g.ID
}

// A directory of 100,000 users: the console reads one page of them
// (through the API's paging), never the whole directory. Skipped with
// -short: filling the directory takes a few seconds.
func TestAdminLargeDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a directory of 100,000 users")
	}
	e := newEnv(t)
	c := e.adminBrowser()
	ctx := context.Background()
	const n = 100_000
	start := time.Now()
	err := e.sc.Tx(ctx, func(tx store.Scope) error {
		for i := range n {
			u := &store.User{Username: fmt.Sprintf("user%06d", i), Name: "U", Type: store.UserInternal, IsActive: true, Path: "users"}
			if err := tx.Users().Create(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("created %d users in %v", n, time.Since(start).Round(time.Millisecond))
	g := &store.Group{Name: "everyone"}
	e.sc.Groups().Create(ctx, g)
	for _, page := range []string{
		"/if/admin/core/users/", "/if/admin/core/users/?page=2500", "/if/admin/core/users/?search=user099999",
		"/if/admin/core/users/?ordering=-username&page_size=100", "/if/admin/", "/if/admin/core/groups/" + g.ID.String() + "/",
		"/if/admin/policies/bindings/new/?target=" + g.ID.String(),
	} {
		start := time.Now()
		p := c.consoleGet(page)
		took := time.Since(start)
		t.Logf("%s: %d in %v", page, p.status, took.Round(time.Millisecond))
		if p.status != 200 {
			t.Errorf("%s: %d\n%s", page, p.status, p.body)
		}
		if took > 2*time.Second {
			t.Errorf("%s took %v with %d users", page, took, n)
		}
	}
	// A reference to a user is typed, not picked from 100,000 options.
	p := c.consoleGet("/if/admin/policies/bindings/new/?target=" + g.ID.String())
	if strings.Count(p.body, "<option") > 500 || !p.has("Too many to list: enter the ID.") {
		t.Errorf("the binding form lists the directory:\n%d options", strings.Count(p.body, "<option"))
	}
	if p := c.consoleGet("/if/admin/core/users/?search=user099999"); !p.has("1 result, page 1 of 1") {
		t.Errorf("search in the large directory:\n%s", p.body)
	}
}

// A created token's key is in the create response only: the console shows
// it on the page that answers the form, once.
func TestAdminTokenKeyShownOnce(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	p := c.consolePost("/if/admin/core/tokens/new/", "/if/admin/core/tokens/new/", url.Values{
		"identifier": {"ci-deploy"}, "intent": {"api"}, "description": {"CI"}})
	if p.status != http.StatusCreated || !p.has("cannot be shown again") {
		t.Fatalf("create token: %d\n%s", p.status, p.body)
	}
	m := regexp.MustCompile(`<dt>Key</dt>\s*<dd><code>([^<]+)</code>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no key on the page:\n%s", p.body)
	}
	api := &apiClient{e: e, token: html.UnescapeString(m[1]), http: http.DefaultClient, router: e.openAPIRouter()}
	if r := api.call("GET", "core/users/me/", nil, true); r.status != 200 {
		t.Errorf("the shown key does not authenticate: %d", r.status)
	}
	tok, _ := e.sc.Tokens().GetByIdentifier(context.Background(), uuid.Nil, "ci-deploy")
	if p = c.consoleGet("/if/admin/core/tokens/" + tok.ID.String() + "/"); p.has(m[1]) {
		t.Error("the token's page shows the key again")
	}
}

// Keys: generate one from the list page's action, rotate it from its own
// page (both answer with the new key's page), view its certificate.
func TestAdminKeys(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	p := c.consoleGet("/if/admin/crypto/certificatekeypairs/")
	gen := linkTo(t, p.body, "Generate")
	p = c.consolePost(gen, gen, url.Values{"common_name": {"test-signing"}, "validity_days": {"30"}, "key_type": {"ec"}})
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.location, "/?done=created") {
		t.Fatalf("generate: %d %q\n%s", p.status, p.location, p.body)
	}
	page := strings.TrimSuffix(p.location, "?done=created")
	p = c.consoleGet(page)
	if !p.has("test-signing") || !p.has("EC (P-256)") {
		t.Errorf("generated key's page:\n%s", p.body)
	}
	if q := c.consoleGet(linkTo(t, p.body, "View certificate")); q.status != 200 || !q.has("BEGIN CERTIFICATE") {
		t.Errorf("view certificate: %d\n%s", q.status, q.body)
	}
	rotate := linkTo(t, p.body, "Rotate")
	if q := c.consoleGet(rotate); !q.has("cannot be undone") {
		t.Errorf("the rotate form does not say what it does:\n%s", q.body)
	}
	p = c.consolePost(rotate, rotate, url.Values{"publish_ahead": {"0"}, "grace": {"hours=1"}})
	if p.status != http.StatusSeeOther || strings.HasPrefix(p.location, page) {
		t.Errorf("rotate: want the new key's page, got %d %q\n%s", p.status, p.location, p.body)
	}
}

// An object's own actions get a form of their input: set a password.
func TestAdminSetPasswordAction(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	u := e.createUser("frank", "Frank-Password-1", store.UserInternal)
	page := "/if/admin/core/users/" + u.ID.String() + "/"
	action := linkTo(t, c.consoleGet(page).body, "Set password")
	p := c.consoleGet(action)
	if !strings.Contains(p.body, `type="password" id="f_password" name="password"`) {
		t.Fatalf("set password form:\n%s", p.body)
	}
	if p = c.consolePost(action, action, url.Values{"password": {"New-Frank-Password-2"}}); p.status != http.StatusSeeOther ||
		p.location != page+"?done=done" {
		t.Fatalf("set password: %d %q\n%s", p.status, p.location, p.body)
	}
	e.client().login("frank", "New-Frank-Password-2")
}

// The permissions panel of an object's page: a role given view on one
// application through the panel is listed there and in the API, the
// panel speaks Chinese, Remove asks before taking the permission back,
// and a permission the admin does not hold is refused next to the form.
func TestAdminObjectPermissions(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	root := e.apiAs(e.superuser("api-root"))
	app := root.create("core/applications/", map[string]any{"name": "Wiki", "slug": "wiki"})["pk"].(string)
	role := root.create("rbac/roles/", map[string]any{"name": "wiki-readers"})["pk"].(string)
	page := "/if/admin/core/applications/" + app + "/"
	held := func() []map[string]any {
		t.Helper()
		return root.call("GET", "rbac/permissions/assigned_by_roles/?model=authentik_core.application&object_pk="+app, nil, true).results(t)
	}

	p := c.consoleGet(page)
	if !p.has("No role holds permissions on this object alone.") || !p.has("Give a role permissions on this object") {
		t.Fatalf("the application page has no permissions panel:\n%s", p.body)
	}
	if optionValue(t, p.body, "role", "wiki-readers") != role {
		t.Error("the panel does not offer the role by name")
	}
	if !strings.Contains(p.body, `value="authentik_core.view_application"`) || strings.Contains(p.body, `value="authentik_core.add_application"`) ||
		strings.Contains(p.body, `value="authentik_core.view_user"`) {
		t.Errorf("the panel offers other permissions than those on an existing application:\n%s", p.body)
	}

	// Nothing ticked: said by the console, with the role still chosen.
	if p = c.consolePost(page, page+"permissions/", url.Values{"role": {role}}); p.status != http.StatusBadRequest ||
		!p.has("Choose at least one permission.") || optionValue(t, p.body, "role", "wiki-readers") != role ||
		!strings.Contains(p.body, `<option value="`+role+`" selected>`) {
		t.Errorf("assign without a permission: %d\n%s", p.status, p.body)
	}
	if len(held()) != 0 {
		t.Fatal("a refused form assigned something")
	}

	p = c.consolePost(page, page+"permissions/", url.Values{"role": {role}, "permissions": {"authentik_core.view_application"}})
	if p.status != http.StatusSeeOther || p.location != page+"?done=saved" {
		t.Fatalf("assign: %d %s\n%s", p.status, p.location, p.body)
	}
	p = c.consoleGet(page)
	if !strings.Contains(p.body, `<a href="/if/admin/rbac/roles/`+role+`/">wiki-readers</a>`) || !strings.Contains(p.body, `<span class="tag">View</span>`) {
		t.Errorf("the panel does not list the role and its permission:\n%s", p.body)
	}
	if h := held(); len(h) != 1 || h[0]["pk"] != role || fmt.Sprint(h[0]["permissions"]) != "[authentik_core.view_application]" {
		t.Errorf("the API after assigning: %v", h)
	}
	if z := c.consoleGet(page + "?locale=zh-Hans"); !z.has("对此对象的权限") || !z.has("授予角色对此对象的权限") ||
		!strings.Contains(z.body, `<span class="tag">查看</span>`) {
		t.Errorf("the permissions panel in Chinese:\n%s", z.body)
	}
	c.consoleGet(page + "?locale=en")

	// Remove asks first; opening the question takes nothing.
	remove := linkTo(t, p.body, "Remove")
	if q := c.consoleGet(remove); !q.has("Take from the role wiki-readers its permissions on “Wiki”?") || !q.has("Its members lose: View.") {
		t.Fatalf("remove asks first:\n%s", q.body)
	}
	if len(held()) != 1 {
		t.Fatal("opening the question removed the permission")
	}
	if p = c.consolePost(remove, remove, url.Values{}); p.status != http.StatusSeeOther || p.location != page+"?done=saved" {
		t.Fatalf("remove: %d %s\n%s", p.status, p.location, p.body)
	}
	if h := held(); len(h) != 0 {
		t.Errorf("the API after removing: %v", h)
	}
	if p = c.consoleGet(page); !p.has("No role holds permissions on this object alone.") {
		t.Errorf("the panel after removing:\n%s", p.body)
	}

	// An admin who may assign but does not hold change_application is
	// refused by the API; the console says why next to the form.
	helper := e.createUser("helper", "Helper-Password-1", store.UserInternal)
	e.grant(helper, admin.PermAccess, "authentik_rbac.view_role", "authentik_rbac.assign_role_permissions",
		"authentik_core.view_application")
	if r := root.call("POST", "rbac/permissions/assigned_by_roles/"+role+"/assign/", map[string]any{"model": "authentik_core.application",
		"object_pk": app, "permissions": []string{"authentik_core.view_application"}}, true); r.status != http.StatusNoContent {
		t.Fatalf("assign through the API: %d %s", r.status, r.body)
	}
	hc := e.client()
	hc.login("helper", "Helper-Password-1")
	p = hc.consolePost(page, page+"permissions/", url.Values{"role": {role}, "permissions": {"authentik_core.change_application"}})
	if p.status != http.StatusForbidden || !p.has("You can only assign permissions you hold yourself (not authentik_core.change_application).") ||
		!strings.Contains(p.body, `value="authentik_core.change_application" checked`) {
		t.Errorf("assigning a permission not held: %d\n%s", p.status, p.body)
	}
	if h := held(); len(h) != 1 || fmt.Sprint(h[0]["permissions"]) != "[authentik_core.view_application]" {
		t.Errorf("a refused assignment changed what the role holds: %v", h)
	}
	if !strings.Contains(p.body, `>wiki-readers</a>`) || strings.Contains(p.body, "?remove="+role) {
		t.Errorf("the role is not listed, or Remove is offered without unassign_role_permissions:\n%s", p.body)
	}
	// Without view_role there is no panel at all.
	viewer := e.createUser("viewer", "Viewer-Password-1", store.UserInternal)
	e.grant(viewer, admin.PermAccess, "authentik_core.view_application")
	vc := e.client()
	vc.login("viewer", "Viewer-Password-1")
	if p = vc.consoleGet(page); p.status != http.StatusOK || p.has("Permissions on this object") {
		t.Errorf("the panel without view_role: %d\n%s", p.status, p.body)
	}
}
