package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// User is Authentik's user serializer, less what would cost a query per
// row in a list (groups, is_superuser: see core/groups/).
type User struct {
	PK                 uuid.UUID      `json:"pk"`
	Username           string         `json:"username"`
	Name               string         `json:"name"`
	Email              string         `json:"email"`
	EmailVerified      bool           `json:"email_verified"`
	IsActive           bool           `json:"is_active"`
	Type               string         `json:"type" enum:"internal,external,service_account,internal_service_account"`
	Path               string         `json:"path"`
	Attributes         map[string]any `json:"attributes"`
	LastLogin          *time.Time     `json:"last_login"`
	PasswordChangeDate *time.Time     `json:"password_change_date"`
	DateJoined         time.Time      `json:"date_joined"`
	UID                string         `json:"uid" doc:"stable pseudonymous ID (Authentik's uid)"`
	version            int64
}

func (u User) Meta() Meta { return Meta{ID: u.PK, Name: u.Username, Version: u.version} }

// UserRequest is what create and update accept.
type UserRequest struct {
	Username      *string         `json:"username"`
	Name          *string         `json:"name"`
	Email         *string         `json:"email"`
	EmailVerified *bool           `json:"email_verified"`
	IsActive      *bool           `json:"is_active"`
	Type          *string         `json:"type" enum:"internal,external,service_account,internal_service_account"`
	Path          *string         `json:"path"`
	Attributes    *map[string]any `json:"attributes"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nullID(id uuid.UUID) uuid.NullUUID { return uuid.NullUUID{UUID: id, Valid: id != uuid.Nil} }

func (a *API) userOut(sc store.Scope, u *store.User) User {
	attrs := map[string]any(u.Attributes)
	if attrs == nil {
		attrs = map[string]any{}
	}
	return User{PK: u.ID, Username: u.Username, Name: u.Name, Email: u.Email, EmailVerified: u.EmailVerified,
		IsActive: u.IsActive, Type: string(u.Type), Path: u.Path, Attributes: attrs, LastLogin: timePtr(u.LastLogin),
		PasswordChangeDate: timePtr(u.PasswordChangeDate), DateJoined: u.CreatedAt, UID: a.uid(sc.TenantID(), u.ID),
		version: u.Version}
}

func (in *UserRequest) apply(u *store.User) {
	set(&u.Username, in.Username)
	set(&u.Name, in.Name)
	set(&u.Email, in.Email)
	set(&u.EmailVerified, in.EmailVerified)
	set(&u.IsActive, in.IsActive)
	set(&u.Path, in.Path)
	if in.Type != nil {
		u.Type = store.UserType(*in.Type)
	}
	if in.Attributes != nil {
		u.Attributes = *in.Attributes
	}
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// checkVersion refuses an update based on a version that moved on; inside
// a store Update function it is race-free (the write compares versions).
func checkVersion(want, have int64) error {
	if want != 0 && want != have {
		return store.ErrConflict
	}
	return nil
}

// SetPasswordRequest is the body of core/users/{id}/set_password/.
type SetPasswordRequest struct {
	Password *string `json:"password"`
}

// MeResponse is core/users/me/, Authentik's shape, plus the session's
// CSRF token for browser scripts (CORS keeps other origins from reading it).
type MeResponse struct {
	User        User   `json:"user"`
	IsSuperuser bool   `json:"is_superuser"`
	CSRFToken   string `json:"csrf_token,omitempty" doc:"send as X-CSRFToken on unsafe requests authenticated by the session cookie"`
	Original    *User  `json:"original,omitempty" doc:"the admin impersonating user, while an impersonation runs"`
}

func (a *API) registerUsers() {
	Register(a, Resource[User, UserRequest]{
		Path: "core/users/", Tag: "core", Model: "authentik_core.user", Required: []string{"username", "name"},
		Filters: []Param{{Name: "type", Enum: []string{"internal", "external", "service_account", "internal_service_account"}},
			{Name: "is_active", Bool: true}, {Name: "groups_by_pk", Description: "direct members of this group (ID)"},
			{Name: "username", Description: "exactly this username (case-sensitive, as Authentik's filter; search= finds substrings)"},
			{Name: "email", Description: "exactly this email address (case-sensitive)"}},
		Ordering: []string{"username", "name", "email", "last_login", "created"},
		List: func(ctx context.Context, c *Caller, q Query) ([]User, int, error) {
			uq := store.UserQuery{Search: q.Search, Type: store.UserType(q.Filters["type"]), IsActive: q.Bool("is_active"),
				Username: q.Filters["username"], Email: q.Filters["email"], Ordering: q.Ordering, Page: q.Page}
			if g, ok := q.Filters["groups_by_pk"]; ok {
				id, err := uuid.Parse(g)
				if err != nil {
					return nil, 0, store.Invalid("groups_by_pk", "must be a group ID")
				}
				uq.GroupID = id
			}
			us, total, err := c.Scope.Users().List(ctx, uq)
			out := make([]User, len(us))
			for i, u := range us {
				out[i] = a.userOut(c.Scope, u)
			}
			return out, total, err
		},
		Get: func(ctx context.Context, c *Caller, id uuid.UUID) (User, error) {
			u, err := c.Scope.Users().Get(ctx, id)
			if err != nil {
				return User{}, err
			}
			return a.userOut(c.Scope, u), nil
		},
		Create: func(ctx context.Context, c *Caller, in *UserRequest) (User, error) {
			u := &store.User{IsActive: true, Type: store.UserInternal, Path: "users"}
			in.apply(u)
			if err := a.as(c).CreateUser(ctx, c.Scope, u, ""); err != nil {
				return User{}, err
			}
			return a.userOut(c.Scope, u), nil
		},
		Update: func(ctx context.Context, c *Caller, id uuid.UUID, version int64, in *UserRequest) (User, error) {
			u, err := a.as(c).UpdateUser(ctx, c.Scope, id, version, func(u *store.User) error { in.apply(u); return nil })
			if err != nil {
				return User{}, err
			}
			return a.userOut(c.Scope, u), nil
		},
		Delete: func(ctx context.Context, c *Caller, id uuid.UUID) error {
			if id == c.User.ID {
				return Errorf(http.StatusBadRequest, "you cannot delete yourself")
			}
			return a.as(c).DeleteUser(ctx, c.Scope, id)
		},
		DomainWrites: true,
	})
	Action(a, http.MethodPost, "core/users/{id}/set_password/", "core", "core_users_set_password_create",
		"Set a user's password", "authentik_core.reset_user_password", http.StatusNoContent,
		func(ctx context.Context, c *Caller, r *http.Request, in *SetPasswordRequest) (*struct{}, error) {
			id, err := pathID(r)
			if err != nil {
				return nil, err
			}
			if in.Password == nil || *in.Password == "" {
				return nil, store.Invalid("password", "this field is required")
			}
			// Set by someone else than the user (or by them without the
			// old password): a reset. The caller's own session is kept.
			keep := uuid.Nil
			if c.session != nil {
				keep = c.session.ID()
			}
			return nil, a.as(c).ResetPassword(ctx, c.Scope, id, *in.Password, keep)
		})
	Action(a, http.MethodGet, "core/users/me/", "core", "core_users_me_retrieve", "The authenticated user", "", http.StatusOK,
		func(ctx context.Context, c *Caller, r *http.Request, _ *struct{}) (*MeResponse, error) {
			me := &MeResponse{User: a.userOut(c.Scope, c.User), IsSuperuser: c.Superuser, CSRFToken: c.csrf}
			if c.impersonator != nil {
				o := a.userOut(c.Scope, c.impersonator)
				me.Original = &o
			}
			return me, nil
		})
}

// Group is Authentik's group serializer without the member list (one
// query per row); members are listed with core/users/?groups_by_pk=.
type Group struct {
	PK          uuid.UUID      `json:"pk"`
	Name        string         `json:"name"`
	IsSuperuser bool           `json:"is_superuser"`
	Parent      uuid.NullUUID  `json:"parent"`
	Attributes  map[string]any `json:"attributes"`
	Roles       []uuid.UUID    `json:"roles" doc:"roles assigned to the group itself; its members and the members of its child groups hold their permissions"`
	RolesObj    []GroupRole    `json:"roles_obj" doc:"the same roles with their names"`
	version     int64
}

func (g Group) Meta() Meta { return Meta{ID: g.PK, Name: g.Name, Version: g.version} }

// GroupRole is a role as a group shows it (Authentik's roles_obj).
type GroupRole struct {
	PK   uuid.UUID `json:"pk"`
	Name string    `json:"name"`
}

// GroupRequest is what create and update accept.
type GroupRequest struct {
	Name        *string         `json:"name"`
	IsSuperuser *bool           `json:"is_superuser"`
	Parent      *uuid.NullUUID  `json:"parent"`
	Attributes  *map[string]any `json:"attributes"`
	Roles       *[]uuid.UUID    `json:"roles" doc:"replaces the group's roles; a role you add must grant only permissions you hold yourself"`
}

// MemberRequest names a user to add to or remove from a group.
type MemberRequest struct {
	PK *uuid.UUID `json:"pk"`
}

func groupOut(g *store.Group, roles []*store.Role) Group {
	attrs := map[string]any(g.Attributes)
	if attrs == nil {
		attrs = map[string]any{}
	}
	out := Group{PK: g.ID, Name: g.Name, IsSuperuser: g.IsSuperuser, Parent: g.ParentID, Attributes: attrs,
		Roles: make([]uuid.UUID, 0, len(roles)), RolesObj: make([]GroupRole, 0, len(roles)), version: g.Version}
	for _, r := range roles {
		out.Roles = append(out.Roles, r.ID)
		out.RolesObj = append(out.RolesObj, GroupRole{PK: r.ID, Name: r.Name})
	}
	return out
}

func (in *GroupRequest) apply(g *store.Group) {
	set(&g.Name, in.Name)
	set(&g.IsSuperuser, in.IsSuperuser)
	set(&g.ParentID, in.Parent)
	if in.Attributes != nil {
		g.Attributes = *in.Attributes
	}
}

// readGroup is a group with its roles, read in sc.
func readGroup(ctx context.Context, sc store.Scope, id uuid.UUID) (Group, error) {
	g, err := sc.Groups().Get(ctx, id)
	if err != nil {
		return Group{}, err
	}
	roles, err := sc.Roles().ForGroups(ctx, []uuid.UUID{id})
	if err != nil {
		return Group{}, err
	}
	return groupOut(g, roles[id]), nil
}

func (a *API) registerGroups() {
	Register(a, Resource[Group, GroupRequest]{
		Path: "core/groups/", Tag: "core", Model: "authentik_core.group", Required: []string{"name"},
		Ordering: []string{"name", "created"},
		List: func(ctx context.Context, c *Caller, q Query) ([]Group, int, error) {
			gs, total, err := c.Scope.Groups().List(ctx, store.GroupQuery{Search: q.Search, Ordering: q.Ordering, Page: q.Page})
			if err != nil {
				return nil, 0, err
			}
			ids := make([]uuid.UUID, len(gs))
			for i, g := range gs {
				ids[i] = g.ID
			}
			roles, err := c.Scope.Roles().ForGroups(ctx, ids)
			if err != nil {
				return nil, 0, err
			}
			out := make([]Group, len(gs))
			for i, g := range gs {
				out[i] = groupOut(g, roles[g.ID])
			}
			return out, total, nil
		},
		Get: func(ctx context.Context, c *Caller, id uuid.UUID) (Group, error) {
			return readGroup(ctx, c.Scope, id)
		},
		// Each write is one guarded transaction in the domain layer: a
		// refused role, parent or superuser flag leaves the group as it
		// was, and the group's roles (global and on single objects) and
		// superuser rights, inherited ones included, are compared before
		// and after it.
		Create: func(ctx context.Context, c *Caller, in *GroupRequest) (Group, error) {
			g := &store.Group{}
			in.apply(g)
			var roles []uuid.UUID
			if in.Roles != nil {
				roles = *in.Roles
			}
			if err := a.as(c).CreateGroup(ctx, c.Scope, g, roles); err != nil {
				return Group{}, err
			}
			return readGroup(ctx, c.Scope, g.ID)
		},
		Update: func(ctx context.Context, c *Caller, id uuid.UUID, version int64, in *GroupRequest) (Group, error) {
			_, err := a.as(c).UpdateGroup(ctx, c.Scope, id, version, func(g *store.Group) error { in.apply(g); return nil }, in.Roles)
			if err != nil {
				return Group{}, err
			}
			return readGroup(ctx, c.Scope, id)
		},
		// Deleting a group takes each of its members out of it.
		Delete: func(ctx context.Context, c *Caller, id uuid.UUID) error {
			return a.as(c).DeleteGroup(ctx, c.Scope, id)
		},
		DomainWrites: true,
	})
	for _, op := range []struct{ path, verb string }{{"add_user", "Add"}, {"remove_user", "Remove"}} {
		Action(a, http.MethodPost, "core/groups/{id}/"+op.path+"/", "core", "core_groups_"+op.path+"_create",
			op.verb+" a member", "authentik_core.change_group", http.StatusNoContent,
			func(ctx context.Context, c *Caller, r *http.Request, in *MemberRequest) (*struct{}, error) {
				gid, err := pathID(r)
				if err != nil {
					return nil, err
				}
				if in.PK == nil {
					return nil, store.Invalid("pk", "this field is required")
				}
				if _, err := c.Scope.Groups().Get(ctx, gid); err != nil {
					return nil, err
				}
				uid := *in.PK
				if _, err := c.Scope.Users().Get(ctx, uid); err != nil {
					if errors.Is(err, store.ErrNotFound) {
						return nil, store.Invalid("pk", "no such user")
					}
					return nil, err
				}
				change := a.as(c).AddMember
				if op.path == "remove_user" {
					change = a.as(c).RemoveMember
				}
				return nil, change(ctx, c.Scope, gid, uid)
			})
	}
}

// Init registers the built-in resources, in the order the schema lists
// them; packages that own a model (a provider kind, say) register theirs
// with Register and Action before Mount, called by the composition root,
// so that the API serves what internal/app lists and nothing registers
// itself from init.
func (a *API) Init() {
	for _, f := range []func(*API){
		(*API).registerApplications, (*API).registerConsents, (*API).registerUsers, (*API).registerGroups,
		(*API).registerEvents, (*API).registerFlows, (*API).registerStageBindings, (*API).registerNotifications,
		(*API).registerObjectPermissions, (*API).registerPolicies, (*API).registerPolicyBindings,
		(*API).registerPropertyMappings, (*API).registerProviders, (*API).registerRBAC, (*API).registerSessions,
		(*API).registerImpersonation, (*API).registerStages, (*API).registerTokens,
	} {
		f(a)
	}
}
