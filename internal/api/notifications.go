package api

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Notification is Authentik's notification serializer: what a rule told
// the caller about an event. Only seen changes.
type Notification struct {
	PK       uuid.UUID `json:"pk"`
	Severity string    `json:"severity" enum:"notice,warning,alert"`
	Body     string    `json:"body"`
	Created  time.Time `json:"created"`
	Event    *Event    `json:"event" doc:"the event as the rule saw it (kept after retention deletes the event itself); null when unknown"`
	Seen     bool      `json:"seen"`
}

func (n Notification) Meta() Meta { return Meta{ID: n.PK, Name: n.Severity} }

// NotificationRequest is what PATCH and PUT accept: the other fields are
// read-only, as in Authentik.
type NotificationRequest struct {
	Seen *bool `json:"seen" doc:"true marks the notification read, false unread again"`
}

func notificationOut(n *store.Notification) Notification {
	return Notification{PK: n.ID, Severity: n.Severity, Body: n.Body, Created: n.CreatedAt, Event: eventFromCopy(n.Event), Seen: n.Seen}
}

// eventFromCopy reads the copy of the event a notification keeps
// (notification.EventDict: pk, action, app, client_ip, user {pk,
// username, email}, context, created, expires) as the events API shows an
// event; nil when the copy does not name its event.
func eventFromCopy(d map[string]any) *Event {
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	pk, err := uuid.Parse(str(d, "pk"))
	if err != nil {
		return nil
	}
	e := &Event{PK: pk, Action: str(d, "action"), App: str(d, "app"), ClientIP: str(d, "client_ip"), Context: map[string]any{}}
	if ctx, ok := d["context"].(map[string]any); ok {
		e.Context = ctx
	}
	if u, ok := d["user"].(map[string]any); ok {
		e.User.Username = str(u, "username")
		if id, err := uuid.Parse(str(u, "pk")); err == nil {
			e.User.PK = uuid.NullUUID{UUID: id, Valid: true}
		}
	}
	e.Created, _ = time.Parse(time.RFC3339Nano, str(d, "created"))
	e.Expires, _ = time.Parse(time.RFC3339Nano, str(d, "expires"))
	return e
}

// registerNotifications adds events/notifications/: every user reads,
// marks and deletes their own notifications, and nobody, a superuser
// included, reaches another user's (Authentik filters the queryset to
// request.user): another user's ID is not found, never forbidden, so IDs
// cannot be probed. Changing and deleting are actions rather than
// Resource.Update and Delete because notifications are not audited as
// models, as in Authentik: a rule matching model_updated would otherwise
// notify about the reading of its own notifications.
func (a *API) registerNotifications() {
	const model = "authentik_events.notification"
	from := len(a.endpoints)
	mine := func(ctx context.Context, c *Caller, id uuid.UUID) (*store.Notification, error) {
		n, err := c.Scope.Notifications().Get(ctx, id)
		if err == nil && n.UserID != c.User.ID {
			return nil, store.ErrNotFound
		}
		return n, err
	}
	Register(a, Resource[Notification, struct{}]{
		Path: "events/notifications/", Tag: "events", Model: model,
		Filters: []Param{{Name: "seen", Bool: true, Description: "true for read notifications, false for unread ones"},
			{Name: "severity", Enum: store.Severities}},
		Ordering: []string{"created"},
		List: func(ctx context.Context, c *Caller, q Query) ([]Notification, int, error) {
			if q.Search != "" {
				return nil, 0, store.Invalid("search", "is not supported for notifications; filter by seen or severity")
			}
			ns, total, err := c.Scope.Notifications().ListForUser(ctx, c.User.ID, store.NotificationQuery{
				Seen: q.Bool("seen"), Severity: q.Filters["severity"], Ordering: q.Ordering, Page: q.Page})
			out := make([]Notification, len(ns))
			for i, n := range ns {
				out[i] = notificationOut(n)
			}
			return out, total, err
		},
		Get: func(ctx context.Context, c *Caller, id uuid.UUID) (Notification, error) {
			n, err := mine(ctx, c, id)
			if err != nil {
				return Notification{}, err
			}
			return notificationOut(n), nil
		},
	})
	update := func(ctx context.Context, c *Caller, r *http.Request, in *NotificationRequest) (*Notification, error) {
		id, err := pathID(r)
		if err != nil {
			return nil, err
		}
		n, err := mine(ctx, c, id)
		if err != nil {
			return nil, err
		}
		if in.Seen != nil && *in.Seen != n.Seen {
			if err := c.Scope.Notifications().SetSeen(ctx, id, *in.Seen); err != nil {
				return nil, err
			}
			n.Seen = *in.Seen
		}
		out := notificationOut(n)
		return &out, nil
	}
	Action(a, http.MethodPatch, "events/notifications/{id}/", "events", "events_notifications_partial_update",
		"Mark one of your notifications read or unread", perm(model, "change"), http.StatusOK, update)
	Action(a, http.MethodPut, "events/notifications/{id}/", "events", "events_notifications_update",
		"Mark one of your notifications read or unread (as PATCH: seen is the only writable field)", perm(model, "change"),
		http.StatusOK, update)
	Action(a, http.MethodDelete, "events/notifications/{id}/", "events", "events_notifications_destroy",
		"Delete one of your notifications", perm(model, "delete"), http.StatusNoContent,
		func(ctx context.Context, c *Caller, r *http.Request, _ *struct{}) (*struct{}, error) {
			id, err := pathID(r)
			if err != nil {
				return nil, err
			}
			if _, err := mine(ctx, c, id); err != nil {
				return nil, err
			}
			return nil, c.Scope.Notifications().Delete(ctx, id)
		})
	Action(a, http.MethodPost, "events/notifications/mark_all_seen/", "events", "events_notifications_mark_all_seen_create",
		"Mark all your notifications read", perm(model, "change"), http.StatusNoContent,
		func(ctx context.Context, c *Caller, _ *http.Request, _ *struct{}) (*struct{}, error) {
			_, err := c.Scope.Notifications().MarkAllSeen(ctx, c.User.ID)
			return nil, err
		})
	a.ownable(from)
}
