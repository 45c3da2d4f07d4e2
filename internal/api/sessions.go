package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// AuthenticatedSession is Authentik's, without the parsed user agent and
// GeoIP fields.
type AuthenticatedSession struct {
	UUID          uuid.UUID `json:"uuid"`
	Current       bool      `json:"current" doc:"the session this request came with"`
	User          uuid.UUID `json:"user"`
	LastIP        string    `json:"last_ip"`
	LastUserAgent string    `json:"last_user_agent"`
	LastUsed      time.Time `json:"last_used"`
	Expires       time.Time `json:"expires"`
}

func (s AuthenticatedSession) Meta() Meta { return Meta{ID: s.UUID} }

func (c *Caller) sessionOut(s *store.Session) AuthenticatedSession {
	return AuthenticatedSession{UUID: s.ID, Current: c.session != nil && c.session.ID() == s.ID, User: s.UserID.UUID,
		LastIP: s.IP, LastUserAgent: s.UserAgent, LastUsed: s.LastSeen, Expires: s.Expires}
}

// mine reports whether a session is the caller's own to see: theirs, and
// not one in which an admin impersonates them (unless it is this one).
func (c *Caller) mine(s *store.Session) bool {
	if s.UserID.UUID != c.User.ID {
		return false
	}
	imp := session.ImpersonatorOf(*s)
	return !imp.Valid || (c.session != nil && c.session.ID() == s.ID)
}

// Every user lists and ends their own sessions (Authentik's user settings
// page); the model permissions reach everyone's.
func (a *API) registerSessions() {
	const model = "authentik_core.authenticatedsession"
	from := len(a.endpoints)
	visible := func(ctx context.Context, c *Caller, id uuid.UUID) (*store.Session, error) {
		s, err := c.Scope.Sessions().Get(ctx, id)
		switch {
		case err != nil:
			return nil, err
		case !s.UserID.Valid || !s.Expires.After(a.now()):
			return nil, store.ErrNotFound
		case !c.mine(s) && !c.Can(perm(model, "view")):
			return nil, store.ErrNotFound
		}
		return s, nil
	}
	Register(a, Resource[AuthenticatedSession, struct{}]{
		Path: "core/authenticated_sessions/", Tag: "core", Model: model,
		Filters: []Param{{Name: "user__username", Description: "sessions of this user (with " + perm(model, "view") + ")"}},
		List: func(ctx context.Context, c *Caller, q Query) ([]AuthenticatedSession, int, error) {
			sq := store.SessionQuery{UserID: c.User.ID, Now: a.now(), Search: q.Search, Page: q.Page}
			all := c.Can(perm(model, "view"))
			if all {
				sq.UserID = uuid.Nil
				if name, ok := q.Filters["user__username"]; ok {
					u, err := c.Scope.Users().GetByUsername(ctx, name)
					if errors.Is(err, store.ErrNotFound) {
						return nil, 0, nil
					} else if err != nil {
						return nil, 0, err
					}
					sq.UserID = u.ID
				}
			}
			ss, total, err := listSessions(ctx, c.Scope, sq)
			var out []AuthenticatedSession
			for _, s := range ss {
				if all || c.mine(s) {
					out = append(out, c.sessionOut(s))
				} else {
					total-- // an impersonation of the caller, which is the admin's
				}
			}
			return out, total, err
		},
		Get: func(ctx context.Context, c *Caller, id uuid.UUID) (AuthenticatedSession, error) {
			s, err := visible(ctx, c, id)
			if err != nil {
				return AuthenticatedSession{}, err
			}
			return c.sessionOut(s), nil
		},
	})
	// Deleting is an action, not Resource.Delete: ending a session goes
	// through the session manager with the request, so applications signed
	// in through it hear of it (back-channel logout) at the issuer they
	// know; and sessions are not audited as models, as in Authentik.
	Action(a, http.MethodDelete, "core/authenticated_sessions/{id}/", "core", "core_authenticated_sessions_destroy",
		"End a session (logs its browser out and tells its applications)", perm(model, "delete"), http.StatusNoContent,
		func(ctx context.Context, c *Caller, r *http.Request, _ *struct{}) (*struct{}, error) {
			id, err := pathID(r)
			if err != nil {
				return nil, err
			}
			s, err := visible(ctx, c, id)
			if err != nil {
				return nil, err
			}
			if !c.mine(s) && !c.Can(perm(model, "delete")) {
				return nil, forbidden(perm(model, "delete"))
			}
			// Ending someone's session is acting on them.
			if err := a.guard(ctx, c, nil, core.OnUser(s.UserID.UUID)); err != nil {
				return nil, err
			}
			return nil, a.Sessions.End(ctx, c.Scope, id)
		})
	a.ownable(from)
}

// listSessions pages through logged-in sessions with the store's lister,
// or without one through a single user's.
func listSessions(ctx context.Context, sc store.Scope, q store.SessionQuery) ([]*store.Session, int, error) {
	if l, ok := sc.Sessions().(store.SessionLister); ok {
		return l.List(ctx, q)
	}
	if q.UserID == uuid.Nil {
		return nil, 0, Errorf(http.StatusNotImplemented, "this store cannot list every user's sessions; filter by user__username")
	}
	all, err := sc.Sessions().ListForUser(ctx, q.UserID)
	var out []*store.Session
	for _, s := range all {
		if s.Expires.After(q.Now) && strings.Contains(strings.ToLower(s.IP+"\x00"+s.UserAgent), strings.ToLower(q.Search)) {
			out = append(out, s)
		}
	}
	return slicePage(out, q.Page), len(out), err
}

// ImpersonationRequest is the body of core/users/{id}/impersonate/.
type ImpersonationRequest struct {
	Reason *string `json:"reason" doc:"why; required, as with Authentik's default impersonation_require_reason"`
}

// Impersonation follows Authentik: the browser session switches to the
// target user and remembers the admin, core/users/me/ shows the admin as
// "original", and impersonate_end switches back. Stricter than Authentik:
// without being a superuser, the target must be a user the caller may act
// on (core.MayActOn: holding nothing, globally or on any object, that the
// caller lacks), since acting as them would otherwise be an escalation.
func (a *API) registerImpersonation() {
	Action(a, http.MethodPost, "core/users/{id}/impersonate/", "core", "core_users_impersonate_create",
		"Act as the user in this browser session until impersonate_end", "authentik_core.impersonate", http.StatusNoContent,
		func(ctx context.Context, c *Caller, r *http.Request, in *ImpersonationRequest) (*struct{}, error) {
			id, err := pathID(r)
			if err != nil {
				return nil, err
			}
			target, err := c.Scope.Users().Get(ctx, id)
			if err != nil {
				return nil, err
			}
			switch {
			case c.session == nil:
				return nil, Errorf(http.StatusBadRequest, "impersonation needs a browser session, not an API token")
			case c.impersonator != nil:
				return nil, Errorf(http.StatusBadRequest, "end the current impersonation first")
			case target.ID == c.User.ID:
				return nil, Errorf(http.StatusForbidden, "you cannot impersonate yourself")
			case in.Reason == nil || strings.TrimSpace(*in.Reason) == "":
				return nil, store.Invalid("reason", "this field is required")
			case len(*in.Reason) > store.MaxNameLen:
				return nil, store.Invalid("reason", "must be at most %d characters", store.MaxNameLen)
			case !target.IsActive:
				return nil, Errorf(http.StatusBadRequest, "the user is inactive")
			}
			if err := a.guard(ctx, c, nil, core.OnUser(target.ID)); err != nil {
				return nil, err
			}
			if err := a.Sessions.Impersonate(ctx, c.session, target.ID); err != nil {
				return nil, err
			}
			a.record(ctx, c.Scope, (&Caller{User: target, impersonator: c.User}).Event(&store.Event{
				Action: "impersonation_started", Context: map[string]any{"reason": *in.Reason}}))
			return nil, nil
		})
	Action(a, http.MethodGet, "core/users/impersonate_end/", "core", "core_users_impersonate_end_retrieve",
		"End an impersonation: the session is its admin's again (nothing happens without one)", "", http.StatusNoContent,
		func(ctx context.Context, c *Caller, r *http.Request, _ *struct{}) (*struct{}, error) {
			if c.session == nil || c.impersonator == nil {
				return nil, nil
			}
			if _, _, err := a.Sessions.EndImpersonation(ctx, c.session); err != nil {
				return nil, err
			}
			a.record(ctx, c.Scope, c.Event(&store.Event{Action: "impersonation_ended"}))
			return nil, nil
		})
}
