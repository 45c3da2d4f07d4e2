package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

func TestPages(t *testing.T) {
	r := newTestRenderer(t)
	for _, tc := range []struct {
		name   string
		status int
		data   any
		want   map[i18n.Lang][]string
	}{
		{PageError, http.StatusInternalServerError,
			map[string]any{"Title": "Something went wrong", "Message": "", "RequestID": "req-123"},
			map[i18n.Lang][]string{
				i18n.EN:     {"Something went wrong", "<code>req-123</code>", "Request ID"},
				i18n.ZhHans: {"出错了", "<code>req-123</code>", "请求 ID"}}},
		{PageForbidden, http.StatusForbidden,
			map[string]any{"MessageCode": i18n.IfaceInternalOnly, "Message": "Interface can only be accessed by internal users", "User": "bob"},
			map[i18n.Lang][]string{
				i18n.EN:     {"Access denied", "Interface can only be accessed by internal users", "Logged in as bob", `href="/flows/-/default/invalidation/"`},
				i18n.ZhHans: {"访问被拒绝", "只有内部用户才能访问此界面。", "当前登录用户：bob", "退出登录"}}},
		{PageInterface, http.StatusOK, map[string]any{"User": "alice", "Interface": "user", "Impersonator": "root<b>", "CSRF": "csrf-abc"},
			map[i18n.Lang][]string{
				i18n.EN: {"Logged in as alice", "root&lt;b&gt;, you are acting as alice", `name="csrf_token" value="csrf-abc"`,
					`action="/if/admin/impersonation/end/"`, "End impersonation", "Log out"},
				i18n.ZhHans: {"当前登录用户：alice", "结束模拟登录", "退出登录"}}},
		{PageInterface, http.StatusOK, struct{ User, Interface string }{"carol", "external"},
			map[i18n.Lang][]string{i18n.EN: {"Logged in as carol", "Go back to the application"}}},
	} {
		for lang, want := range tc.want {
			p := renderPage(t, r, lang, tc.status, tc.name, tc.data)
			if p.status != tc.status {
				t.Errorf("%s/%s: status %d, want %d", tc.name, lang, p.status, tc.status)
			}
			checkPage(t, tc.name+"/"+string(lang), lang, p)
			for _, w := range want {
				if !strings.Contains(p.body, w) {
					t.Errorf("%s/%s: page lacks %q", tc.name, lang, w)
				}
			}
		}
	}
}

// The error page shows the request ID from the request, never text from
// the caller: an internal error message must not leak by mistake.
func TestErrorPageLeaksNothing(t *testing.T) {
	r := newTestRenderer(t)
	p := renderPage(t, r, i18n.EN, http.StatusInternalServerError, PageError, map[string]any{
		"Title": "pq: relation users does not exist", "Message": "dial tcp 10.0.0.5:5432: refused", "RequestID": "forged"})
	for _, leak := range []string{"pq:", "10.0.0.5", "forged"} {
		if strings.Contains(p.body, leak) {
			t.Errorf("error page shows %q", leak)
		}
	}
	if !strings.Contains(p.body, "req-123") {
		t.Error("error page lacks the request's ID")
	}
	p = renderPage(t, r, i18n.ZhHans, http.StatusNotFound, PageError, map[string]any{"MessageCode": i18n.PageNotFound})
	if !strings.Contains(p.body, "页面不存在。") {
		t.Error("error page ignores a known MessageCode")
	}
}

func TestUnknownPage(t *testing.T) {
	r := newTestRenderer(t)
	p := renderPage(t, r, i18n.EN, http.StatusOK, "no-such-page", nil)
	if p.status != http.StatusInternalServerError {
		t.Errorf("unknown page: status %d, want 500", p.status)
	}
	checkPage(t, "unknown page", i18n.EN, p)
}
