package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestImpersonationBanner: while an admin impersonates a user, the user
// interface says so and offers to end it; the form needs the session's
// CSRF token; ending it gives the session back to the admin, lands in the
// console's users and is recorded.
func TestImpersonationBanner(t *testing.T) {
	e := newEnv(t)
	e.superuser("root")
	alice := e.createUser("alice", "Alice-Password-1", store.UserInternal)
	sess, browser := e.sessionAPI("root", "Admin-Password-1")
	if p := browser.open("/if/user/", nil); strings.Contains(p.body, "impersonation/end") {
		t.Fatalf("a banner before any impersonation:\n%s", p.body)
	}
	if r := sess.call("POST", "core/users/"+alice.ID.String()+"/impersonate/", map[string]any{"reason": "ticket 7"}, true); r.status != 204 {
		t.Fatalf("impersonate: %d %s", r.status, r.body)
	}
	p := browser.open("/if/user/", nil)
	if p.status != 200 || !strings.Contains(p.body, "root, you are acting as alice") || !strings.Contains(p.body, `action="/if/admin/impersonation/end/"`) {
		t.Fatalf("the user interface while impersonating: %d\n%s", p.status, p.body)
	}
	// alice may not open the console: its refusal offers the way back.
	if a := browser.open("/if/admin/", nil); a.status != http.StatusForbidden || !strings.Contains(a.body, `action="/if/admin/impersonation/end/"`) {
		t.Errorf("the console refusing alice while impersonated: %d\n%s", a.status, a.body)
	}
	if zh := browser.open("/if/user/?locale=zh-Hans", nil); !strings.Contains(zh.body, "结束模拟登录") {
		t.Errorf("the banner in Chinese:\n%s", zh.body)
	}
	browser.open("/if/user/?locale=en", nil)
	if r := browser.open("/if/admin/impersonation/end/", url.Values{"csrf_token": {"forged"}}); r.status != http.StatusForbidden {
		t.Errorf("ending with a forged token: %d", r.status)
	}
	if me := sess.call("GET", "core/users/me/", nil, true).json(t); me["original"] == nil {
		t.Fatal("a forged form ended the impersonation")
	}
	r := browser.open("/if/admin/impersonation/end/", url.Values{"csrf_token": {p.csrf(t)}})
	if r.status != http.StatusSeeOther || r.loc != "/if/admin/core/users/" {
		t.Fatalf("end impersonation: %d %q", r.status, r.loc)
	}
	if me := sess.call("GET", "core/users/me/", nil, true).json(t); me["user"].(map[string]any)["username"] != "root" || me["original"] != nil {
		t.Errorf("after ending: %v", me)
	}
	if ended := e.events("impersonation_ended"); len(ended) != 1 || ended[0].ImpersonatorUsername != "root" {
		t.Errorf("impersonation_ended events: %+v", ended)
	}
	if p := browser.open("/if/user/", nil); strings.Contains(p.body, "impersonation/end") {
		t.Errorf("the banner outlived the impersonation")
	}
}

// An impersonated user who may open the console sees the banner there.
func TestImpersonationBannerInConsole(t *testing.T) {
	e := newEnv(t)
	e.superuser("root")
	staff := e.createUser("staff", "Staff-Password-1", store.UserInternal)
	e.grant(staff, "authentik_rbac.access_admin_interface", "authentik_core.view_user")
	sess, browser := e.sessionAPI("root", "Admin-Password-1")
	if p := browser.open("/if/admin/", nil); strings.Contains(p.body, "impersonation/end") {
		t.Fatalf("a banner before any impersonation")
	}
	if r := sess.call("POST", "core/users/"+staff.ID.String()+"/impersonate/", map[string]any{"reason": "ticket 8"}, true); r.status != 204 {
		t.Fatalf("impersonate: %d %s", r.status, r.body)
	}
	p := browser.open("/if/admin/core/users/", nil)
	if p.status != 200 || !strings.Contains(p.body, "root, you are acting as staff") {
		t.Fatalf("the console while impersonating staff: %d\n%s", p.status, p.body)
	}
	if r := browser.open("/if/admin/impersonation/end/", url.Values{"csrf_token": {p.csrf(t)}}); r.status != http.StatusSeeOther {
		t.Errorf("end from the console's banner: %d", r.status)
	}
}
