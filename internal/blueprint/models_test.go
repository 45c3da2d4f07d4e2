package blueprint_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const directory = `
version: 1
entries:
	- model: authentik_core.group
		id: staff
		identifiers: {name: staff}
		attrs: {attributes: {team: core, level: 2}}
	- model: authentik_core.group
		id: admins
		identifiers: {name: admins}
		attrs: {is_superuser: true, parent: !KeyOf staff}
	- model: authentik_core.user
		id: alice
		identifiers: {username: alice}
		attrs:
			name: Alice
			email: alice@example.com
			password: !Env [ALICE_PASSWORD, correct horse]
			groups: [!KeyOf admins]
			attributes: {settings: {locale: en}}
	- model: authentik_flows.flow
		id: flow
		identifiers: {slug: signup}
		attrs: {name: Sign up, designation: enrollment}
	- model: authentik_policies.policybinding
		identifiers: {target: !KeyOf flow, group: !KeyOf staff, order: 0}
	- model: authentik_policies.policybinding
		identifiers: {target: !KeyOf flow, user: !KeyOf alice, order: 1}
		attrs: {negate: true, enabled: false}
	- model: authentik_stages_invitation.invitation
		identifiers: {name: welcome-alice}
		attrs:
			flow: !KeyOf flow
			single_use: true
			expires: 2031-01-31T12:00:00Z
			fixed_data: {email: alice@example.com}
`

func TestDirectoryModels(t *testing.T) {
	sc := newScope(t)
	ctx := context.Background()
	hashed := 0
	opt := blueprint.Options{HashPassword: func(p string) (string, error) {
		hashed++
		return "$test$" + p, nil
	}}
	if res := mustApply(t, sc, directory, opt); res.Created != 7 {
		t.Fatalf("result = %+v, want 7 created", res)
	}
	staff, _ := sc.Groups().GetByName(ctx, "staff")
	admins, err := sc.Groups().GetByName(ctx, "admins")
	if err != nil || !admins.IsSuperuser || admins.ParentID.UUID != staff.ID || staff.Attributes["team"] != "core" {
		t.Errorf("groups = %+v %+v, %v", staff, admins, err)
	}
	alice, err := sc.Users().GetByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if alice.Name != "Alice" || alice.Type != store.UserInternal || !alice.IsActive || alice.PasswordHash != "$test$correct horse" {
		t.Errorf("alice = %+v", alice)
	}
	gs, _ := sc.Groups().ForUser(ctx, alice.ID, false)
	if len(gs) != 1 || gs[0].ID != admins.ID {
		t.Errorf("alice's groups = %v, want [admins]", gs)
	}
	pbs, _ := sc.PolicyBindings().ListForTargets(ctx, flow(t, sc, "signup").ID)
	if len(pbs) != 2 || pbs[0].GroupID.UUID != staff.ID || pbs[1].UserID.UUID != alice.ID ||
		!pbs[1].Negate || pbs[1].Enabled {
		t.Errorf("policy bindings = %+v", pbs)
	}
	invs, _, _ := sc.Invitations().List(ctx, store.Page{})
	if len(invs) != 1 || invs[0].FlowSlug != "signup" || !invs[0].SingleUse ||
		!invs[0].Expires.Equal(time.Date(2031, 1, 31, 12, 0, 0, 0, time.UTC)) || invs[0].FixedData["email"] != "alice@example.com" {
		t.Errorf("invitations = %+v", invs)
	}

	// Again: nothing changes, and the password is not hashed again.
	before := alice.Version
	if res := mustApply(t, sc, directory, opt); res != (blueprint.Result{Unchanged: 7}) {
		t.Errorf("second apply = %+v, want 7 unchanged", res)
	}
	if a, _ := sc.Users().Get(ctx, alice.ID); a.Version != before || hashed != 1 {
		t.Errorf("alice version %d -> %d, hashed %d times; want unchanged, hashed once", before, a.Version, hashed)
	}

	// A new blueprint password never overwrites the user's own.
	opt.Env = func(string) (string, bool) { return "new password", true }
	mustApply(t, sc, directory, opt)
	if a, _ := sc.Users().Get(ctx, alice.ID); a.PasswordHash != "$test$correct horse" {
		t.Errorf("password hash = %q, want the first one kept", a.PasswordHash)
	}
	// An invitation that changes keeps its ID (it is what links carry).
	mustApply(t, sc, strings.Replace(directory, "single_use: true", "single_use: false", 1), opt)
	inv, err := sc.Invitations().Get(ctx, invs[0].ID)
	if err != nil || inv.SingleUse {
		t.Errorf("invitation after update = %+v, %v; want same ID, single_use false", inv, err)
	}
	// groups is the complete list.
	mustApply(t, sc, strings.Replace(directory, "groups: [!KeyOf admins]", "groups: [!KeyOf staff]", 1), opt)
	if gs, _ := sc.Groups().ForUser(ctx, alice.ID, false); len(gs) != 1 || gs[0].ID != staff.ID {
		t.Errorf("alice's groups = %v, want [staff] only", gs)
	}
}

func TestUserPasswordNeedsAHasher(t *testing.T) {
	sc := newScope(t)
	_, err := blueprint.Apply(context.Background(), sc, mustParse(t, `
version: 1
entries:
	- model: authentik_core.user
		identifiers: {username: bob}
		attrs: {password: secret}
`), blueprint.Options{})
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "password") {
		t.Errorf("error = %v, want a validation error on password", err)
	}
	if _, err := sc.Users().GetByUsername(context.Background(), "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob: %v, want not found", err)
	}
}

func TestUnknownAttributesAreErrors(t *testing.T) {
	sc := newScope(t)
	_, err := blueprint.Apply(context.Background(), sc, mustParse(t, `
version: 1
entries:
	- model: authentik_flows.flow
		identifiers: {slug: x}
		attrs: {name: X, designation: authentication, compatibility_mode: true, titel: Typo}
`), blueprint.Options{})
	if err == nil || !strings.Contains(err.Error(), "titel") || !strings.Contains(err.Error(), "not a supported field") {
		t.Errorf("error = %v, want titel named as unsupported (compatibility_mode is accepted)", err)
	}
}

func TestLookupByPK(t *testing.T) {
	sc := newScope(t)
	ctx := context.Background()
	mustApply(t, sc, loginFlow, blueprint.Options{})
	f := flow(t, sc, "test-login")
	// pk finds our object; the other identifiers are ignored when it does.
	res := mustApply(t, sc, `
version: 1
entries:
	- model: authentik_flows.flow
		identifiers: {pk: `+f.ID.String()+`, slug: renamed}
		attrs: {title: By pk}
`, blueprint.Options{})
	if res.Updated != 1 || flow(t, sc, "renamed").Title != "By pk" {
		t.Errorf("result = %+v, want the flow found by pk and renamed", res)
	}
	// A pk from another installation is not used for the new object
	// (IDs are unique across tenants); the other identifiers find it next time.
	src := `
version: 1
entries:
	- model: authentik_flows.flow
		identifiers: {pk: 1219d06e-2c06-4c5b-a162-78e3959c6cf0, slug: imported}
		attrs: {name: Imported, designation: recovery}
`
	mustApply(t, sc, src, blueprint.Options{})
	if got := flow(t, sc, "imported").ID.String(); got == "1219d06e-2c06-4c5b-a162-78e3959c6cf0" {
		t.Errorf("the new flow took the blueprint's pk")
	}
	if res := mustApply(t, sc, src, blueprint.Options{}); res.Unchanged != 1 {
		t.Errorf("re-apply = %+v, want unchanged", res)
	}
	if _, err := sc.Flows().Get(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
}

func TestFindWithSeveralFields(t *testing.T) {
	sc := newScope(t)
	mustApply(t, sc, loginFlow, blueprint.Options{})
	got, err := probe(t, sc, "", "[!Find [authentik_flows.flow, [slug, test-login], [designation, authentication]], "+
		"!Find [authentik_flows.flow, [slug, test-login], [designation, recovery]], "+
		"!Find [authentik_stages_identification.identificationstage, [name, test-ident]], "+
		"!Find [authentik_stages_password.passwordstage, [name, test-ident]]]", blueprint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := got.([]any)
	if l[0] != flow(t, sc, "test-login").ID.String() || l[1] != nil || l[2] != stage(t, sc, "test-ident").ID.String() || l[3] != nil {
		t.Errorf("finds = %v, want [flow, null, stage, null (wrong kind)]", l)
	}
}
