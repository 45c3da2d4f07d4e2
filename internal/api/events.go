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

func init() { builtin = append(builtin, (*API).registerEvents) }

// registerEvents adds events/events/, a thin browser over the store's
// filters (exact matches, newest first); totals stop at store.MaxEventCount.
func (a *API) registerEvents() {
	Register(a, Resource[Event, struct{}]{
		Path: "events/events/", Tag: "events", Model: "authentik_events.event",
		Filters: []Param{{Name: "action"}, {Name: "username"}, {Name: "client_ip"},
			{Name: "app", Description: "application slug"}},
		Ordering: []string{"created"},
		List: func(ctx context.Context, c *Caller, q Query) ([]Event, int, error) {
			if q.Search != "" {
				return nil, 0, store.Invalid("search", "is not supported for events; filter by action, username, client_ip or app")
			}
			es, total, err := c.Scope.Events().List(ctx, store.EventQuery{Action: q.Filters["action"],
				Username: q.Filters["username"], ClientIP: q.Filters["client_ip"], App: q.Filters["app"],
				Ordering: q.Ordering, Page: q.Page})
			out := make([]Event, len(es))
			for i, e := range es {
				out[i] = eventOut(e)
			}
			return out, total, err
		},
	})
}
