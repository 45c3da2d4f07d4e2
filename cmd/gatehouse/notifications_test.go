package main

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func TestNotificationsList(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	_, sc := h.app()
	u := &store.User{Username: "alice", Email: "alice@example.com", Type: store.UserInternal, IsActive: true, Path: "users"}
	if err := sc.Users().Create(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	rule := &store.NotificationRule{Name: "failed logins"}
	if err := sc.NotificationRules().Create(t.Context(), rule); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"login_failed: first", "login_failed:\nsecond"} {
		if err := sc.Notifications().Create(t.Context(), &store.Notification{UserID: u.ID, RuleID: rule.ID, EventID: uuid.New(),
			Severity: store.SeverityWarning, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	out := h.ok("", "notifications", "list", "--username", "alice", "--unread", "--mark-seen")
	if !strings.Contains(out, "login_failed: second") || !strings.Contains(out, "warning") || !strings.Contains(out, "2 of 2 notifications") {
		t.Fatalf("first listing:\n%s", out)
	}
	if out := h.ok("", "notifications", "list", "--username", "alice", "--unread"); !strings.Contains(out, "0 of 0 notifications") {
		t.Fatalf("after --mark-seen nothing is unread:\n%s", out)
	}
	if out := h.ok("", "notifications", "list", "--username", "alice"); !strings.Contains(out, "true") || !strings.Contains(out, "2 of 2") {
		t.Fatalf("all notifications, read:\n%s", out)
	}
	h.fails(2, []string{`--username: no user "bob"`}, "", "notifications", "list", "--username", "bob")
	h.fails(2, []string{"--username is required"}, "", "notifications", "list")
}
