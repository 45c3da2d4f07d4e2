package app

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The events API beyond the list (time range, one event) and the
// notifications API (events/notifications/), driven through apiClient:
// every request meant to be valid, and every response, is checked
// against the server's OpenAPI document.

// localTransport is a transport that only keeps the in-app notification.
const localTransport = `
  - model: authentik_events.notificationtransport
    id: transport
    identifiers: {name: local}
    attrs: {mode: local}
`

// waitNotifications polls the caller's notification list until it holds
// n (rules run on the job queue, after the event is stored).
func (c *apiClient) waitNotifications(n int) []map[string]any {
	c.e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		list := c.call("GET", "events/notifications/", nil, true).results(c.e.t)
		if len(list) >= n {
			return list
		}
		if time.Now().After(deadline) {
			c.e.t.Fatalf("%d notifications after 15 s, want %d", len(list), n)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// isProblem reports whether r is an RFC 9457 problem with status.
func isProblem(r apiResp, status int) bool {
	return r.status == status && strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json")
}

func TestNotificationsAPI(t *testing.T) {
	e := newNotifyEnv(t, nil)
	if err := e.applyNotify(notifyBlueprint(matchLoginFailed, localTransport)); err != nil {
		t.Fatal(err)
	}
	sec := e.apiAs(e.securityMember("secadmin"))
	bob := e.apiAs(e.createUser("bob", "bob's password", store.UserInternal))
	root := e.apiAs(e.superuser("root")) // a superuser outside the group
	e.createUser("alice", "alice's password", store.UserInternal)

	e.client().failLogin("alice")
	list := sec.waitNotifications(1)
	n := list[0]
	ev, _ := n["event"].(map[string]any)
	if len(list) != 1 || n["severity"] != "alert" || n["seen"] != false || !strings.HasPrefix(n["body"].(string), "login_failed: ") ||
		ev == nil || ev["action"] != "login_failed" || ev["user"].(map[string]any)["username"] != "alice" || ev["client_ip"] != "127.0.0.1" {
		t.Fatalf("secadmin's notifications: %v", list)
	}
	if ctx := ev["context"].(map[string]any); ctx["username"] != "alice" {
		t.Errorf("the notification's event context: %v", ctx)
	}
	// The event is the one the events API shows.
	if got := root.call("GET", "events/events/"+ev["pk"].(string)+"/", nil, true); got.status != 200 || got.json(t)["action"] != "login_failed" {
		t.Errorf("the notification's event in the events API: %d %s", got.status, got.body)
	}
	pk := n["pk"].(string)
	path := "events/notifications/" + pk + "/"

	// Nobody else sees it, a superuser included, and nobody else can
	// touch it: the answer is the one for an ID that does not exist.
	for who, c := range map[string]*apiClient{"bob": bob, "root": root} {
		if l := c.call("GET", "events/notifications/", nil, true).results(t); len(l) != 0 {
			t.Errorf("%s lists another user's notifications: %v", who, l)
		}
		for _, r := range []apiResp{
			c.call("GET", path, nil, true),
			c.call("PATCH", path, map[string]any{"seen": true}, true),
			c.call("PUT", path, map[string]any{"seen": true}, true),
			c.call("DELETE", path, nil, true),
		} {
			if !isProblem(r, 404) {
				t.Errorf("%s on secadmin's notification: %d %s, want a 404 problem", who, r.status, r.body)
			}
		}
		if r := c.call("POST", "events/notifications/mark_all_seen/", nil, true); r.status != 204 {
			t.Errorf("%s mark_all_seen: %d %s", who, r.status, r.body)
		}
	}
	if got := sec.call("GET", path, nil, true); got.status != 200 || got.json(t)["seen"] != false {
		t.Fatalf("secadmin's notification after the others tried: %d %s", got.status, got.body)
	}
	anon := &apiClient{e: e, http: http.DefaultClient, router: sec.router}
	if got := anon.call("GET", "events/notifications/", nil, true); !isProblem(got, 401) {
		t.Errorf("anonymous list: %d %s", got.status, got.body)
	}

	// Filters and ordering.
	for q, want := range map[string]int{"?seen=false": 1, "?seen=true": 0, "?severity=alert": 1, "?severity=notice": 0,
		"?ordering=created": 1, "?ordering=-created&page_size=1": 1} {
		if l := sec.call("GET", "events/notifications/"+q, nil, true).results(t); len(l) != want {
			t.Errorf("list %s: %d results, want %d", q, len(l), want)
		}
	}
	for q, field := range map[string]string{"?seen=maybe": "seen", "?severity=info": "severity", "?ordering=severity": "ordering",
		"?search=x": "search", "?user=" + uuid.NewString(): "user"} {
		if r := sec.call("GET", "events/notifications/"+q, nil, false); !isProblem(r, 400) || !r.fieldError(field) {
			t.Errorf("list %s: %d %s, want 400 naming %s", q, r.status, r.body, field)
		}
	}

	// Hostile changes: nothing but seen is writable, and only as a boolean.
	sec.refuses(t, map[string]badInput{
		"seen as a string":   {"PATCH", path, map[string]any{"seen": "yes"}, 400, []string{"seen"}},
		"seen as a number":   {"PATCH", path, map[string]any{"seen": 1}, 400, []string{"seen"}},
		"seen null":          {"PATCH", path, map[string]any{"seen": nil}, 400, []string{"seen"}},
		"read-only body":     {"PATCH", path, map[string]any{"body": "all is well"}, 400, []string{"body"}},
		"read-only severity": {"PATCH", path, map[string]any{"seen": true, "severity": "notice"}, 400, []string{"severity"}},
		"another user":       {"PUT", path, map[string]any{"seen": true, "user": uuid.NewString()}, 400, []string{"user"}},
		"unknown field":      {"PATCH", path, map[string]any{"read": true}, 400, []string{"read"}},
		"not an object":      {"PATCH", path, `[{"seen":true}]`, 400, nil},
		"not JSON":           {"PATCH", path, `seen=true`, 400, nil},
		"unknown ID":         {"PATCH", "events/notifications/" + uuid.NewString() + "/", map[string]any{"seen": true}, 404, nil},
		"malformed ID":       {"PATCH", "events/notifications/1%20OR%201=1/", map[string]any{"seen": true}, 404, nil},
		"delete unknown ID":  {"DELETE", "events/notifications/" + uuid.NewString() + "/", nil, 404, nil},
		"GET on the action":  {"GET", "events/notifications/mark_all_seen/", nil, 404, nil},
	})
	if got := sec.call("GET", path, nil, true).json(t); got["seen"] != false || got["severity"] != "alert" || got["body"] != n["body"] {
		t.Fatalf("a refused change changed the notification: %v", got)
	}
	if r := sec.call("DELETE", "events/notifications/", nil, false); r.status != 404 && r.status != 405 {
		t.Errorf("DELETE the whole list: %d %s", r.status, r.body)
	}
	if r := sec.call("PATCH", path, `{"seen":true}`, false, "Content-Type", "text/plain"); r.status != 415 {
		t.Errorf("PATCH as text/plain: %d %s, want 415", r.status, r.body)
	}

	// Mark it seen, unseen again (PUT), and unchanged with an empty PATCH.
	if r := sec.call("PATCH", path, map[string]any{"seen": true}, true); r.status != 200 || r.json(t)["seen"] != true || r.json(t)["pk"] != pk {
		t.Fatalf("PATCH seen: %d %s", r.status, r.body)
	}
	if l := sec.call("GET", "events/notifications/?seen=true", nil, true).results(t); len(l) != 1 {
		t.Errorf("after PATCH, %d seen", len(l))
	}
	if r := sec.call("PUT", path, map[string]any{"seen": false}, true); r.status != 200 || r.json(t)["seen"] != false {
		t.Fatalf("PUT unseen: %d %s", r.status, r.body)
	}
	if r := sec.call("PATCH", path, map[string]any{}, true); r.status != 200 || r.json(t)["seen"] != false {
		t.Fatalf("empty PATCH: %d %s", r.status, r.body)
	}

	// A second failed login, then mark_all_seen; bob's mark_all_seen
	// above did not reach secadmin's.
	e.client().failLogin("alice")
	if l := sec.waitNotifications(2); l[0]["pk"] == pk || l[1]["pk"] != pk {
		t.Errorf("want the newest first: %v", l)
	}
	if l := sec.call("GET", "events/notifications/?ordering=created", nil, true).results(t); len(l) != 2 || l[0]["pk"] != pk {
		t.Errorf("oldest first: %v", l)
	}
	if r := sec.call("GET", "events/notifications/?page_size=1&page=2", nil, true); r.status != 200 ||
		len(r.results(t)) != 1 || r.json(t)["pagination"].(map[string]any)["count"] != float64(2) {
		t.Errorf("page 2 of 2: %d %s", r.status, r.body)
	}
	if l := sec.call("GET", "events/notifications/?seen=false", nil, true).results(t); len(l) != 2 {
		t.Fatalf("%d unseen before mark_all_seen, want 2", len(l))
	}
	if r := sec.call("POST", "events/notifications/mark_all_seen/", nil, true); r.status != 204 || len(r.body) != 0 {
		t.Fatalf("mark_all_seen: %d %s", r.status, r.body)
	}
	if l := sec.call("GET", "events/notifications/?seen=false", nil, true).results(t); len(l) != 0 {
		t.Errorf("%d unseen after mark_all_seen", len(l))
	}

	// Delete one; it is gone, and deleting it again is a 404.
	if r := sec.call("DELETE", path, nil, true); r.status != 204 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if r := sec.call("GET", path, nil, true); !isProblem(r, 404) {
		t.Errorf("GET after DELETE: %d %s", r.status, r.body)
	}
	if r := sec.call("DELETE", path, nil, true); !isProblem(r, 404) {
		t.Errorf("second DELETE: %d %s", r.status, r.body)
	}
	if l := sec.call("GET", "events/notifications/", nil, true).results(t); len(l) != 1 {
		t.Errorf("%d notifications after deleting one of 2", len(l))
	}

	// Reading and marking notifications is not audited as model changes
	// (as in Authentik): a rule on model_updated would otherwise notify
	// about the reading of its own notifications.
	for _, action := range []string{"model_updated", "model_deleted"} {
		for _, ev := range e.events(action) {
			if m, _ := ev.Context["model"].(map[string]any); m["model_name"] == "notification" {
				t.Errorf("%s event for a notification: %v", action, ev.Context)
			}
		}
	}
}

// A session caller (the user portal's way) needs the CSRF token to change
// a notification, like every other write.
func TestNotificationsAPISession(t *testing.T) {
	e := newNotifyEnv(t, nil)
	if err := e.applyNotify(notifyBlueprint(matchLoginFailed, localTransport)); err != nil {
		t.Fatal(err)
	}
	e.securityMember("secadmin")
	e.createUser("alice", "alice's password", store.UserInternal)
	e.client().failLogin("alice")
	c, _ := e.sessionAPI("secadmin", "correct horse battery")
	pk := c.waitNotifications(1)[0]["pk"].(string)
	token := c.csrf
	c.csrf = ""
	if r := c.call("PATCH", "events/notifications/"+pk+"/", map[string]any{"seen": true}, true); r.status != 403 {
		t.Errorf("PATCH without the CSRF token: %d %s, want 403", r.status, r.body)
	}
	if r := c.call("POST", "events/notifications/mark_all_seen/", nil, true); r.status != 403 {
		t.Errorf("mark_all_seen without the CSRF token: %d %s, want 403", r.status, r.body)
	}
	c.csrf = token
	if r := c.call("PATCH", "events/notifications/"+pk+"/", map[string]any{"seen": true}, true); r.status != 200 {
		t.Errorf("PATCH with the CSRF token: %d %s", r.status, r.body)
	}
}

func TestEventsAPITimeRangeAndDetail(t *testing.T) {
	e := newEnv(t)
	root := e.apiAs(e.superuser("root"))
	ctx := context.Background()
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var pks []string // oldest first, an hour apart
	for i := range 3 {
		ev := &store.Event{Action: "custom_range_probe", Username: "ivy", ClientIP: "192.0.2.7", App: "wiki",
			CreatedAt: base.Add(time.Duration(i) * time.Hour), Expires: time.Now().Add(24 * time.Hour), Context: map[string]any{"n": i}}
		if err := e.sc.Events().Create(ctx, ev); err != nil {
			t.Fatal(err)
		}
		pks = append(pks, ev.ID.String())
	}
	stamp := func(d time.Duration) string { return url.QueryEscape(base.Add(d).Format(time.RFC3339Nano)) }
	list := func(q string) []string {
		t.Helper()
		var out []string
		for _, r := range root.call("GET", "events/events/?action=custom_range_probe&ordering=created"+q, nil, true).results(t) {
			out = append(out, r["pk"].(string))
		}
		return out
	}
	for _, c := range []struct {
		name, q string
		want    []string
	}{
		{"no range", "", pks},
		{"gte is inclusive", "&created__gte=" + stamp(time.Hour), pks[1:]},
		{"lt is exclusive", "&created__lt=" + stamp(time.Hour), pks[:1]},
		{"both", "&created__gte=" + stamp(30*time.Minute) + "&created__lt=" + stamp(2*time.Hour), pks[1:2]},
		{"another zone", "&created__gte=" + url.QueryEscape("2025-03-01T21:00:00+08:00"), pks[1:]},
		{"fractional seconds", "&created__lt=" + url.QueryEscape("2025-03-01T12:00:00.000001Z"), pks[:1]},
		{"empty range", "&created__gte=" + stamp(2*time.Hour) + "&created__lt=" + stamp(time.Hour), nil},
		{"with other filters", "&username=ivy&client_ip=192.0.2.7&app=wiki&created__gte=" + stamp(2*time.Hour), pks[2:]},
	} {
		if got := list(c.q); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	// Newest first by default, within the range.
	if r := root.call("GET", "events/events/?action=custom_range_probe&created__lt="+stamp(2*time.Hour), nil, true).results(t); len(r) != 2 || r[0]["pk"] != pks[1] {
		t.Errorf("newest first: %v", r)
	}

	// A malformed time is a 400 problem naming the parameter, never an
	// empty page.
	for q, fields := range map[string][]string{
		"created__gte=yesterday":                                     {"created__gte"},
		"created__lt=2025-03-01":                                     {"created__lt"},
		"created__lt=2025-03-01T12:00:00":                            {"created__lt"},  // no time zone
		"created__gte=2025-03-01T12:00:00+08:00":                     {"created__gte"}, // + unescaped reads as a space
		"created__gte=1740830400":                                    {"created__gte"},
		"created__gte=" + strings.Repeat("9", 300):                   {"created__gte"},
		"created__gte=2025-13-01T00:00:00Z&created__lt=%00":          {"created__gte", "created__lt"},
		"created__gte=" + url.QueryEscape("2025-03-01T12:00:00Z'--"): {"created__gte"},
	} {
		r := root.call("GET", "events/events/?"+q, nil, true)
		if !isProblem(r, 400) {
			t.Errorf("%s: %d %s, want a 400 problem", q, r.status, r.body)
			continue
		}
		for _, f := range fields {
			if !r.fieldError(f) {
				t.Errorf("%s: no error for %s in %s", q, f, r.body)
			}
		}
	}

	// One event.
	r := root.call("GET", "events/events/"+pks[1]+"/", nil, true)
	if r.status != 200 {
		t.Fatalf("GET one event: %d %s", r.status, r.body)
	}
	got := r.json(t)
	if got["pk"] != pks[1] || got["action"] != "custom_range_probe" || got["client_ip"] != "192.0.2.7" || got["app"] != "wiki" ||
		got["user"].(map[string]any)["username"] != "ivy" || got["context"].(map[string]any)["n"] != float64(1) ||
		got["created"] != base.Add(time.Hour).Format(time.RFC3339) {
		t.Errorf("GET one event: %v", got)
	}
	// A real event, recorded by the server: what the list shows, the
	// detail shows.
	e.client().failLogin("root")
	failed := root.call("GET", "events/events/?action=login_failed", nil, true).results(t)
	if len(failed) != 1 {
		t.Fatalf("login_failed events: %v", failed)
	}
	if d := root.call("GET", "events/events/"+failed[0]["pk"].(string)+"/", nil, true); d.status != 200 ||
		fmt.Sprint(d.json(t)) != fmt.Sprint(failed[0]) {
		t.Errorf("detail %s differs from the list's %v", d.body, failed[0])
	}

	// Unknown, malformed and another tenant's: the same 404 problem.
	other, _ := e.foreignTenant("other.example")
	foreign := &store.Event{Action: "login", Username: "stranger"}
	if err := other.Events().Create(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]string{"unknown": uuid.NewString(), "another tenant's": foreign.ID.String(), "malformed": "not-a-uuid"} {
		if r := root.call("GET", "events/events/"+id+"/", nil, name != "malformed"); !isProblem(r, 404) {
			t.Errorf("%s event: %d %s, want a 404 problem", name, r.status, r.body)
		}
	}
	// Without authentik_events.view_event: forbidden, even for one's own events.
	plain := e.apiAs(e.createUser("ivy", "ivy's password", store.UserInternal))
	if r := plain.call("GET", "events/events/"+pks[0]+"/", nil, true); !isProblem(r, 403) {
		t.Errorf("GET without the permission: %d %s, want 403", r.status, r.body)
	}
	// Events are read-only: no endpoint changes one.
	for _, m := range []string{"PATCH", "PUT", "DELETE"} {
		if r := root.call(m, "events/events/"+pks[0]+"/", map[string]any{"action": "login"}, false); r.status != 404 && r.status != 405 {
			t.Errorf("%s an event: %d %s, want 404 or 405", m, r.status, r.body)
		}
	}
	if got := root.call("GET", "events/events/"+pks[0]+"/", nil, true).json(t); got["action"] != "custom_range_probe" {
		t.Errorf("the event after attempts to change it: %v", got)
	}
}

// ak_create_event goes through the event writer like every other event:
// a rule matching its action notifies, and a store error raises in the
// expression.
func TestAkCreateEventNotifies(t *testing.T) {
	e := newNotifyEnv(t, nil)
	match := `
  - model: authentik_policies_event_matcher.eventmatcherpolicy
    id: match
    identifiers: {name: match-backup-done}
    attrs: {action: custom_backup_done}
`
	if err := e.applyNotify(notifyBlueprint(match, localTransport)); err != nil {
		t.Fatal(err)
	}
	sec := e.apiAs(e.securityMember("secadmin"))
	rootUser := e.superuser("root")
	root := e.apiAs(rootUser)
	p := root.create("policies/expression/", map[string]any{"name": "announce-backup",
		"expression": "ak_create_event(\"backup_done\", message=\"Backup of db done\", target=\"db\", api_key=\"k-123\")\nreturn True"})
	r := root.call("POST", "policies/all/"+p["pk"].(string)+"/test/", map[string]any{"user": rootUser.ID.String()}, true)
	if r.status != 200 || r.json(t)["passing"] != true {
		t.Fatalf("policy test: %d %s", r.status, r.body)
	}
	if evs := e.events("custom_backup_done"); len(evs) != 1 {
		t.Fatalf("%d custom_backup_done events, want 1", len(evs))
	}
	// The event is stored; the rule hears of it only if ak_create_event
	// went through the audit writer (its Notify hook), as every event does.
	n := sec.waitNotifications(1)[0]
	ev := n["event"].(map[string]any)
	ctx := ev["context"].(map[string]any)
	if n["body"] != "Backup of db done" || n["severity"] != "alert" || ev["action"] != "custom_backup_done" ||
		ctx["target"] != "db" || ctx["api_key"] != "********" {
		t.Fatalf("notification for ak_create_event: %v", n)
	}

	// Scope mappings run expressions too: one that records an event while
	// a token is issued reaches the rule the same way.
	m := root.create("propertymappings/provider/scope/", map[string]any{"name": "audited", "scope_name": "audited",
		"expression": "ak_create_event(\"backup_done\", message=\"from a scope mapping\")\nreturn {}"})
	id, secret := e.oidcApp("audited-app", func(c *oauth2.Config) { c.PropertyMappings = append(c.PropertyMappings, m["pk"].(string)) })
	if r := e.postToken(url.Values{"grant_type": {"client_credentials"}, "scope": {"audited"}}, id, secret); r.status != 200 {
		t.Fatalf("token with the audited scope: %d %s", r.status, r.raw)
	}
	if ns := sec.waitNotifications(2); ns[0]["body"] != "from a scope mapping" && ns[1]["body"] != "from a scope mapping" {
		t.Errorf("no notification for the scope mapping's event: %v", ns)
	}

	// The store refuses an action over 100 characters: the expression
	// raises, so the test reports an exception instead of passing.
	bad := root.create("policies/expression/", map[string]any{"name": "too-long",
		"expression": "ak_create_event(\"x\" * 100)\nreturn True"})
	r = root.call("POST", "policies/all/"+bad["pk"].(string)+"/test/", map[string]any{"user": rootUser.ID.String()}, true)
	if r.status != 200 || r.json(t)["passing"] != false || !strings.Contains(string(r.body), "must be 1 to 100 characters") {
		t.Errorf("ak_create_event refused by the store: %d %s", r.status, r.body)
	}
}

// The console's event page links to the same user's and the same
// address's events, all of them and in the hour around this one; the
// browser's date range narrows the list; an event opens without the ?at=
// its links carry. Superusers find their own notifications under Events.
func TestAdminEventLinksAndNotifications(t *testing.T) {
	e := newNotifyEnv(t, nil)
	c := e.adminBrowser()
	e.createUser("mallory", "Mallory-Password-1", store.UserInternal)
	e.client().failLogin("mallory")
	ev := e.events("login_failed")[0]
	// An old one of mallory's, outside the hour around ev.
	old := &store.Event{Action: "login_failed", Username: "mallory", ClientIP: "127.0.0.1",
		CreatedAt: ev.CreatedAt.Add(-3 * time.Hour), Expires: time.Now().Add(time.Hour)}
	if err := e.sc.Events().Create(context.Background(), old); err != nil {
		t.Fatal(err)
	}

	p := c.consoleGet("/if/admin/events/" + ev.ID.String() + "/")
	if p.status != 200 || !p.has(`"username": "mallory"`) {
		t.Fatalf("event page without ?at=: %d\n%s", p.status, p.body)
	}
	if p := c.consoleGet("/if/admin/events/" + uuid.NewString() + "/"); p.status != 404 {
		t.Errorf("unknown event: %d", p.status)
	}
	for _, l := range []struct{ text, want, not string }{
		{"Events of mallory", old.ID.String(), ""},
		{"Events from 127.0.0.1", old.ID.String(), ""},
		{"Events of mallory in the hour around this one", ev.ID.String(), old.ID.String()},
		{"Events from 127.0.0.1 in the hour around this one", ev.ID.String(), old.ID.String()},
	} {
		href := linkTo(t, p.body, l.text)
		list := c.consoleGet(html.UnescapeString(href))
		if list.status != 200 || !list.has(l.want) || (l.not != "" && list.has(l.not)) {
			t.Errorf("%q (%s): %d, want %s listed and %q not\n%s", l.text, href, list.status, l.want, l.not, list.body)
		}
	}
	// The browser's own date range.
	since := url.QueryEscape(ev.CreatedAt.Add(-time.Hour).UTC().Format(time.RFC3339))
	if list := c.consoleGet("/if/admin/events/?username=mallory&since=" + since); !list.has(ev.ID.String()) || list.has(old.ID.String()) {
		t.Errorf("since an hour ago: want only the recent event\n%s", list.body)
	}
	until := url.QueryEscape(ev.CreatedAt.Add(-time.Hour).UTC().Format(time.RFC3339))
	if list := c.consoleGet("/if/admin/events/?username=mallory&until=" + until); list.has(ev.ID.String()) || !list.has(old.ID.String()) {
		t.Errorf("until an hour ago: want only the old event\n%s", list.body)
	}
	zh := c.consoleGet("/if/admin/events/"+ev.ID.String()+"/", "Accept-Language", "zh-CN")
	if !zh.has("mallory 在此事件前后一小时内的事件") || !zh.has("来自 127.0.0.1 在此事件前后一小时内的事件") {
		t.Errorf("the event page in Chinese lacks the related links\n%s", zh.body)
	}

	// Notifications in the console: root's own, with Chinese labels.
	if err := e.applyNotify(notifyBlueprint(matchLoginFailed, localTransport)); err != nil {
		t.Fatal(err)
	}
	root, err := e.sc.Users().GetByUsername(context.Background(), "root")
	if err != nil {
		t.Fatal(err)
	}
	g, _ := e.sc.Groups().GetByName(context.Background(), "security")
	if err := e.sc.Groups().AddMember(context.Background(), g.ID, root.ID); err != nil {
		t.Fatal(err)
	}
	e.client().failLogin("mallory")
	e.apiAs(root).waitNotifications(1)
	p = c.consoleGet("/if/admin/events/notifications/")
	if p.status != 200 || !p.has("Alert") || !p.has("Mark all as read") {
		t.Errorf("notifications page: %d\n%s", p.status, p.body)
	}
	m := regexp.MustCompile(`<th scope="row"><a href="(/if/admin/events/notifications/[0-9a-f-]{36}/)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no notification row:\n%s", p.body)
	}
	if d := c.consoleGet(m[1]); d.status != 200 || !d.has("login_failed") {
		t.Errorf("notification page: %d\n%s", d.status, d.body)
	}
	d := c.consoleGet(m[1] + "edit/")
	if d.status != 200 || !d.has(`name="seen"`) {
		t.Fatalf("notification edit form: %d\n%s", d.status, d.body)
	}
	form := formValues(t, d.body)
	form.Set("seen", "true")
	if r := c.consolePost(m[1]+"edit/", m[1]+"edit/", form); r.status != http.StatusSeeOther {
		t.Errorf("marking read in the console: %d\n%s", r.status, r.body)
	}
	if l := e.apiAs(root).call("GET", "events/notifications/?seen=true", nil, true).results(t); len(l) != 1 {
		t.Errorf("after the console's edit, %d read notifications, want 1", len(l))
	}
	p = c.consoleGet("/if/admin/events/notifications/", "Accept-Language", "zh-CN")
	if p.status != 200 || !p.has("警报") || !p.has("全部标为已读") {
		t.Errorf("notifications page in Chinese: %d\n%s", p.status, p.body)
	}
}

// A rule whose own policy creates an event would be asked about that
// event, create another, and so on: events created while rules judge are
// stored but notify nobody, so the chain stops after one.
func TestRulePolicyEventsDoNotLoop(t *testing.T) {
	e := newNotifyEnv(t, nil)
	loop := `
  - model: authentik_policies_expression.expressionpolicy
    id: match
    identifiers: {name: echo-everything}
    attrs:
      expression: |
        ak_create_event("echo")
        return request.context["event"]["action"] == "login_failed"
`
	if err := e.applyNotify(notifyBlueprint(loop, localTransport)); err != nil {
		t.Fatal(err)
	}
	sec := e.apiAs(e.securityMember("secadmin"))
	e.createUser("mallory", "Mallory-Password-1", store.UserInternal)
	e.client().failLogin("mallory")
	sec.waitNotifications(1)
	// Let the queue run on: a loop would keep adding echo events.
	time.Sleep(500 * time.Millisecond)
	first := len(e.events("custom_echo"))
	time.Sleep(500 * time.Millisecond)
	if n := len(e.events("custom_echo")); n == 0 || n != first || n > 10 {
		t.Errorf("custom_echo events: %d then %d, want a few that stop growing", first, n)
	}
}
