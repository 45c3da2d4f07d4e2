package notification

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/notification/notifytest"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
)

const testSecret = "whsec-test-0123456789"

// env is the service on a fresh SQLite database with its job queue
// running, retries after 10 ms instead of minutes.
type env struct {
	t      *testing.T
	db     *sqlstore.DB
	sc     store.Scope
	q      *job.Queue
	svc    *Service
	box    *secretbox.Box
	record func(context.Context, store.Scope, *store.Event)
	mails  *mailbox
}

type mailbox struct {
	mu  sync.Mutex
	got []mail.Message
}

func (m *mailbox) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, msg)
	return nil
}

func (m *mailbox) messages() []mail.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mail.Message(nil), m.got...)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := sqlitetest.Open(t)
	ten, err := db.Tenants().EnsureDefault(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New("test-secret-key-that-is-long-enough-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	q := job.New(db.SQL(), db.Driver(), log, job.WithPollInterval(20*time.Millisecond),
		job.WithBackoff(func(int) time.Duration { return 10 * time.Millisecond }))
	mails := &mailbox{}
	mail.RegisterJob(q, mails)
	e := &env{t: t, db: db, sc: db.Scope(ten.ID), q: q, box: box, mails: mails}
	// Policy exceptions are recorded through the same writer, as in the
	// product, so a failing rule policy produces a policy_exception event.
	w := &audit.Writer{Log: log}
	engine := policy.NewEngine(policy.Kinds(time.Now), policy.Hooks{
		Exception: func(ctx context.Context, req *policy.Request, p *store.Object, err error) {
			w.Record(ctx, req.Scope, &store.Event{Action: "policy_exception",
				Context: map[string]any{"policy": p.Name, "policy_id": p.ID.String(), "message": err.Error()}})
		},
		Executed: func(ctx context.Context, req *policy.Request, p *store.Object, res policy.Result) {
			w.Record(ctx, req.Scope, &store.Event{Action: "policy_execution",
				Context: map[string]any{"policy": p.Name, "passing": res.Passing}})
		}}, log)
	e.svc = New(db, q, engine, box, log)
	w.Notify = e.svc.Event
	e.record = w.Record
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.Run(ctx, 4); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

func (e *env) user(name string, groups ...*store.Group) *store.User {
	e.t.Helper()
	u := &store.User{Username: name, Name: strings.ToUpper(name[:1]) + name[1:], Email: name + "@example.com",
		Type: store.UserInternal, IsActive: true, Path: "users"}
	if err := e.sc.Users().Create(e.t.Context(), u); err != nil {
		e.t.Fatal(err)
	}
	for _, g := range groups {
		if err := e.sc.Groups().AddMember(e.t.Context(), g.ID, u.ID); err != nil {
			e.t.Fatal(err)
		}
	}
	return u
}

func (e *env) group(name string, parent *store.Group) *store.Group {
	e.t.Helper()
	g := &store.Group{Name: name}
	if parent != nil {
		g.ParentID = uuid.NullUUID{UUID: parent.ID, Valid: true}
	}
	if err := e.sc.Groups().Create(e.t.Context(), g); err != nil {
		e.t.Fatal(err)
	}
	return g
}

func (e *env) policy(kind, config string) *store.Object {
	e.t.Helper()
	p := &store.Object{Name: "p-" + uuid.NewString()[:8], Kind: kind, Config: json.RawMessage(config)}
	if err := e.sc.Policies().Create(e.t.Context(), p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) transport(mode, url, secret string, sendOnce bool) *store.NotificationTransport {
	e.t.Helper()
	t := &store.NotificationTransport{ID: uuid.Must(uuid.NewV7()), Name: "t-" + uuid.NewString()[:8], Mode: mode,
		WebhookURL: url, SendOnce: sendOnce}
	if secret != "" {
		t.SecretEnc = e.box.SealString(secret, SecretAAD(e.sc.TenantID(), t.ID))
	}
	if err := e.sc.NotificationTransports().Create(e.t.Context(), t); err != nil {
		e.t.Fatal(err)
	}
	return t
}

// rule creates a rule notifying g, matched by any of policies.
func (e *env) rule(g *store.Group, severity string, policies []*store.Object, transports ...*store.NotificationTransport) *store.NotificationRule {
	e.t.Helper()
	r := &store.NotificationRule{Name: "r-" + uuid.NewString()[:8], Severity: severity}
	if g != nil {
		r.GroupID = uuid.NullUUID{UUID: g.ID, Valid: true}
	}
	for _, t := range transports {
		r.TransportIDs = append(r.TransportIDs, t.ID)
	}
	if err := e.sc.NotificationRules().Create(e.t.Context(), r); err != nil {
		e.t.Fatal(err)
	}
	for i, p := range policies {
		if err := e.sc.PolicyBindings().Create(e.t.Context(), &store.PolicyBinding{TargetID: r.ID, Order: i, Enabled: true,
			PolicyID: uuid.NullUUID{UUID: p.ID, Valid: true}}); err != nil {
			e.t.Fatal(err)
		}
	}
	RulesChanged()
	return r
}

func (e *env) loginFailed(u *store.User) *store.Event {
	ev := &store.Event{Action: "login_failed", UserID: uuid.NullUUID{UUID: u.ID, Valid: true}, Username: u.Username,
		ClientIP: "192.0.2.7", Context: map[string]any{"username": u.Username, "stage": "password"}}
	e.record(e.t.Context(), e.sc, ev)
	return ev
}

// idle waits until no job is pending or running.
func (e *env) idle() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		st, err := e.q.Stats(e.t.Context())
		if err != nil {
			e.t.Fatal(err)
		}
		if c := st.Total(); c.Pending+c.Running == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatal("jobs still pending after 10 s")
}

func (e *env) notifications(u *store.User) []*store.Notification {
	e.t.Helper()
	list, _, err := e.sc.Notifications().ListForUser(e.t.Context(), u.ID, store.NotificationQuery{})
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

func TestSignMatchesTheDocumentedScheme(t *testing.T) {
	// Computed independently: Python's hmac.new(secret, b"1700000000." + body, sha256).
	const want = "sha256=24676e04a83421f0f52adfe139686d7b997a1a10089838cc829906ca38e79d0b"
	if got := Sign([]byte(testSecret), "1700000000", []byte(`{"body":"x"}`)); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestWebhookSignedDefaultBody(t *testing.T) {
	e := newEnv(t)
	rcv := notifytest.Start(t)
	admins := e.group("admins", nil)
	admin := e.user("admin", admins)
	alice := e.user("alice")
	hook := e.transport(store.TransportWebhook, rcv.URL, testSecret, false)
	e.rule(admins, store.SeverityWarning, []*store.Object{e.policy("event_matcher", `{"action": "login_failed"}`)}, hook)

	e.record(t.Context(), e.sc, &store.Event{Action: "login", Username: "alice"}) // no match
	ev := e.loginFailed(alice)
	req := rcv.Wait(t, 1, 10*time.Second)[0]
	e.idle()
	if n := len(rcv.Requests()); n != 1 {
		t.Fatalf("receiver got %d requests, want 1", n)
	}
	if err := notifytest.Verify(testSecret, req.Header, req.Body, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("signature: %v (headers %v)", err, req.Header)
	}
	if err := notifytest.Verify("another-secret-0123456789", req.Header, req.Body, time.Now(), 5*time.Minute); err == nil {
		t.Fatal("the signature verifies with another secret")
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"severity": "warning", "user_email": "admin@example.com", "user_username": "admin",
		"event_user_email": "alice@example.com", "event_user_username": "alice"}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("body[%s] = %v, want %v (body %s)", k, body[k], v, req.Body)
		}
	}
	if b, _ := body["body"].(string); !strings.HasPrefix(b, "login_failed: ") || len(body) != 6 {
		t.Errorf("body = %s, want Authentik's six fields with the event summary", req.Body)
	}
	if req.Header.Get("Content-Type") != "application/json" || req.Header.Get(DeliveryHeader) == "" {
		t.Errorf("headers: %v", req.Header)
	}
	list := e.notifications(admin)
	if len(list) != 1 || list[0].EventID != ev.ID || list[0].Severity != store.SeverityWarning || list[0].Seen {
		t.Fatalf("admin's notifications: %+v", list)
	}
	if req.Header.Get(DeliveryHeader) != list[0].ID.String() {
		t.Errorf("X-Gatehouse-Delivery = %q, want the notification ID %v", req.Header.Get(DeliveryHeader), list[0].ID)
	}
	if ok, err := e.sc.Notifications().Delivered(t.Context(), list[0].ID, hook.ID); err != nil || !ok {
		t.Errorf("delivery not recorded: %v, %v", ok, err)
	}
	if len(e.notifications(alice)) != 0 {
		t.Error("alice is not in the group and must not be notified")
	}
}

func TestFailingReceiverGetsExactlyOneDelivery(t *testing.T) {
	e := newEnv(t)
	rcv := notifytest.Start(t, http.StatusInternalServerError, http.StatusInternalServerError)
	admins := e.group("admins", nil)
	admin := e.user("admin", admins)
	hook := e.transport(store.TransportWebhook, rcv.URL, testSecret, false)
	e.rule(admins, store.SeverityAlert, []*store.Object{e.policy("event_matcher", `{"action": "login_failed"}`)}, hook)
	e.loginFailed(admin)
	rcv.Wait(t, 3, 10*time.Second)
	e.idle()
	if got, ok := len(rcv.Delivered()), len(rcv.Requests()); got != 1 || ok != 3 {
		t.Fatalf("receiver: %d delivered of %d requests, want 1 of 3 (two 500s, then 200)", got, ok)
	}
	// Retries are signed afresh and carry the same delivery ID.
	reqs := rcv.Requests()
	for _, r := range reqs {
		if err := notifytest.Verify(testSecret, r.Header, r.Body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("attempt signature: %v", err)
		}
		if r.Header.Get(DeliveryHeader) != reqs[0].Header.Get(DeliveryHeader) {
			t.Error("the delivery ID changed between attempts")
		}
	}
	jobs, _ := e.q.List(t.Context(), job.Filter{Kind: DeliverJob})
	if len(jobs) != 1 || jobs[0].State != job.Done || jobs[0].Attempts != 3 {
		t.Fatalf("delivery jobs: %+v, want one done after 3 attempts", jobs)
	}
	if n := len(e.notifications(admin)); n != 1 {
		t.Fatalf("%d notifications, want 1", n)
	}
}

// A delivery job that runs again after success (a retried dispatch queued
// it a second time) sends nothing.
func TestDeliveryIsNotRepeated(t *testing.T) {
	e := newEnv(t)
	rcv := notifytest.Start(t)
	admins := e.group("admins", nil)
	admin := e.user("admin", admins)
	hook := e.transport(store.TransportWebhook, rcv.URL, "", false)
	e.rule(admins, store.SeverityNotice, []*store.Object{e.policy("event_matcher", `{"action": "login_failed"}`)}, hook)
	ev := e.loginFailed(admin)
	e.idle()
	if _, err := e.q.Enqueue(t.Context(), DispatchJob, dispatchPayload{Event: EventDict(ev)}, job.Tenant(e.sc.TenantID())); err != nil {
		t.Fatal(err)
	}
	e.idle()
	if n := len(rcv.Requests()); n != 1 {
		t.Fatalf("receiver got %d requests after the dispatch ran twice, want 1", n)
	}
	if h := rcv.Requests()[0].Header; h.Get(SignatureHeader) != "" || h.Get(TimestampHeader) != "" {
		t.Errorf("a transport without a secret signed: %v", h)
	}
	if n := len(e.notifications(admin)); n != 1 {
		t.Fatalf("%d notifications after the dispatch ran twice, want 1", n)
	}
}

func TestSlackShapeAndSendOnce(t *testing.T) {
	e := newEnv(t)
	slack, hook := notifytest.Start(t), notifytest.Start(t)
	ops := e.group("ops", nil)
	oncall := e.group("oncall", ops) // members of a child group are members of ops
	a, b := e.user("anna", ops), e.user("bert", oncall)
	e.user("carl") // not in ops
	st := e.transport(store.TransportSlack, slack.URL, "", true)
	wh := e.transport(store.TransportWebhook, hook.URL, "", false)
	e.rule(ops, store.SeverityAlert, []*store.Object{e.policy("event_matcher", `{"action": "login_failed"}`)}, st, wh)
	e.loginFailed(a)
	e.idle()
	if n := len(slack.Requests()); n != 1 {
		t.Fatalf("send-once Slack transport got %d requests, want 1", n)
	}
	if n := len(hook.Requests()); n != 2 {
		t.Fatalf("per-user webhook got %d requests, want 2 (anna and bert)", n)
	}
	if len(e.notifications(a)) != 1 || len(e.notifications(b)) != 1 {
		t.Fatal("both effective members of ops get a notification")
	}
	var msg struct {
		Text        string `json:"text"`
		Attachments []struct {
			Title  string `json:"title"`
			Color  string `json:"color"`
			Fields []struct {
				Title string `json:"title"`
				Value string `json:"value"`
			} `json:"fields"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(slack.Requests()[0].Body, &msg); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg.Text, "login_failed: ") || len(msg.Attachments) != 1 || msg.Attachments[0].Title != "login_failed" {
		t.Fatalf("Slack body: %s", slack.Requests()[0].Body)
	}
	fields := map[string]string{}
	for _, f := range msg.Attachments[0].Fields {
		fields[f.Title] = f.Value
	}
	if fields["Severity"] != "alert" || fields["Event user"] != "anna" || fields["stage"] != "password" || fields["Dispatched for user"] == "" {
		t.Errorf("Slack fields: %v", fields)
	}
}

func TestExpressionPolicySeesTheEvent(t *testing.T) {
	e := newEnv(t)
	rcv := notifytest.Start(t)
	admins := e.group("admins", nil)
	e.user("admin", admins)
	p := e.policy("expression", `{"expression": "return request.context[\"event\"][\"action\"] == \"login_failed\" and request.context[\"event\"][\"context\"][\"username\"] == \"alice\""}`)
	e.rule(admins, store.SeverityNotice, []*store.Object{p}, e.transport(store.TransportWebhook, rcv.URL, "", false))
	e.loginFailed(e.user("bob"))
	e.loginFailed(e.user("alice"))
	e.idle()
	reqs := rcv.Requests()
	if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), `"event_user_username":"alice"`) {
		t.Fatalf("expression rule: %d requests, want 1 for alice", len(reqs))
	}
}

// A rule's own policy records policy_exception when it fails, and
// policy_execution when it logs its runs; neither event may be judged by
// the rule again, or it would loop.
func TestRulePolicyEventsDoNotLoop(t *testing.T) {
	for action, config := range map[string]string{
		"policy_exception": `{"expression": "return 1 // 0"}`,
		"policy_execution": `{"expression": "return True", "execution_logging": true}`,
	} {
		t.Run(action, func(t *testing.T) {
			e := newEnv(t)
			admins := e.group("admins", nil)
			admin := e.user("admin", admins)
			e.rule(admins, store.SeverityNotice, []*store.Object{e.policy("expression", config)})
			e.loginFailed(admin)
			e.idle()
			time.Sleep(50 * time.Millisecond)
			e.idle()
			if got, _, _ := e.sc.Events().List(t.Context(), store.EventQuery{Action: action}); len(got) != 1 {
				t.Fatalf("%d %s events, want 1 (the rule judged its own policy's event)", len(got), action)
			}
			if action == "policy_execution" && len(e.notifications(admin)) != 1 {
				t.Fatalf("the passing rule notified %d times, want once", len(e.notifications(admin)))
			}
		})
	}
}

// Without rules, recording an event enqueues nothing and asks the store
// once per HasRulesTTL.
func TestNoRulesNoJobs(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice")
	for range 5 {
		e.loginFailed(u)
	}
	st, err := e.q.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c := st.Kinds[DispatchJob]; c != (job.Counts{}) {
		t.Fatalf("dispatch jobs without rules: %+v", c)
	}
	// A rule written in this process counts at once.
	rcv := notifytest.Start(t)
	e.rule(e.group("admins", nil), store.SeverityNotice, []*store.Object{e.policy("event_matcher", `{"action": "login_failed"}`)},
		e.transport(store.TransportWebhook, rcv.URL, "", false))
	e.loginFailed(u)
	e.idle()
	if st, _ := e.q.Stats(t.Context()); st.Kinds[DispatchJob].Done != 1 {
		t.Fatalf("after adding a rule: %+v, want one dispatch", st.Kinds[DispatchJob])
	}
}

func TestEmailTransportInTheUsersLanguage(t *testing.T) {
	e := newEnv(t)
	admins := e.group("admins", nil)
	admin := e.user("admin", admins)
	if _, err := e.sc.Users().Update(t.Context(), admin.ID, func(u *store.User) error {
		u.Attributes = store.Attributes{"settings": map[string]any{"locale": "zh-CN"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	noMail := e.user("nomail", admins)
	if _, err := e.sc.Users().Update(t.Context(), noMail.ID, func(u *store.User) error { u.Email = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	tr := e.transport(store.TransportEmail, "", "", false)
	e.rule(admins, store.SeverityWarning, []*store.Object{e.policy("event_matcher", `{"action": "login_failed"}`)}, tr)
	e.loginFailed(e.user("alice"))
	e.idle()
	msgs := e.mails.messages()
	if len(msgs) != 1 || msgs[0].To[0] != "admin@example.com" {
		t.Fatalf("mails: %+v, want one to admin (nomail has no address)", msgs)
	}
	if msgs[0].Subject != "Gatehouse 通知：login_failed" || !strings.Contains(msgs[0].Text, "级别：警告") {
		t.Errorf("Chinese notification mail: %q\n%s", msgs[0].Subject, msgs[0].Text)
	}
}

func TestWebhookMappingBody(t *testing.T) {
	e := newEnv(t)
	rcv := notifytest.Start(t)
	admins := e.group("admins", nil)
	e.user("admin", admins)
	m := &store.Object{Name: "custom body", Kind: MappingKind, Config: json.RawMessage(
		`{"expression": "return {\"summary\": notification[\"event\"][\"action\"] + \" by \" + notification[\"event\"][\"user\"][\"username\"], \"to\": request.user.username}"}`)}
	if err := e.sc.PropertyMappings().Create(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	tr := e.transport(store.TransportWebhook, rcv.URL, "", false)
	if _, err := e.sc.NotificationTransports().Update(t.Context(), tr.ID, func(x *store.NotificationTransport) error {
		x.WebhookMappingID = uuid.NullUUID{UUID: m.ID, Valid: true}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.rule(admins, store.SeverityNotice, []*store.Object{e.policy("event_matcher", `{"action": "login_failed"}`)}, tr)
	e.loginFailed(e.user("alice"))
	e.idle()
	reqs := rcv.Requests()
	if len(reqs) != 1 || string(reqs[0].Body) != `{"summary":"login_failed by alice","to":"admin"}` {
		t.Fatalf("mapped body: %d requests, %+v", len(reqs), reqs)
	}
}

// A redirect is an error, not a detour: the signed body must reach only the
// URL the admin configured. The error names the origin, not the path, which
// is a Slack webhook URL's secret.
func TestRedirectIsNotFollowed(t *testing.T) {
	e := newEnv(t)
	elsewhere := notifytest.Start(t)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	admins := e.group("admins", nil)
	e.user("admin", admins)
	tr := e.transport(store.TransportWebhook, redirector.URL+"/services/T000/B000/XXXXSECRETPATH", testSecret, false)
	e.rule(admins, store.SeverityNotice, []*store.Object{e.policy("event_matcher", `{"action": "login_failed"}`)}, tr)
	e.loginFailed(e.user("alice"))
	e.idle()
	if n := len(elsewhere.Requests()); n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
	jobs, _ := e.q.List(t.Context(), job.Filter{Kind: DeliverJob})
	if len(jobs) != 1 || jobs[0].State != job.Failed || !strings.Contains(jobs[0].LastError, "redirects are not followed") ||
		strings.Contains(jobs[0].LastError, "XXXXSECRETPATH") || strings.Contains(jobs[0].LastError, testSecret) {
		t.Fatalf("delivery job: %+v", jobs)
	}
}

// An event's dispatch is stored in the event's transaction, and so are
// the notifications and the email they cause: an event that rolls back
// notifies nobody, one that commits mails once.
func TestDispatchCommitsWithTheEvent(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	admins := e.group("admins", nil)
	admin := e.user("admin", admins)
	e.rule(admins, store.SeverityWarning, []*store.Object{e.policy("event_matcher", `{"action": "login_failed"}`)},
		e.transport(store.TransportEmail, "", "", false))
	alice := e.user("alice")
	failed := func(tx store.Scope) {
		e.record(ctx, tx, &store.Event{Action: "login_failed", UserID: uuid.NullUUID{UUID: alice.ID, Valid: true},
			Username: alice.Username})
	}

	boom := errors.New("boom")
	if err := e.sc.Tx(ctx, func(tx store.Scope) error { failed(tx); return boom }); !errors.Is(err, boom) {
		t.Fatalf("rolled-back transaction: want %v, got %v", boom, err)
	}
	e.idle()
	st, err := e.q.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := st.Total(); c != (job.Counts{}) || len(e.mails.messages()) != 0 || len(e.notifications(admin)) != 0 {
		t.Fatalf("after a rolled-back event: jobs %+v, %d mails, %d notifications; want none",
			c, len(e.mails.messages()), len(e.notifications(admin)))
	}

	if err := e.sc.Tx(ctx, func(tx store.Scope) error { failed(tx); return nil }); err != nil {
		t.Fatal(err)
	}
	e.idle()
	if st, _ = e.q.Stats(ctx); st.Kinds[DispatchJob].Done != 1 || st.Kinds[DeliverJob].Done != 1 || st.Kinds[mail.JobKind].Done != 1 {
		t.Errorf("after a committed event: jobs %+v, want one dispatch, one delivery, one mail", st.Kinds)
	}
	if n := len(e.mails.messages()); n != 1 || len(e.notifications(admin)) != 1 {
		t.Errorf("after a committed event: %d mails, %d notifications; want one each", n, len(e.notifications(admin)))
	}
}
