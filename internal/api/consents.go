package api

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// UserConsent is Authentik's: a user's remembered "yes" to an
// application's consent stage. Deleting it makes the application ask again.
type UserConsent struct {
	PK          uuid.UUID        `json:"pk"`
	User        uuid.UUID        `json:"user"`
	Application *ConsentAppBrief `json:"application" doc:"null when the application was deleted"`
	Permissions string           `json:"permissions" doc:"the scopes consented to, space-separated"`
	Expires     *time.Time       `json:"expires" doc:"null: the consent does not expire"`
	Expiring    bool             `json:"expiring"`
}

// ConsentAppBrief names the application a consent is for.
type ConsentAppBrief struct {
	PK   uuid.UUID `json:"pk"`
	Name string    `json:"name"`
	Slug string    `json:"slug"`
}

func (u UserConsent) Meta() Meta {
	name := ""
	if u.Application != nil {
		name = u.Application.Slug
	}
	return Meta{ID: u.PK, Name: name}
}

// registerConsents adds core/user_consent/: every user lists and revokes
// their own consents (the user settings page in Authentik); nobody sees
// another user's, so an ID that is not the caller's is simply not found.
func (a *API) registerConsents() {
	from := len(a.endpoints)
	own := func(ctx context.Context, c *Caller) ([]UserConsent, error) {
		cs, err := c.Scope.Consents().ListForUser(ctx, c.User.ID)
		if err != nil {
			return nil, err
		}
		apps := map[string]*ConsentAppBrief{} // a user's consents are few; each app is read once
		out := make([]UserConsent, 0, len(cs))
		for _, x := range cs {
			if !x.Expires.IsZero() && !x.Expires.After(a.now()) {
				continue
			}
			app, seen := apps[x.Target]
			if !seen {
				if id, err := uuid.Parse(x.Target); err == nil {
					switch ap, err := c.Scope.Applications().Get(ctx, id); {
					case err == nil:
						app = &ConsentAppBrief{PK: ap.ID, Name: ap.Name, Slug: ap.Slug}
					case !errors.Is(err, store.ErrNotFound):
						return nil, err
					}
				}
				apps[x.Target] = app
			}
			u := UserConsent{PK: x.ID, User: x.UserID, Application: app, Permissions: strings.Join(x.Permissions, " ")}
			if !x.Expires.IsZero() {
				exp := x.Expires
				u.Expires, u.Expiring = &exp, true
			}
			out = append(out, u)
		}
		return out, nil
	}
	find := func(ctx context.Context, c *Caller, id uuid.UUID) (UserConsent, error) {
		all, err := own(ctx, c)
		for _, u := range all {
			if u.PK == id {
				return u, nil
			}
		}
		if err == nil {
			err = store.ErrNotFound
		}
		return UserConsent{}, err
	}
	Register(a, Resource[UserConsent, struct{}]{
		Path: "core/user_consent/", Tag: "core", Model: "authentik_core.userconsent",
		List: func(ctx context.Context, c *Caller, q Query) ([]UserConsent, int, error) {
			if q.Search != "" {
				return nil, 0, store.Invalid("search", "is not supported for consents")
			}
			all, err := own(ctx, c)
			return slicePage(all, q.Page), len(all), err
		},
		Get: find,
		Delete: func(ctx context.Context, c *Caller, id uuid.UUID) error {
			if _, err := find(ctx, c, id); err != nil {
				return err
			}
			return c.Scope.Consents().Delete(ctx, id)
		},
	})
	a.ownable(from)
}
