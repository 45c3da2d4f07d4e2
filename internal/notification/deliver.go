package notification

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/policy/expression"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/version"
)

// Webhook headers. DeliveryHeader is the notification's ID: the same on
// every retry, so a receiver can drop a repeat.
const (
	SignatureHeader = "X-Gatehouse-Signature"
	TimestampHeader = "X-Gatehouse-Timestamp"
	DeliveryHeader  = "X-Gatehouse-Delivery"
)

// MappingKind is the property-mapping kind of webhook body mappings
// (Authentik's NotificationWebhookMapping).
const MappingKind = "notification_webhook"

// maxResponse is how much of a receiver's answer is read (and dropped), so
// the connection can be reused without a hostile receiver streaming forever.
const maxResponse = 64 << 10

// Sign returns the X-Gatehouse-Signature value for body sent at timestamp
// (Unix seconds, as written in X-Gatehouse-Timestamp).
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// SecretAAD binds a sealed webhook secret to its transport.
func SecretAAD(tenant, transport uuid.UUID) secretbox.AAD {
	return secretbox.AAD{Tenant: tenant.String(), Table: "notification_transports", Column: "secret_enc", Row: transport.String()}
}

// deliver sends one notification through one transport. An error retries
// the job; what no retry can fix fails it at once.
func (s *Service) deliver(ctx context.Context, j *job.Job) error {
	var p deliverPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || !j.TenantID.Valid {
		return job.Permanent(fmt.Errorf("notification: unreadable delivery job: %v", err))
	}
	sc := s.store.Scope(j.TenantID.UUID)
	// A notification, transport or user deleted since leaves nothing to do.
	n, err := sc.Notifications().Get(ctx, p.Notification)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	t, err := sc.NotificationTransports().Get(ctx, p.Transport)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if done, err := sc.Notifications().Delivered(ctx, n.ID, t.ID); err != nil || done {
		return err
	}
	u, err := sc.Users().Get(ctx, n.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if t.Mode == store.TransportEmail {
		// The queued email and the delivery mark commit together: a retry
		// after a crash neither mails twice nor forgets to. A conflict on
		// the mark means another run delivered it meanwhile; the rollback
		// drops this run's email.
		err := sc.Tx(ctx, func(tx store.Scope) error {
			if err := s.email(ctx, tx, t, n, u); err != nil {
				return err
			}
			return tx.Notifications().MarkDelivered(ctx, n.ID, t.ID, s.now())
		})
		if errors.Is(err, store.ErrConflict) {
			return nil
		}
		return err
	}
	if t.Mode == store.TransportWebhook || t.Mode == store.TransportSlack {
		if err := s.post(ctx, sc, t, n, u); err != nil {
			return err
		}
	}
	if err := sc.Notifications().MarkDelivered(ctx, n.ID, t.ID, s.now()); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	return nil
}

// post sends the notification to the transport's webhook. Errors name the
// transport and the URL's origin only: the path of a Slack webhook URL is
// its credential.
func (s *Service) post(ctx context.Context, sc store.Scope, t *store.NotificationTransport, n *store.Notification, u *store.User) error {
	var body []byte
	var err error
	switch {
	case t.WebhookMappingID.Valid:
		body, err = s.mappedBody(ctx, sc, t, n, u)
	case t.Mode == store.TransportSlack:
		body, err = json.Marshal(slackBody(n, u))
	default:
		body, err = json.Marshal(defaultBody(n, u))
	}
	if err != nil {
		return err
	}
	origin := redact(t.WebhookURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return job.Permanent(fmt.Errorf("transport %q: the webhook URL cannot be used", t.Name))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gatehouse/"+version.String())
	req.Header.Set(DeliveryHeader, n.ID.String())
	if t.SecretEnc != "" {
		secret, err := s.openSecret(sc, t)
		if err != nil {
			return err
		}
		ts := strconv.FormatInt(s.now().Unix(), 10)
		req.Header.Set(TimestampHeader, ts)
		req.Header.Set(SignatureHeader, Sign(secret, ts, body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		err = fmt.Errorf("transport %q: POST to %s failed: %w", t.Name, origin, err)
		if errors.Is(err, errDeniedAddress) {
			return job.Permanent(err)
		}
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Errorf("transport %q: %s answered %s; redirects are not followed, set the final URL", t.Name, origin, resp.Status)
	}
	return fmt.Errorf("transport %q: %s answered %s", t.Name, origin, resp.Status)
}

func (s *Service) openSecret(sc store.Scope, t *store.NotificationTransport) ([]byte, error) {
	if s.box == nil {
		return nil, job.Permanent(fmt.Errorf("transport %q: no secret box to open the webhook secret", t.Name))
	}
	secret, err := s.box.OpenString(t.SecretEnc, SecretAAD(sc.TenantID(), t.ID))
	if err != nil {
		return nil, job.Permanent(fmt.Errorf("transport %q: the webhook secret cannot be opened "+
			"(was secret_key changed without keeping the old one in secret_key_previous?)", t.Name))
	}
	return []byte(secret), nil
}

// redact keeps a URL's scheme and host.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the webhook URL"
	}
	return u.Scheme + "://" + u.Host
}

// defaultBody is Authentik's webhook body; the event user's fields are
// null for an event without a user.
func defaultBody(n *store.Notification, u *store.User) map[string]any {
	ev := eventUser(n)
	return map[string]any{"body": n.Body, "severity": n.Severity, "user_email": u.Email, "user_username": u.Username,
		"event_user_email": orNull(str(ev["email"])), "event_user_username": orNull(str(ev["username"]))}
}

func eventUser(n *store.Notification) map[string]any {
	ev, _ := n.Event["user"].(map[string]any)
	return ev
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// severityColors tint a Slack attachment's bar.
var severityColors = map[string]string{store.SeverityNotice: "#2563eb", store.SeverityWarning: "#d97706",
	store.SeverityAlert: "#dc2626"}

// slackBody is Slack's incoming-webhook format (Discord's /slack endpoint
// and Mattermost read it too): the text, and an attachment whose fields
// are Authentik's: severity, recipient, event user, then the event
// context's string values.
func slackBody(n *store.Notification, u *store.User) map[string]any {
	fields := []map[string]any{
		{"title": "Severity", "value": n.Severity, "short": true},
		{"title": "Dispatched for user", "value": u.Username, "short": true},
	}
	if name := str(eventUser(n)["username"]); name != "" {
		fields = append(fields, map[string]any{"title": "Event user", "value": name, "short": true})
	}
	ctx, _ := n.Event["context"].(map[string]any)
	for _, k := range slices.Sorted(maps.Keys(ctx)) {
		if v, ok := ctx[k].(string); ok {
			fields = append(fields, map[string]any{"title": clip(k, 256), "value": clip(v, 1024)})
		}
	}
	title := str(n.Event["action"])
	if title == "" {
		title = n.Body
	}
	return map[string]any{"text": n.Body, "username": "Gatehouse", "attachments": []any{map[string]any{
		"title": title, "color": severityColors[n.Severity], "fields": fields, "footer": "Gatehouse " + version.String(),
	}}}
}

// notificationDict is what a webhook mapping sees as notification.
func notificationDict(n *store.Notification, u *store.User) map[string]any {
	return map[string]any{"pk": n.ID.String(), "body": n.Body, "severity": n.Severity, "seen": n.Seen,
		"created": n.CreatedAt.UTC().Format(time.RFC3339Nano), "event": n.Event,
		"user": map[string]any{"pk": u.ID.String(), "username": u.Username, "name": u.Name, "email": u.Email}}
}

// mappedBody runs the transport's webhook mapping and sends what it
// returns as JSON. The expression is compiled for each delivery: this is
// a background job, and compiling costs less than the request it builds.
// A broken mapping fails the delivery at once; retrying cannot fix it.
func (s *Service) mappedBody(ctx context.Context, sc store.Scope, t *store.NotificationTransport, n *store.Notification, u *store.User) ([]byte, error) {
	m, err := sc.PropertyMappings().Get(ctx, t.WebhookMappingID.UUID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && m.Kind != MappingKind) {
		return nil, job.Permanent(fmt.Errorf("transport %q: its webhook mapping no longer exists", t.Name))
	}
	if err != nil {
		return nil, err
	}
	prog, err := compileMapping(m.Name, m.Config)
	if err != nil {
		return nil, job.Permanent(fmt.Errorf("transport %q: webhook mapping %q: %v", t.Name, m.Name, err))
	}
	// Without the engine's recorder: an event a mapping creates is stored
	// but not judged by rules, which could otherwise notify about their
	// own deliveries forever.
	in, err := policy.ExpressionInput(ctx, &policy.Request{Scope: sc, User: u})
	if err != nil {
		return nil, err
	}
	nd := notificationDict(n, u)
	in.Context = map[string]any{"notification": nd}
	in.Extra = map[string]any{"notification": nd}
	out, err := prog.Run(ctx, in, expression.DefaultLimits)
	if err != nil {
		return nil, job.Permanent(fmt.Errorf("transport %q: webhook mapping %q: %v", t.Name, m.Name, err))
	}
	return json.Marshal(out.Value)
}

// compileMapping reads a webhook mapping's {"expression": ...}.
func compileMapping(name string, config json.RawMessage) (*expression.Program, error) {
	var c struct {
		Expression string `json:"expression"`
	}
	if err := json.Unmarshal(config, &c); err != nil {
		return nil, store.Invalid("expression", "is not a webhook mapping")
	}
	if c.Expression == "" {
		return nil, store.Invalid("expression", "must not be empty")
	}
	prog, err := expression.Compile(name, c.Expression)
	if err != nil {
		return nil, store.Invalid("expression", "%v", err)
	}
	return prog, nil
}

// email queues the notification for the recipient, in their language, in
// sc's transaction. A recipient without an address is skipped, as in
// Authentik.
func (s *Service) email(ctx context.Context, sc store.Scope, t *store.NotificationTransport, n *store.Notification, u *store.User) error {
	if u.Email == "" {
		s.log.Info("notifications: recipient has no email address; email skipped", "transport", t.Name, "user", u.Username)
		return nil
	}
	title := str(n.Event["action"])
	subject := ""
	if t.EmailSubjectPrefix != "" {
		subject = t.EmailSubjectPrefix + title
	}
	msg, err := mail.Render(mail.TemplateEventNotification, userLocale(u),
		mail.Data{Name: u.Name, Title: title, Body: n.Body, Severity: n.Severity, Subject: subject})
	if err != nil {
		return job.Permanent(err)
	}
	msg.To = []string{u.Email}
	if err := mail.EnqueueTx(ctx, s.queue, sc, msg); err != nil {
		if errors.Is(err, mail.ErrInvalidMessage) {
			return job.Permanent(err)
		}
		return err
	}
	return nil
}

// userLocale is Authentik's attributes.settings.locale, set in the user
// settings flow.
func userLocale(u *store.User) string {
	settings, _ := u.Attributes["settings"].(map[string]any)
	return str(settings["locale"])
}
