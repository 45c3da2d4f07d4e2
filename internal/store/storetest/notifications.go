package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func notificationTests() []namedTest {
	return []namedTest{
		{"NotificationRulesAndTransports", testNotificationRules},
		{"Notifications", testNotifications},
		{"NotificationQueries", testNotificationQueries},
		{"NotificationTenantIsolation", testNotificationTenantIsolation},
	}
}

func mustTransport(t *testing.T, sc store.Scope, name, mode, url string) *store.NotificationTransport {
	t.Helper()
	tr := &store.NotificationTransport{Name: name, Mode: mode, WebhookURL: url}
	noErr(t, "create transport "+name, sc.NotificationTransports().Create(t.Context(), tr))
	return tr
}

func mustRule(t *testing.T, sc store.Scope, name string, g *store.Group, transports ...*store.NotificationTransport) *store.NotificationRule {
	t.Helper()
	r := &store.NotificationRule{Name: name}
	if g != nil {
		r.GroupID = uuid.NullUUID{UUID: g.ID, Valid: true}
	}
	for _, tr := range transports {
		r.TransportIDs = append(r.TransportIDs, tr.ID)
	}
	noErr(t, "create rule "+name, sc.NotificationRules().Create(t.Context(), r))
	return r
}

func mustNotification(t *testing.T, sc store.Scope, u *store.User, rule *store.NotificationRule, event uuid.UUID) *store.Notification {
	t.Helper()
	n := &store.Notification{UserID: u.ID, RuleID: rule.ID, EventID: event, Severity: store.SeverityWarning,
		Body: "login_failed: alice", Event: map[string]any{"action": "login_failed"}, Expires: time.Now().Add(time.Hour)}
	noErr(t, "create notification", sc.Notifications().Create(t.Context(), n))
	return n
}

func testNotificationRules(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	rules, transports := sc.NotificationRules(), sc.NotificationTransports()
	if ok, err := rules.Any(ctx); err != nil || ok {
		t.Fatalf("Any on an empty tenant = %v, %v; want false", ok, err)
	}
	for _, url := range []string{"javascript:alert(1)", "file:///etc/passwd", "ftp://example.com/", "https://"} {
		wantField(t, "webhook URL "+url, transports.Create(ctx, &store.NotificationTransport{Name: "x", Mode: store.TransportWebhook,
			WebhookURL: url}), "webhook_url")
	}
	wantField(t, "webhook without URL", transports.Create(ctx, &store.NotificationTransport{Name: "x", Mode: store.TransportSlack}), "webhook_url")
	wantField(t, "unknown mode", transports.Create(ctx, &store.NotificationTransport{Name: "x", Mode: "sms"}), "mode")
	wantField(t, "unknown severity", rules.Create(ctx, &store.NotificationRule{Name: "x", Severity: "info"}), "severity")

	hook := mustTransport(t, sc, "hook", store.TransportWebhook, "https://hooks.example.com/in")
	mail := mustTransport(t, sc, "mail", store.TransportEmail, "")
	wantErr(t, "duplicate transport name", transports.Create(ctx, &store.NotificationTransport{Name: "hook", Mode: store.TransportLocal}), store.ErrConflict)
	admins := mustGroup(t, sc, "admins", nil)
	r := mustRule(t, sc, "failed logins", admins, hook, mail, hook)
	if r.Severity != store.SeverityNotice || len(r.TransportIDs) != 2 {
		t.Fatalf("created rule: want severity notice and two transports (the duplicate dropped), got %+v", r)
	}
	if ok, err := rules.Any(ctx); err != nil || !ok {
		t.Fatalf("Any with a rule = %v, %v; want true", ok, err)
	}
	got, err := rules.GetByName(ctx, "failed logins")
	noErr(t, "GetByName", err)
	want := []uuid.UUID{hook.ID, mail.ID}
	slices.SortFunc(want, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	if got.GroupID.UUID != admins.ID || !slices.Equal(got.TransportIDs, want) {
		t.Fatalf("GetByName = %+v, want group %v and transports %v", got, admins.ID, want)
	}
	wantErr(t, "rule with a missing transport", rules.Create(ctx, &store.NotificationRule{Name: "y",
		TransportIDs: []uuid.UUID{uuid.New()}}), store.ErrNotFound)

	upd, err := rules.Update(ctx, r.ID, func(x *store.NotificationRule) error {
		x.Severity, x.TransportIDs = store.SeverityAlert, []uuid.UUID{mail.ID}
		return nil
	})
	noErr(t, "Update", err)
	if upd.Version != 2 || upd.Severity != store.SeverityAlert {
		t.Fatalf("Update = %+v, want version 2 and severity alert", upd)
	}
	list, total, err := rules.List(ctx, store.Page{})
	noErr(t, "List", err)
	if total != 1 || !slices.Equal(list[0].TransportIDs, []uuid.UUID{mail.ID}) {
		t.Fatalf("List = %d rules, first %+v; want one rule with only the mail transport", total, list[0])
	}

	// Deleting a transport drops it from the rule; deleting the group
	// leaves the rule without a destination.
	noErr(t, "delete transport", transports.Delete(ctx, mail.ID))
	noErr(t, "delete group", sc.Groups().Delete(ctx, admins.ID))
	got, err = rules.Get(ctx, r.ID)
	noErr(t, "Get after deletes", err)
	if got.GroupID.Valid || len(got.TransportIDs) != 0 {
		t.Fatalf("after deleting its group and transport the rule is %+v", got)
	}

	p := &store.Object{Name: "matcher", Kind: "event_matcher"}
	noErr(t, "policy", sc.Policies().Create(ctx, p))
	noErr(t, "binding", sc.PolicyBindings().Create(ctx, &store.PolicyBinding{TargetID: r.ID,
		PolicyID: uuid.NullUUID{UUID: p.ID, Valid: true}, Enabled: true}))
	noErr(t, "delete rule", rules.Delete(ctx, r.ID))
	if bs, err := sc.PolicyBindings().ListForTargets(ctx, r.ID); err != nil || len(bs) != 0 {
		t.Fatalf("bindings of a deleted rule: %v, %v", bs, err)
	}
	wantErr(t, "Get deleted rule", func() error { _, err := rules.Get(ctx, r.ID); return err }(), store.ErrNotFound)

	sealed, err := transports.Update(ctx, hook.ID, func(x *store.NotificationTransport) error {
		x.SecretEnc, x.SendOnce = "sealed", true
		return nil
	})
	noErr(t, "transport Update", err)
	many, err := transports.GetMany(ctx, []uuid.UUID{hook.ID, uuid.New()})
	noErr(t, "GetMany", err)
	if len(many) != 1 || many[0].SecretEnc != "sealed" || !many[0].SendOnce || many[0].Version != sealed.Version {
		t.Fatalf("GetMany = %+v, want the updated hook only", many)
	}
	_, err = transports.Update(ctx, hook.ID, func(x *store.NotificationTransport) error {
		x.WebhookURL = "javascript:alert(1)"
		return nil
	})
	wantField(t, "update to a javascript URL", err, "webhook_url")
}

func testNotifications(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	alice, bob := mustUser(t, sc, "alice"), mustUser(t, sc, "bob")
	hook := mustTransport(t, sc, "hook", store.TransportWebhook, "https://hooks.example.com/in")
	rule := mustRule(t, sc, "r", nil, hook)
	ev1, ev2 := uuid.New(), uuid.New()
	n1 := mustNotification(t, sc, alice, rule, ev1)
	n2 := mustNotification(t, sc, alice, rule, ev2)
	mustNotification(t, sc, bob, rule, ev1)
	again := &store.Notification{UserID: alice.ID, RuleID: rule.ID, EventID: ev1, Severity: store.SeverityNotice}
	wantErr(t, "second notification for (event, rule, user)", sc.Notifications().Create(ctx, again), store.ErrConflict)

	got, err := sc.Notifications().Get(ctx, n1.ID)
	noErr(t, "Get", err)
	if got.Event["action"] != "login_failed" || got.Seen || got.Severity != store.SeverityWarning {
		t.Fatalf("Get = %+v", got)
	}
	unseen := false
	list, total, err := sc.Notifications().ListForUser(ctx, alice.ID, store.NotificationQuery{Seen: &unseen})
	noErr(t, "ListForUser", err)
	if total != 2 || list[0].ID != n2.ID {
		t.Fatalf("alice's unread: %d, first %v; want 2, newest (%v) first", total, list[0].ID, n2.ID)
	}
	noErr(t, "SetSeen", sc.Notifications().SetSeen(ctx, n1.ID, true))
	_, total, _ = sc.Notifications().ListForUser(ctx, alice.ID, store.NotificationQuery{Seen: &unseen})
	if total != 1 {
		t.Fatalf("after SetSeen alice has %d unread, want 1", total)
	}
	if n, err := sc.Notifications().MarkAllSeen(ctx, alice.ID); err != nil || n != 1 {
		t.Fatalf("MarkAllSeen = %d, %v; want 1", n, err)
	}

	if ok, err := sc.Notifications().Delivered(ctx, n2.ID, hook.ID); err != nil || ok {
		t.Fatalf("Delivered before MarkDelivered = %v, %v", ok, err)
	}
	noErr(t, "MarkDelivered", sc.Notifications().MarkDelivered(ctx, n2.ID, hook.ID, time.Now()))
	wantErr(t, "MarkDelivered twice", sc.Notifications().MarkDelivered(ctx, n2.ID, hook.ID, time.Now()), store.ErrConflict)
	if ok, err := sc.Notifications().Delivered(ctx, n2.ID, hook.ID); err != nil || !ok {
		t.Fatalf("Delivered after MarkDelivered = %v, %v", ok, err)
	}

	// Cleanup takes the seen ones (both of alice's) and the expired; bob's stays.
	n, err := sc.Notifications().DeleteStale(ctx, time.Now())
	if err != nil || n != 2 {
		t.Fatalf("DeleteStale = %d, %v; want 2", n, err)
	}
	if n, err = sc.Notifications().DeleteStale(ctx, time.Now().Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("DeleteStale after expiry = %d, %v; want 1", n, err)
	}
	// A deleted user takes their notifications along.
	n3 := mustNotification(t, sc, bob, rule, ev2)
	noErr(t, "delete bob", sc.Users().Delete(ctx, bob.ID))
	wantErr(t, "notification of a deleted user", func() error { _, err := sc.Notifications().Get(ctx, n3.ID); return err }(), store.ErrNotFound)
}

// testNotificationQueries: a user's list filters by seen and severity,
// orders by creation either way and pages, never reaching another user's.
func testNotificationQueries(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	alice, bob := mustUser(t, sc, "alice"), mustUser(t, sc, "bob")
	rule := mustRule(t, sc, "r", nil)
	var mine []uuid.UUID // oldest first
	for i, sev := range []string{store.SeverityNotice, store.SeverityAlert, store.SeverityWarning, store.SeverityAlert} {
		n := &store.Notification{UserID: alice.ID, RuleID: rule.ID, EventID: uuid.New(), Severity: sev,
			Body: "event", Seen: i == 0, Expires: time.Now().Add(time.Hour)}
		noErr(t, "create notification", sc.Notifications().Create(ctx, n))
		mine = append(mine, n.ID)
		time.Sleep(2 * time.Millisecond) // distinct creation times on every backend
	}
	mustNotification(t, sc, bob, rule, uuid.New())
	idsOf := func(list []*store.Notification) []uuid.UUID {
		out := []uuid.UUID{}
		for _, n := range list {
			if n.UserID != alice.ID {
				t.Errorf("alice's list holds %v of user %v", n.ID, n.UserID)
			}
			out = append(out, n.ID)
		}
		return out
	}
	yes, no := true, false
	for _, c := range []struct {
		name  string
		q     store.NotificationQuery
		want  []uuid.UUID
		total int
	}{
		{"all, newest first", store.NotificationQuery{}, []uuid.UUID{mine[3], mine[2], mine[1], mine[0]}, 4},
		{"-created", store.NotificationQuery{Ordering: "-created"}, []uuid.UUID{mine[3], mine[2], mine[1], mine[0]}, 4},
		{"oldest first", store.NotificationQuery{Ordering: "created"}, mine, 4},
		{"seen", store.NotificationQuery{Seen: &yes}, []uuid.UUID{mine[0]}, 1},
		{"unseen, oldest first", store.NotificationQuery{Seen: &no, Ordering: "created"}, mine[1:], 3},
		{"alerts", store.NotificationQuery{Severity: store.SeverityAlert}, []uuid.UUID{mine[3], mine[1]}, 2},
		{"unseen notices", store.NotificationQuery{Seen: &no, Severity: store.SeverityNotice}, []uuid.UUID{}, 0},
		{"page 2 of 3", store.NotificationQuery{Page: store.Page{Number: 2, Size: 3}}, []uuid.UUID{mine[0]}, 4},
	} {
		list, total, err := sc.Notifications().ListForUser(ctx, alice.ID, c.q)
		noErr(t, c.name, err)
		if got := idsOf(list); !slices.Equal(got, c.want) || total != c.total {
			t.Errorf("%s: got %v (total %d), want %v (total %d)", c.name, got, total, c.want, c.total)
		}
	}
	_, _, err := sc.Notifications().ListForUser(ctx, alice.ID, store.NotificationQuery{Ordering: "severity"})
	wantField(t, "unknown ordering", err, "ordering")
	_, _, err = sc.Notifications().ListForUser(ctx, alice.ID, store.NotificationQuery{Severity: "info"})
	wantField(t, "unknown severity", err, "severity")
}

func testNotificationTenantIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := mustTenant(t, s, "a"), mustTenant(t, s, "b")
	ua := mustUser(t, a, "ivy")
	ga := mustGroup(t, a, "admins", nil)
	hook := mustTransport(t, a, "hook", store.TransportWebhook, "https://hooks.example.com/in")
	rule := mustRule(t, a, "rule", ga, hook)
	n := mustNotification(t, a, ua, rule, uuid.New())
	mustTransport(t, b, "hook", store.TransportWebhook, "https://hooks.example.com/b") // names are per tenant
	ret := func(_ any, err error) error { return err }
	for _, c := range []struct {
		name string
		err  error
	}{
		{"NotificationRules.Get", ret(b.NotificationRules().Get(ctx, rule.ID))},
		{"NotificationRules.GetByName", ret(b.NotificationRules().GetByName(ctx, "rule"))},
		{"NotificationRules.Update", ret(b.NotificationRules().Update(ctx, rule.ID, func(*store.NotificationRule) error { return nil }))},
		{"NotificationRules.Delete", b.NotificationRules().Delete(ctx, rule.ID)},
		{"NotificationRules.Create with A's group", b.NotificationRules().Create(ctx, &store.NotificationRule{Name: "x",
			GroupID: uuid.NullUUID{UUID: ga.ID, Valid: true}})},
		{"NotificationRules.Create with A's transport", b.NotificationRules().Create(ctx, &store.NotificationRule{Name: "y",
			TransportIDs: []uuid.UUID{hook.ID}})},
		{"NotificationTransports.Get", ret(b.NotificationTransports().Get(ctx, hook.ID))},
		{"NotificationTransports.Update", ret(b.NotificationTransports().Update(ctx, hook.ID, func(*store.NotificationTransport) error { return nil }))},
		{"NotificationTransports.Delete", b.NotificationTransports().Delete(ctx, hook.ID)},
		{"Notifications.Get", ret(b.Notifications().Get(ctx, n.ID))},
		{"Notifications.SetSeen", b.Notifications().SetSeen(ctx, n.ID, true)},
		{"Notifications.Delete", b.Notifications().Delete(ctx, n.ID)},
		{"Notifications.MarkDelivered", b.Notifications().MarkDelivered(ctx, n.ID, hook.ID, time.Now())},
		{"Notifications.Create for A's user", b.Notifications().Create(ctx, &store.Notification{UserID: ua.ID, RuleID: rule.ID,
			EventID: uuid.New(), Severity: store.SeverityNotice})},
	} {
		if !errorsIsNotFound(c.err) {
			t.Errorf("%s across tenants: want ErrNotFound, got %v", c.name, c.err)
		}
	}
	if ok, err := b.NotificationRules().Any(ctx); err != nil || ok {
		t.Errorf("B sees A's rules: Any = %v, %v", ok, err)
	}
	if many, err := b.NotificationTransports().GetMany(ctx, []uuid.UUID{hook.ID}); err != nil || len(many) != 0 {
		t.Errorf("B's GetMany returned A's transport: %v, %v", many, err)
	}
	if list, total, err := b.NotificationTransports().List(ctx, store.Page{}); err != nil || total != 1 || list[0].WebhookURL != "https://hooks.example.com/b" {
		t.Errorf("B's transport list: %d, %v", total, err)
	}
	if list, _, err := b.Notifications().ListForUser(ctx, ua.ID, store.NotificationQuery{}); err != nil || len(list) != 0 {
		t.Errorf("B lists A's notifications: %v, %v", list, err)
	}
	if n, err := b.Notifications().MarkAllSeen(ctx, ua.ID); err != nil || n != 0 {
		t.Errorf("B marks A's notifications seen: %d, %v", n, err)
	}
	if n, err := b.Notifications().DeleteStale(ctx, time.Now().Add(24*time.Hour)); err != nil || n != 0 {
		t.Errorf("B's cleanup deleted %d of A's notifications (%v)", n, err)
	}
	if ok, err := b.Notifications().Delivered(ctx, n.ID, hook.ID); err != nil || ok {
		t.Errorf("B sees A's deliveries: %v, %v", ok, err)
	}
	if got, err := a.Notifications().Get(ctx, n.ID); err != nil || got.Seen {
		t.Errorf("A's notification after B's attempts: %+v, %v", got, err)
	}
}
