package api

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// EventUser is Authentik's event user: while an admin impersonates
// someone, user is the admin and on_behalf_of the impersonated user.
type EventUser struct {
	PK         uuid.NullUUID `json:"pk"`
	Username   string        `json:"username"`
	OnBehalfOf *EventUser    `json:"on_behalf_of,omitempty"`
}

// Event is one audit record, read-only.
type Event struct {
	PK       uuid.UUID      `json:"pk"`
	User     EventUser      `json:"user"`
	Action   string         `json:"action"`
	App      string         `json:"app" doc:"application slug"`
	Context  map[string]any `json:"context"`
	ClientIP string         `json:"client_ip"`
	Created  time.Time      `json:"created"`
	Expires  time.Time      `json:"expires"`
}

func (e Event) Meta() Meta { return Meta{ID: e.PK, Name: e.Action} }

func eventOut(e *store.Event) Event {
	u := EventUser{PK: e.UserID, Username: e.Username}
	if e.ImpersonatorID.Valid || e.ImpersonatorUsername != "" {
		acting := u
		u = EventUser{PK: e.ImpersonatorID, Username: e.ImpersonatorUsername, OnBehalfOf: &acting}
	}
	ctx := e.Context
	if ctx == nil {
		ctx = map[string]any{}
	}
	return Event{PK: e.ID, User: u, Action: e.Action, App: e.App, Context: ctx, ClientIP: e.ClientIP,
		Created: e.CreatedAt, Expires: e.Expires}
}

// eventTimeFilters are the time range a list may ask for, Django's names:
// created__gte is inclusive, created__lt exclusive, so consecutive ranges
// never share an event.
var eventTimeFilters = []Param{
	{Name: "created__gte", Description: "events created at or after this RFC 3339 time (e.g. 2025-03-01T00:00:00Z)"},
	{Name: "created__lt", Description: "events created before this RFC 3339 time"},
}

// timeFilter reads an RFC 3339 filter into t (left zero when absent); a
// malformed value is a problem on that field.
func timeFilter(q Query, name string, t *time.Time, v *store.ValidationError) {
	s, ok := q.Filters[name]
	if !ok {
		return
	}
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		v.Add(name, "must be an RFC 3339 date-time with a time zone, such as 2025-03-01T00:00:00Z")
		return
	}
	*t = parsed
}

// registerEvents adds events/events/, a thin browser over the store's
// filters (exact matches and a time range, newest first) whose totals stop
// at store.MaxEventCount, and events/events/{id}/.
func (a *API) registerEvents() {
	Register(a, Resource[Event, struct{}]{
		Path: "events/events/", Tag: "events", Model: "authentik_events.event",
		Filters: append([]Param{{Name: "action"}, {Name: "username"}, {Name: "client_ip"},
			{Name: "app", Description: "application slug"}}, eventTimeFilters...),
		Ordering: []string{"created"},
		List: func(ctx context.Context, c *Caller, q Query) ([]Event, int, error) {
			if q.Search != "" {
				return nil, 0, store.Invalid("search", "is not supported for events; filter by action, username, client_ip, app or created__gte/created__lt")
			}
			eq := store.EventQuery{Action: q.Filters["action"], Username: q.Filters["username"], ClientIP: q.Filters["client_ip"],
				App: q.Filters["app"], Ordering: q.Ordering, Page: q.Page}
			v := &store.ValidationError{}
			timeFilter(q, "created__gte", &eq.Since, v)
			timeFilter(q, "created__lt", &eq.Until, v)
			if err := v.Err(); err != nil {
				return nil, 0, err
			}
			es, total, err := c.Scope.Events().List(ctx, eq)
			out := make([]Event, len(es))
			for i, e := range es {
				out[i] = eventOut(e)
			}
			return out, total, err
		},
		Get: func(ctx context.Context, c *Caller, id uuid.UUID) (Event, error) {
			e, err := c.Scope.Events().Get(ctx, id)
			if err != nil {
				return Event{}, err
			}
			return eventOut(e), nil
		},
	})
}
