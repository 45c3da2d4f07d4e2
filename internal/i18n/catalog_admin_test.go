package i18n

import (
	"strings"
	"testing"
)

// The admin console's table is large and apart from the main catalog.
func TestAdminMessages(t *testing.T) {
	ids := AdminIDs()
	if len(ids) < 300 {
		t.Fatalf("only %d admin messages", len(ids))
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "admin.") {
			t.Errorf("%q does not start with admin.", id)
		}
	}
}

func TestAdmin(t *testing.T) {
	for _, tc := range []struct {
		lang Lang
		id   string
		args map[string]any
		want string
	}{
		{EN, "admin.action.new", map[string]any{"model": "User"}, "New User"},
		{ZhHans, "admin.action.new", map[string]any{"model": "用户"}, "新建用户"},
		{ZhHans, "admin.model.user", nil, "用户"},
		{EN, "admin.models.user", nil, "Users"},
		{ZhHans, "admin.field.username", nil, "用户名"},
		{ZhHans, "admin.enum.internal", nil, "内部"},
		{EN, "admin.no.such", nil, "admin.no.such"},
	} {
		if got := Admin(tc.lang, tc.id, tc.args); got != tc.want {
			t.Errorf("Admin(%q, %q) = %q, want %q", tc.lang, tc.id, got, tc.want)
		}
	}
	if !HasAdmin("admin.brand") || HasAdmin("action.log_in") || Has("admin.brand") {
		t.Error("the admin table and the main catalog must not overlap")
	}
}
