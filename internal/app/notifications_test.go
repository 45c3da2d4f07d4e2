package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/notification/notifytest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const notifySecret = "notify-secret-5f0e2a71c9d84b36"

// newNotifyEnv is the product with job retries 20 ms apart (instead of 15 s
// doubling), so a receiver that fails twice is retried within the test.
func newNotifyEnv(t *testing.T, log *lockedBuffer) *testEnv {
	t.Helper()
	o := envOptions{app: Options{jobOptions: []job.Option{
		job.WithBackoff(func(int) time.Duration { return 20 * time.Millisecond }),
		job.WithPollInterval(50 * time.Millisecond),
	}}}
	if log != nil {
		o.log = log
	}
	return newEnvWith(t, o)
}

// applyNotify applies a blueprint the way `gatehouse blueprint apply` does
// (secrets sealed), with NOTIFY_WEBHOOK_SECRET set.
func (e *testEnv) applyNotify(src string) error {
	e.t.Helper()
	bp, err := blueprint.Parse("notify.yaml", []byte(src))
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = e.app.ApplyBlueprint(context.Background(), e.sc, bp, func(k string) (string, bool) {
		return notifySecret, k == "NOTIFY_WEBHOOK_SECRET"
	})
	return err
}

// notifyBlueprint notifies the group security through the given transport
// entries (YAML, with id: transport) of events that policy (YAML, with id:
// match) passes.
func notifyBlueprint(policy, transports string) string {
	return `version: 1
metadata: {name: notify}
entries:
  - model: authentik_core.group
    id: security
    identifiers: {name: security}
` + policy + transports + `
  - model: authentik_events.notificationrule
    id: rule
    identifiers: {name: notify-security}
    attrs:
      severity: alert
      destination_group: !KeyOf security
      transports: [!KeyOf transport]
  - model: authentik_policies.policybinding
    identifiers: {target: !KeyOf rule, policy: !KeyOf match, order: 0}
`
}

const matchLoginFailed = `
  - model: authentik_policies_event_matcher.eventmatcherpolicy
    id: match
    identifiers: {name: match-login-failed}
    attrs: {action: login_failed}
`

func webhookTransport(mode, url string) string {
	return `
  - model: authentik_events.notificationtransport
    id: transport
    identifiers: {name: security-hook}
    attrs:
      mode: ` + mode + `
      webhook_url: ` + url + `
      secret: !Env NOTIFY_WEBHOOK_SECRET
`
}

// securityMember is a user in the group the blueprint made.
func (e *testEnv) securityMember(username string) *store.User {
	e.t.Helper()
	u := e.createUser(username, "correct horse battery", store.UserInternal)
	g, err := e.sc.Groups().GetByName(context.Background(), "security")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.sc.Groups().AddMember(context.Background(), g.ID, u.ID); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// failLogin types a wrong password for username.
func (c *client) failLogin(username string) {
	c.e.t.Helper()
	c.post("default-authentication-flow", map[string]any{"uid_field": username})
	ch := c.post("default-authentication-flow", map[string]any{"password": "not the password"})
	if ch.component() != "ak-stage-password" {
		c.e.t.Fatalf("a wrong password: want the password stage again, got %v", ch)
	}
}

// waitJobsIdle waits until no job is pending or running.
func (e *testEnv) waitJobsIdle() {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		st, err := e.app.Queue().Stats(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if c := st.Total(); c.Pending+c.Running == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatal("jobs still pending after 15 s")
}

func TestNotificationWebhookOnFailedLogin(t *testing.T) {
	log := &lockedBuffer{}
	e := newNotifyEnv(t, log)
	rcv := notifytest.Start(t)
	if err := e.applyNotify(notifyBlueprint(matchLoginFailed, webhookTransport("webhook", rcv.URL))); err != nil {
		t.Fatal(err)
	}
	admin := e.securityMember("secadmin")
	e.createUser("alice", "alice's password", store.UserInternal)

	e.client().login("alice", "alice's password") // a login is not a failed login
	e.client().failLogin("alice")
	req := rcv.Wait(t, 1, 15*time.Second)[0]
	e.waitJobsIdle()
	if n := len(rcv.Requests()); n != 1 {
		t.Fatalf("the receiver got %d POSTs for one failed login, want 1", n)
	}
	if err := notifytest.Verify(notifySecret, req.Header, req.Body, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("signature does not verify: %v\nheaders: %v", err, req.Header)
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["severity"] != "alert" || body["user_username"] != "secadmin" || body["event_user_username"] != "alice" ||
		!strings.HasPrefix(body["body"].(string), "login_failed: ") {
		t.Fatalf("webhook body: %s", req.Body)
	}

	// The member reads the notification and marks it seen.
	unseen := false
	list, total, err := e.sc.Notifications().ListForUser(context.Background(), admin.ID, store.NotificationQuery{Seen: &unseen})
	if err != nil || total != 1 || list[0].Event["action"] != "login_failed" {
		t.Fatalf("secadmin's unread notifications: %d, %v (%v)", total, list, err)
	}
	if err := e.sc.Notifications().SetSeen(context.Background(), list[0].ID, true); err != nil {
		t.Fatal(err)
	}
	if _, total, _ := e.sc.Notifications().ListForUser(context.Background(), admin.ID, store.NotificationQuery{Seen: &unseen}); total != 0 {
		t.Fatalf("after SetSeen %d notifications are unread", total)
	}

	// The secret went into the MAC and nowhere else.
	var leaks []string
	if strings.Contains(log.String(), notifySecret) {
		leaks = append(leaks, "logs")
	}
	e.app.FlushEvents(context.Background())
	events, _, _ := e.sc.Events().List(context.Background(), store.EventQuery{Page: store.Page{Size: store.MaxPageSize}})
	if b, _ := json.Marshal(events); strings.Contains(string(b), notifySecret) {
		leaks = append(leaks, "events")
	}
	rows, err := e.app.DB().SQL().Query(`SELECT payload || last_error FROM jobs`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		if strings.Contains(s, notifySecret) {
			leaks = append(leaks, "jobs")
		}
	}
	rows.Close()
	tr, _ := e.sc.NotificationTransports().GetByName(context.Background(), "security-hook")
	if strings.Contains(tr.SecretEnc, notifySecret) || strings.Contains(string(req.Body), notifySecret) {
		leaks = append(leaks, "store or body")
	}
	if len(leaks) > 0 {
		t.Fatalf("the webhook secret appears in: %v", leaks)
	}
}

func TestNotificationRetriedUntilDeliveredOnce(t *testing.T) {
	e := newNotifyEnv(t, nil)
	rcv := notifytest.Start(t, http.StatusInternalServerError, http.StatusInternalServerError)
	if err := e.applyNotify(notifyBlueprint(matchLoginFailed, webhookTransport("webhook", rcv.URL))); err != nil {
		t.Fatal(err)
	}
	admin := e.securityMember("secadmin")
	e.createUser("alice", "alice's password", store.UserInternal)
	e.client().failLogin("alice")
	rcv.Wait(t, 3, 15*time.Second)
	e.waitJobsIdle()
	if delivered, sent := len(rcv.Delivered()), len(rcv.Requests()); delivered != 1 || sent != 3 {
		t.Fatalf("receiver: %d delivered of %d POSTs, want 1 of 3 (500, 500, then 200)", delivered, sent)
	}
	list, _, _ := e.sc.Notifications().ListForUser(context.Background(), admin.ID, store.NotificationQuery{})
	tr, _ := e.sc.NotificationTransports().GetByName(context.Background(), "security-hook")
	if len(list) != 1 {
		t.Fatalf("%d notifications, want 1", len(list))
	}
	if ok, err := e.sc.Notifications().Delivered(context.Background(), list[0].ID, tr.ID); err != nil || !ok {
		t.Fatalf("the delivery is not recorded: %v, %v", ok, err)
	}
}

func TestNotificationSlackWithExpressionPolicy(t *testing.T) {
	e := newNotifyEnv(t, nil)
	rcv := notifytest.Start(t)
	expr := `
  - model: authentik_policies_expression.expressionpolicy
    id: match
    identifiers: {name: failed-login-expression}
    attrs:
      expression: |
        return request.context["event"]["action"] == "login_failed"
`
	if err := e.applyNotify(notifyBlueprint(expr, webhookTransport("webhook_slack", rcv.URL))); err != nil {
		t.Fatal(err)
	}
	e.securityMember("secadmin")
	e.createUser("alice", "alice's password", store.UserInternal)
	e.client().login("alice", "alice's password")
	e.client().failLogin("alice")
	rcv.Wait(t, 1, 15*time.Second)
	e.waitJobsIdle()
	reqs := rcv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("Slack receiver got %d POSTs, want 1 (the login must not match)", len(reqs))
	}
	var msg struct {
		Text        string `json:"text"`
		Attachments []struct {
			Title  string           `json:"title"`
			Fields []map[string]any `json:"fields"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(reqs[0].Body, &msg); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg.Text, "login_failed: ") || len(msg.Attachments) != 1 || msg.Attachments[0].Title != "login_failed" ||
		msg.Attachments[0].Fields[0]["title"] != "Severity" || msg.Attachments[0].Fields[0]["value"] != "alert" {
		t.Fatalf("Slack message: %s", reqs[0].Body)
	}
}

func TestNotificationTransportURLRefused(t *testing.T) {
	e := newNotifyEnv(t, nil)
	for _, url := range []string{`"javascript:alert(1)"`, "file:///etc/passwd"} {
		err := e.applyNotify(notifyBlueprint(matchLoginFailed, webhookTransport("webhook", url)))
		if err == nil || !strings.Contains(err.Error(), "webhook_url: must be an http or https URL") {
			t.Errorf("webhook_url %s: got %v", url, err)
		}
	}
	if _, err := e.sc.NotificationTransports().GetByName(context.Background(), "security-hook"); err != store.ErrNotFound {
		t.Fatalf("a refused blueprint stored its transport: %v", err)
	}
	if _, err := e.sc.NotificationRules().GetByName(context.Background(), "notify-security"); err != store.ErrNotFound {
		t.Fatalf("a refused blueprint stored its rule: %v", err)
	}
}
