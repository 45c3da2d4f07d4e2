package i18n

import (
	"slices"
	"strings"
	"testing"
)

// The admin console's table meets the main catalog's rules.
func TestAdminMessages(t *testing.T) {
	if len(admin) < 300 {
		t.Fatalf("only %d admin messages", len(admin))
	}
	for id, e := range admin {
		if !strings.HasPrefix(id, "admin.") {
			t.Errorf("%q does not start with admin.", id)
		}
		if strings.TrimSpace(e.en) == "" || strings.TrimSpace(e.zh) == "" {
			t.Errorf("%q lacks a language: en %q, zh %q", id, e.en, e.zh)
		}
		if got, want := placeholders(e.zh), placeholders(e.en); !slices.Equal(got, want) {
			t.Errorf("%q: Chinese placeholders %v, English %v", id, got, want)
		}
		if !strings.ContainsFunc(e.zh, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) &&
			!slices.Contains([]string{"ID", "UID", "{model}：{name}"}, e.zh) {
			t.Errorf("%q: %q has no Chinese characters", id, e.zh)
		}
		for _, p := range []string{"? ", "! ", ", "} {
			if strings.Contains(e.zh, p) {
				t.Errorf("%q: %q uses ASCII punctuation %q", id, e.zh, p)
			}
		}
		if strings.HasSuffix(e.zh, ".") || strings.HasSuffix(e.zh, "?") {
			t.Errorf("%q: %q ends with ASCII punctuation", id, e.zh)
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
