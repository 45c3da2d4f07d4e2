package api

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ObjectPermissionRequest names permissions on one object, as Authentik's
// rbac/permissions/assigned_by_roles/{role}/assign/ takes them. Without
// model and object_pk the permissions are the role's global ones.
type ObjectPermissionRequest struct {
	Permissions *[]string  `json:"permissions" doc:"full names, such as authentik_core.view_application"`
	Model       *string    `json:"model,omitempty" doc:"the object's model, such as authentik_core.application"`
	ObjectPK    *uuid.UUID `json:"object_pk,omitempty" doc:"the object's ID"`
}

// RoleObjectPermissions is a role with what it holds on the object asked
// about.
type RoleObjectPermissions struct {
	PK          uuid.UUID `json:"pk" doc:"the role"`
	Name        string    `json:"name"`
	Permissions []string  `json:"permissions"`
}

// RoleObjectPermissionList answers rbac/permissions/assigned_by_roles/.
type RoleObjectPermissionList struct {
	Results []RoleObjectPermissions `json:"results"`
}

// registerObjectPermissions adds Authentik's object permission endpoints:
// which roles hold what on an object, and assigning or taking back
// permissions on one object. Assigning needs every permission given, on
// that object at least: nobody hands out more than they hold.
func (a *API) registerObjectPermissions() {
	const base = "rbac/permissions/assigned_by_roles/"
	Action(a, http.MethodGet, base, "rbac", "rbac_permissions_assigned_by_roles_list",
		"Roles holding permissions on one object (model and object_pk query parameters)", "authentik_rbac.view_role", http.StatusOK,
		func(ctx context.Context, c *Caller, r *http.Request, _ *struct{}) (*RoleObjectPermissionList, error) {
			q := r.URL.Query()
			model := q.Get("model")
			id, err := uuid.Parse(q.Get("object_pk"))
			if err != nil {
				return nil, store.Invalid("object_pk", "must be the object's ID")
			}
			if _, ok := a.getters[model]; !ok {
				return nil, store.Invalid("model", "%q is not a model with objects", model)
			}
			ops, err := c.Scope.Roles().ObjectPermissions(ctx, uuid.Nil, id)
			if err != nil {
				return nil, err
			}
			out := &RoleObjectPermissionList{Results: []RoleObjectPermissions{}}
			for _, op := range ops {
				if modelOf(op.Permission) != model {
					continue
				}
				if n := len(out.Results); n > 0 && out.Results[n-1].PK == op.RoleID {
					out.Results[n-1].Permissions = append(out.Results[n-1].Permissions, op.Permission)
					continue
				}
				role, err := c.Scope.Roles().Get(ctx, op.RoleID)
				if err != nil {
					return nil, err
				}
				out.Results = append(out.Results, RoleObjectPermissions{PK: role.ID, Name: role.Name, Permissions: []string{op.Permission}})
			}
			return out, nil
		})
	for _, op := range []struct {
		method, path, perm, summary string
		assign                      bool
	}{
		{http.MethodPost, "assign", "authentik_rbac.assign_role_permissions", "Give a role permissions, on one object or globally", true},
		{http.MethodPatch, "unassign", "authentik_rbac.unassign_role_permissions", "Take permissions from a role, on one object or globally", false},
	} {
		Action(a, op.method, base+"{id}/"+op.path+"/", "rbac", "rbac_permissions_assigned_by_roles_"+op.path, op.summary,
			op.perm, http.StatusNoContent, func(ctx context.Context, c *Caller, r *http.Request, in *ObjectPermissionRequest) (*struct{}, error) {
				return nil, a.assignObjectPermissions(ctx, c, r, in, op.assign)
			})
	}
}

func (a *API) assignObjectPermissions(ctx context.Context, c *Caller, r *http.Request, in *ObjectPermissionRequest, assign bool) error {
	roleID, err := pathID(r)
	if err != nil {
		return err
	}
	if in.Permissions == nil || len(*in.Permissions) == 0 {
		return store.Invalid("permissions", "must name at least one permission")
	}
	perms := *in.Permissions
	global := in.Model == nil && in.ObjectPK == nil
	catalog := a.Permissions()
	v := &store.ValidationError{}
	for _, p := range perms {
		switch {
		case !slices.Contains(catalog, p):
			v.Add("permissions", "%q is not a permission the API checks", p)
		case !global && in.Model != nil && modelOf(p) != *in.Model:
			v.Add("permissions", "%q is not a permission on %s objects", p, *in.Model)
		}
	}
	if !global {
		switch {
		case in.Model == nil:
			v.Add("model", "is required with object_pk")
		case in.ObjectPK == nil:
			v.Add("object_pk", "is required with model")
		default:
			get, ok := a.getters[*in.Model]
			if !ok {
				v.Add("model", "%q is not a model with objects", *in.Model)
			} else if err := get(ctx, c, *in.ObjectPK); errors.Is(err, store.ErrNotFound) {
				v.Add("object_pk", "no %s with this ID", *in.Model)
			} else if err != nil {
				return err
			}
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	// Handing out is the guard's question (the role's holders must gain
	// nothing the caller lacks); taking away needs holding what is taken
	// (core.Writer.UnassignPermissions).
	p := core.Permissions{Names: perms}
	if !global {
		p.Model, p.Object = *in.Model, uuid.NullUUID{UUID: *in.ObjectPK, Valid: true}
	}
	if assign {
		return a.as(c).AssignPermissions(ctx, c.Scope, roleID, p)
	}
	return a.as(c).UnassignPermissions(ctx, c.Scope, roleID, p)
}
