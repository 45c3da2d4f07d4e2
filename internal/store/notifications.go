package store

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Notification severities, as Authentik's NotificationSeverity.
const (
	SeverityNotice  = "notice"
	SeverityWarning = "warning"
	SeverityAlert   = "alert"
)

// Severities lists the valid severities, mildest first.
var Severities = []string{SeverityNotice, SeverityWarning, SeverityAlert}

// Transport modes, as Authentik's TransportMode. Local keeps only the
// notification a user reads in the interface, which every rule creates
// anyway; it exists so that Authentik's default-local-transport applies.
const (
	TransportLocal   = "local"
	TransportWebhook = "webhook"
	TransportSlack   = "webhook_slack"
	TransportEmail   = "email"
)

// TransportModes lists the valid transport modes.
var TransportModes = []string{TransportLocal, TransportWebhook, TransportSlack, TransportEmail}

// NotificationRule turns matching events into notifications for the
// members of a group. Policies are bound to it (PolicyBindings with the
// rule's ID as target) and decide which events match.
type NotificationRule struct {
	ID       uuid.UUID
	Name     string
	Severity string
	// GroupID is the destination group; a deleted group leaves it unset.
	GroupID uuid.NullUUID
	// DestinationEventUser also notifies the user the event is about.
	DestinationEventUser bool
	// TransportIDs are the transports that deliver the rule's
	// notifications, beyond the in-app notification itself.
	TransportIDs []uuid.UUID
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Version      int64
}

// Validate checks every field and reports all problems at once.
func (r *NotificationRule) Validate() error {
	v := &ValidationError{}
	if n := utf8.RuneCountInString(strings.TrimSpace(r.Name)); n == 0 || n > 256 {
		v.Add("name", "must be 1 to 256 characters")
	}
	oneOf(v, "severity", r.Severity, Severities)
	for _, id := range r.TransportIDs {
		if id == uuid.Nil {
			v.Add("transports", "must list transport IDs")
			break
		}
	}
	return v.Err()
}

// NotificationTransport says how notifications leave Gatehouse.
type NotificationTransport struct {
	ID         uuid.UUID
	Name       string
	Mode       string
	WebhookURL string
	// WebhookMappingID names a property mapping (kind
	// "notification_webhook") whose expression builds the webhook body.
	WebhookMappingID uuid.NullUUID
	// SendOnce delivers through this transport for the first recipient
	// only: a chat channel should hear of an event once, not once per
	// member of the group.
	SendOnce           bool
	EmailSubjectPrefix string
	// SecretEnc is the webhook signing secret sealed with the secret box,
	// never the plain value; "" sends unsigned requests.
	SecretEnc string
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

// IsWebhook reports whether the transport posts to WebhookURL.
func (t *NotificationTransport) IsWebhook() bool {
	return t.Mode == TransportWebhook || t.Mode == TransportSlack
}

// Validate checks every field and reports all problems at once. A webhook
// URL must be http(s) whatever the mode, so a javascript: or file: URL can
// never be stored to be followed later.
func (t *NotificationTransport) Validate() error {
	v := &ValidationError{}
	if n := utf8.RuneCountInString(strings.TrimSpace(t.Name)); n == 0 || n > 256 {
		v.Add("name", "must be 1 to 256 characters")
	}
	oneOf(v, "mode", t.Mode, TransportModes)
	switch {
	case t.WebhookURL != "" && !httpURL(t.WebhookURL):
		v.Add("webhook_url", "must be an http or https URL")
	case t.WebhookURL == "" && t.IsWebhook():
		v.Add("webhook_url", "is required for mode %s", t.Mode)
	}
	if utf8.RuneCountInString(t.EmailSubjectPrefix) > 255 || strings.ContainsAny(t.EmailSubjectPrefix, "\r\n") {
		v.Add("email_subject_prefix", "must be one line of at most 255 characters")
	}
	return v.Err()
}

// Notification is what one user is told about one event by one rule. It
// copies the event (Event) rather than referencing it, because retention
// deletes events and the notification must still say what happened.
type Notification struct {
	ID       uuid.UUID
	UserID   uuid.UUID
	RuleID   uuid.UUID
	EventID  uuid.UUID
	Severity string
	Body     string
	// Event is the event as rules saw it (pk, action, app, client_ip,
	// user, context, created): JSON-like values.
	Event     map[string]any
	Seen      bool
	CreatedAt time.Time
	// Expires is when cleanup deletes the notification (the event's expiry).
	Expires time.Time
}

// MaxNotificationBody bounds a notification's text.
const MaxNotificationBody = 8 << 10

// Validate checks every field and reports all problems at once.
func (n *Notification) Validate() error {
	v := &ValidationError{}
	for field, id := range map[string]uuid.UUID{"user": n.UserID, "rule": n.RuleID, "event": n.EventID} {
		if id == uuid.Nil {
			v.Add(field, "is required")
		}
	}
	if !slices.Contains(Severities, n.Severity) {
		v.Add("severity", "must be one of %s", strings.Join(Severities, ", "))
	}
	if len(n.Body) > MaxNotificationBody {
		v.Add("body", "must be at most %d bytes", MaxNotificationBody)
	}
	// The event's context sits one level down, among the event's fields.
	if _, problem := CheckJSON(n.Event, MaxEventContextLen+4<<10, MaxJSONDepth+1); problem != "" {
		v.Add("event", "%s", problem)
	}
	return v.Err()
}

// NotificationQuery filters a user's notifications, newest first unless
// Ordering says otherwise.
type NotificationQuery struct {
	Seen     *bool  // nil for both
	Severity string // one of Severities, or "" for any
	Ordering string // "-created" (default, newest first) or "created"
	Page     Page
}

// NotificationRules is a tenant's notification rules.
type NotificationRules interface {
	Create(ctx context.Context, r *NotificationRule) error
	Get(ctx context.Context, id uuid.UUID) (*NotificationRule, error)
	GetByName(ctx context.Context, name string) (*NotificationRule, error)
	// List returns a page of rules by name, with their transports.
	List(ctx context.Context, page Page) ([]*NotificationRule, int, error)
	// Any reports whether the tenant has at least one rule: the question
	// every recorded event asks, so it must stay one indexed lookup.
	Any(ctx context.Context) (bool, error)
	Update(ctx context.Context, id uuid.UUID, fn func(*NotificationRule) error) (*NotificationRule, error)
	// Delete removes the rule, its transport links and the policy
	// bindings on it.
	Delete(ctx context.Context, id uuid.UUID) error
}

// NotificationTransports is a tenant's notification transports.
type NotificationTransports interface {
	Create(ctx context.Context, t *NotificationTransport) error
	Get(ctx context.Context, id uuid.UUID) (*NotificationTransport, error)
	GetByName(ctx context.Context, name string) (*NotificationTransport, error)
	// GetMany loads several transports in one query; missing IDs are skipped.
	GetMany(ctx context.Context, ids []uuid.UUID) ([]*NotificationTransport, error)
	List(ctx context.Context, page Page) ([]*NotificationTransport, int, error)
	Update(ctx context.Context, id uuid.UUID, fn func(*NotificationTransport) error) (*NotificationTransport, error)
	// Delete removes the transport from every rule that used it.
	Delete(ctx context.Context, id uuid.UUID) error
}

// Notifications is a tenant's notifications and their deliveries.
type Notifications interface {
	// Create stores n, filling CreatedAt (and ID if unset). A second
	// notification for the same (event, rule, user) is ErrConflict, so a
	// retried dispatch cannot notify anyone twice.
	Create(ctx context.Context, n *Notification) error
	Get(ctx context.Context, id uuid.UUID) (*Notification, error)
	ListForUser(ctx context.Context, userID uuid.UUID, q NotificationQuery) ([]*Notification, int, error)
	// SetSeen marks one notification read (or unread again).
	SetSeen(ctx context.Context, id uuid.UUID, seen bool) error
	// MarkAllSeen marks every unread notification of a user read.
	MarkAllSeen(ctx context.Context, userID uuid.UUID) (int, error)
	Delete(ctx context.Context, id uuid.UUID) error
	// DeleteStale deletes seen notifications and those past their expiry,
	// as Authentik's notification_cleanup does.
	DeleteStale(ctx context.Context, now time.Time) (int, error)
	// MarkDelivered records that transport delivered the notification;
	// ErrConflict if it already had.
	MarkDelivered(ctx context.Context, notificationID, transportID uuid.UUID, at time.Time) error
	// Delivered reports whether transport delivered the notification.
	Delivered(ctx context.Context, notificationID, transportID uuid.UUID) (bool, error)
}
