package api

import (
	"context"
	"errors"
	"hash/fnv"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Event stamps e with who acts (core.Actor.Stamp): the caller, unless e
// already names the user it is about, and the admin impersonating the
// caller, if one is.
func (c *Caller) Event(e *store.Event) *store.Event { return c.Actor().Stamp(e) }

// record writes an event, if the API has a writer.
func (a *API) record(ctx context.Context, sc store.Scope, e *store.Event) {
	if a.Events != nil {
		a.Events(ctx, sc, e)
	}
}

// ownable marks the endpoints registered since from as usable by every
// caller for their own objects; their functions check the permission.
func (a *API) ownable(from int) {
	for _, e := range a.endpoints[from:] {
		e.own = true
	}
}

// superuserModels are managed by superusers only, whatever a role says;
// their permissions are not offered to roles.
var superuserModels = []string{"authentik_tenants.tenant", "authentik_tenants.domain"}

// Permissions lists, sorted, every permission that some endpoint checks:
// the names a role can usefully hold. Once the API is mounted (every
// endpoint registered) the list is kept, since each request's permissions
// are compared through it.
func (a *API) Permissions() []string {
	if a.catalog != nil {
		return a.catalog
	}
	var out []string
	for _, e := range a.endpoints {
		if e.perm != "" && !slices.Contains(out, e.perm) && !slices.Contains(superuserModels, modelOf(e.perm)) {
			out = append(out, e.perm)
		}
	}
	sort.Strings(out)
	return out
}

// Permission is one entry of rbac/permissions/.
type Permission struct {
	Permission string `json:"permission" doc:"the name roles hold: app_label.codename"`
	Codename   string `json:"codename"`
	AppLabel   string `json:"app_label"`
	Model      string `json:"model" doc:"the model of view/add/change/delete permissions; empty for others"`
	Name       string `json:"name"`
}

// PermissionList is rbac/permissions/, one page holding the whole catalog.
type PermissionList struct {
	Pagination Pagination   `json:"pagination"`
	Results    []Permission `json:"results"`
}

func permissionOut(full string) Permission {
	app, code, _ := strings.Cut(full, ".")
	p := Permission{Permission: full, Codename: code, AppLabel: app, Name: "Can " + strings.ReplaceAll(code, "_", " ")}
	if action, model, ok := strings.Cut(code, "_"); ok && !strings.Contains(model, "_") &&
		slices.Contains([]string{"view", "add", "change", "delete"}, action) {
		p.Model = model
	}
	return p
}

// Role is Authentik's role with its permissions and the groups it is
// assigned to (Authentik shows those on the group).
type Role struct {
	PK          uuid.UUID   `json:"pk"`
	Name        string      `json:"name"`
	Permissions []string    `json:"permissions"`
	Groups      []uuid.UUID `json:"groups" doc:"groups whose members hold the role; change with assign/ and unassign/"`
	version     int64
}

func (r Role) Meta() Meta { return Meta{ID: r.PK, Name: r.Name, Version: r.version} }

// RoleRequest is what create and update accept.
type RoleRequest struct {
	Name        *string   `json:"name"`
	Permissions *[]string `json:"permissions" doc:"app_label.codename names from rbac/permissions/"`
}

// RoleAssignRequest names the group of assign/ and unassign/.
type RoleAssignRequest struct {
	Group *uuid.UUID `json:"group"`
}

// roleVersion stands in for a version column roles lack: a digest of
// what the API can change, so a stale If-Match is refused (between the
// check and the write, a concurrent edit can still slip in).
func roleVersion(r *store.Role) int64 {
	h := fnv.New64a()
	h.Write([]byte(r.Name))
	for _, p := range r.Permissions {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return int64(h.Sum64()>>11) | 1
}

func roleOut(r *store.Role, groups []uuid.UUID) Role {
	perms := r.Permissions
	if perms == nil {
		perms = []string{}
	}
	if groups == nil {
		groups = []uuid.UUID{}
	}
	return Role{PK: r.ID, Name: r.Name, Permissions: perms, Groups: groups, version: roleVersion(r)}
}

func assignments(ctx context.Context, sc store.Scope) (map[uuid.UUID][]uuid.UUID, error) {
	if ed, ok := sc.Roles().(store.RoleEditor); ok {
		return ed.Assignments(ctx)
	}
	return nil, nil
}


func (a *API) registerRBAC() {
	get := func(ctx context.Context, c *Caller, id uuid.UUID) (Role, error) {
		r, err := c.Scope.Roles().Get(ctx, id)
		if err != nil {
			return Role{}, err
		}
		as, err := assignments(ctx, c.Scope)
		return roleOut(r, as[r.ID]), err
	}
	Register(a, Resource[Role, RoleRequest]{
		Path: "rbac/roles/", Tag: "rbac", Model: "authentik_rbac.role", Required: []string{"name"},
		List: func(ctx context.Context, c *Caller, q Query) ([]Role, int, error) {
			rs, err := c.Scope.Roles().List(ctx)
			if err != nil {
				return nil, 0, err
			}
			as, err := assignments(ctx, c.Scope)
			if err != nil {
				return nil, 0, err
			}
			var out []Role
			for _, r := range rs {
				if strings.Contains(strings.ToLower(r.Name), strings.ToLower(q.Search)) {
					out = append(out, roleOut(r, as[r.ID]))
				}
			}
			return slicePage(out, q.Page), len(out), nil
		},
		Get: get,
		Create: func(ctx context.Context, c *Caller, in *RoleRequest) (Role, error) {
			r := &store.Role{Name: *in.Name}
			if in.Permissions != nil {
				r.Permissions = *in.Permissions
			}
			if err := a.as(c).CreateRole(ctx, c.Scope, r); err != nil {
				return Role{}, err
			}
			return roleOut(r, nil), nil
		},
		Update: func(ctx context.Context, c *Caller, id uuid.UUID, version int64, in *RoleRequest) (Role, error) {
			cur, err := c.Scope.Roles().Get(ctx, id)
			if err != nil {
				return Role{}, err
			}
			if err := checkVersion(version, roleVersion(cur)); err != nil {
				return Role{}, err
			}
			if _, err := a.as(c).UpdateRole(ctx, c.Scope, id, in.Name, in.Permissions); err != nil {
				return Role{}, err
			}
			return get(ctx, c, id)
		},
		Delete:       func(ctx context.Context, c *Caller, id uuid.UUID) error { return a.as(c).DeleteRole(ctx, c.Scope, id) },
		DomainWrites: true,
	})
	for _, op := range []struct{ path, verb string }{{"assign", "Assign the role to a group"}, {"unassign", "Take the role from a group"}} {
		Action(a, http.MethodPost, "rbac/roles/{id}/"+op.path+"/", "rbac", "rbac_roles_"+op.path+"_create",
			op.verb+" (needs change_group too; assigning needs every permission of the role)", "authentik_rbac.change_role",
			http.StatusNoContent, func(ctx context.Context, c *Caller, r *http.Request, in *RoleAssignRequest) (*struct{}, error) {
				return nil, a.assignRole(ctx, c, r, in, op.path == "assign")
			})
	}
	Action(a, http.MethodGet, "rbac/permissions/", "rbac", "rbac_permissions_list",
		"Every permission the API checks, all on one page", "authentik_rbac.view_role", http.StatusOK,
		func(ctx context.Context, c *Caller, r *http.Request, _ *struct{}) (*PermissionList, error) {
			out := &PermissionList{Results: []Permission{}}
			for _, p := range a.Permissions() {
				out.Results = append(out.Results, permissionOut(p))
			}
			n := len(out.Results)
			out.Pagination = Pagination{Count: n, Current: 1, TotalPages: 1, StartIndex: min(1, n), EndIndex: n}
			return out, nil
		})
}

func (a *API) assignRole(ctx context.Context, c *Caller, r *http.Request, in *RoleAssignRequest, assign bool) error {
	if !c.Can("authentik_core.change_group") {
		return forbidden("authentik_core.change_group")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if in.Group == nil {
		return store.Invalid("group", "this field is required")
	}
	if _, err := c.Scope.Roles().Get(ctx, id); err != nil {
		return err
	}
	g, err := c.Scope.Groups().Get(ctx, *in.Group)
	if errors.Is(err, store.ErrNotFound) {
		return store.Invalid("group", "no such group")
	} else if err != nil {
		return err
	}
	// The group gains the role's permissions, global and on single objects.
	if assign {
		return a.as(c).AssignRole(ctx, c.Scope, id, g.ID)
	}
	return a.as(c).UnassignRole(ctx, c.Scope, id, g.ID)
}

// slicePage cuts one page out of a list built in memory.
func slicePage[T any](all []T, p store.Page) []T {
	p = p.Normalize()
	if p.Offset() >= len(all) {
		return nil
	}
	return all[p.Offset():min(len(all), p.Offset()+p.Size)]
}
