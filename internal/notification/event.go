package notification

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// EventDict is an event as rules see it (request.context["event"]) and as
// notifications keep it, in Authentik's field names: pk, action, app,
// client_ip, user {pk, username, email}, context, created, expires. The
// context was masked when the event was recorded.
func EventDict(e *store.Event) map[string]any {
	user := map[string]any{"pk": nil, "username": e.Username}
	if e.UserID.Valid {
		user["pk"] = e.UserID.UUID.String()
	}
	ctx := maps.Clone(e.Context)
	if ctx == nil {
		ctx = map[string]any{}
	}
	d := map[string]any{"pk": e.ID.String(), "action": e.Action, "app": e.App, "client_ip": e.ClientIP,
		"user": user, "context": ctx, "created": e.CreatedAt.UTC().Format(time.RFC3339Nano)}
	if !e.Expires.IsZero() {
		d["expires"] = e.Expires.UTC().Format(time.RFC3339Nano)
	}
	return d
}

// addEventUserEmail completes the event's user with the email address
// (Authentik's event.user carries it; our events copy only the username).
// It is looked up when the event is dispatched, not on the request path.
func addEventUserEmail(ctx context.Context, sc store.Scope, event map[string]any) error {
	user, _ := event["user"].(map[string]any)
	id, err := uuid.Parse(str(user["pk"]))
	if err != nil {
		return nil
	}
	u, err := sc.Users().Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	user["email"] = u.Email
	return nil
}

// Summary is a notification's body, Authentik's Event.summary: the
// context's message, or the action and the context.
func Summary(event map[string]any) string {
	ctx, _ := event["context"].(map[string]any)
	if msg, ok := ctx["message"].(string); ok && msg != "" {
		return clip(msg, store.MaxNotificationBody)
	}
	b, _ := json.Marshal(ctx)
	return clip(str(event["action"])+": "+string(b), store.MaxNotificationBody)
}

// eventExpiry is when the notification goes: with its event, or after the
// default retention if the event does not say.
func eventExpiry(event map[string]any, now time.Time) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, str(event["expires"])); err == nil {
		return t
	}
	return now.Add(store.DefaultEventRetention)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// clip cuts s to at most n bytes on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
