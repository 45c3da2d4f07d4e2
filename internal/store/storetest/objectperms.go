package storetest

import (
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testObjectPermissions: a role's permissions on single objects reach the
// members of its groups (through parents too), can be taken back, are
// listed by role and by object, and stay in their tenant.
func testObjectPermissions(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	r := &store.Role{Name: "owners"}
	noErr(t, "create role", sc.Roles().Create(ctx, r))
	parent := mustGroup(t, sc, "staff", nil)
	child := mustGroup(t, sc, "support", parent)
	u := mustUser(t, sc, "erin")
	noErr(t, "AddMember", sc.Groups().AddMember(ctx, child.ID, u.ID))
	noErr(t, "AssignToGroup", sc.Roles().AssignToGroup(ctx, r.ID, parent.ID))
	app1, app2 := uuid.New(), uuid.New()
	noErr(t, "assign", sc.Roles().AssignObjectPermissions(ctx, r.ID, app1, []string{"authentik_core.view_application",
		"authentik_core.change_application", "authentik_core.view_application"}))
	noErr(t, "assign again", sc.Roles().AssignObjectPermissions(ctx, r.ID, app2, []string{"authentik_core.view_application"}))
	wantErr(t, "bad name", sc.Roles().AssignObjectPermissions(ctx, r.ID, app1, []string{"DROP TABLE"}), store.ErrInvalid)
	wantErr(t, "missing role", sc.Roles().AssignObjectPermissions(ctx, uuid.New(), app1, []string{"authentik_core.view_application"}), store.ErrNotFound)

	got, err := sc.Roles().ObjectPermissionsForUser(ctx, u.ID)
	noErr(t, "ForUser", err)
	if len(got) != 3 {
		t.Fatalf("through the parent group: want 3 object permissions, got %+v", got)
	}
	if on, _ := sc.Roles().ObjectPermissions(ctx, uuid.Nil, app1); len(on) != 2 || on[0].RoleID != r.ID {
		t.Errorf("on app1: want 2 of owners, got %+v", on)
	}
	if of, _ := sc.Roles().ObjectPermissions(ctx, r.ID, uuid.Nil); len(of) != 3 {
		t.Errorf("of owners: want 3, got %+v", of)
	}
	noErr(t, "unassign", sc.Roles().UnassignObjectPermissions(ctx, r.ID, app1, []string{"authentik_core.change_application"}))
	if on, _ := sc.Roles().ObjectPermissions(ctx, uuid.Nil, app1); len(on) != 1 || on[0].Permission != "authentik_core.view_application" {
		t.Errorf("after unassign: want view only, got %+v", on)
	}

	other := mustTenant(t, s, "other")
	if of, _ := other.Roles().ObjectPermissions(ctx, r.ID, uuid.Nil); len(of) != 0 {
		t.Errorf("another tenant sees %d object permissions", len(of))
	}
	wantErr(t, "another tenant's role", other.Roles().AssignObjectPermissions(ctx, r.ID, app1, []string{"authentik_core.view_application"}), store.ErrNotFound)

	noErr(t, "delete role", sc.Roles().Delete(ctx, r.ID))
	if got, _ := sc.Roles().ObjectPermissionsForUser(ctx, u.ID); len(got) != 0 {
		t.Errorf("after deleting the role: %+v", got)
	}
}
