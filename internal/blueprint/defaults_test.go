package blueprint_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var defaultFlows = map[string]string{
	"default-authentication-flow":                     "authentication",
	"default-invalidation-flow":                       "invalidation",
	"default-enrollment-flow":                         "enrollment",
	"default-recovery-flow":                           "recovery",
	"default-user-settings-flow":                      "stage_configuration",
	"default-provider-authorization-explicit-consent": "authorization",
	"default-provider-authorization-implicit-consent": "authorization",
	"default-provider-invalidation-flow":              "invalidation",
	"initial-setup":                                   "stage_configuration",
}

func TestDefaultsApplyToAFreshTenant(t *testing.T) {
	sc := newScope(t)
	ctx := context.Background()
	res, err := blueprint.ApplyDefaults(ctx, sc, blueprint.Options{})
	if err != nil {
		t.Fatalf("ApplyDefaults: %v", err)
	}
	if res.Created == 0 || res.Updated != 0 || res.Deleted != 0 {
		t.Errorf("result = %+v, want only creations", res)
	}
	for slug, designation := range defaultFlows {
		if f := flow(t, sc, slug); f.Designation != designation {
			t.Errorf("%s: designation %q, want %q", slug, f.Designation, designation)
		}
	}
	f := flow(t, sc, "default-authentication-flow")
	if f.Title != "Welcome to gatehouse!" {
		t.Errorf("title = %q", f.Title)
	}
	binds, err := sc.FlowStageBindings().ListForFlow(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range binds {
		s, err := sc.Stages().Get(ctx, b.StageID)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s.Kind+"@"+strconv.Itoa(b.Order))
	}
	if want := []string{"identification@10", "password@20", "user_login@100"}; !reflect.DeepEqual(got, want) {
		t.Errorf("default-authentication-flow stages = %v, want %v", got, want)
	}
	ident := config(t, stage(t, sc, "default-authentication-identification"))
	if _, set := ident["enrollment_flow"]; set || !reflect.DeepEqual(ident["user_fields"], []any{"email", "username"}) {
		t.Errorf("identification config = %v, want user_fields [email username] and no enrollment flow", ident)
	}

	// The enrollment prompt stage validates with the password policy.
	prompt := config(t, stage(t, sc, "default-enrollment-prompt-first"))
	pol, err := sc.Policies().GetByName(ctx, "default-password-change-password-policy")
	if err != nil {
		t.Fatal(err)
	}
	if pc := config(t, pol); pc["length_min"] != float64(8) || pc["check_static_rules"] != true {
		t.Errorf("password policy = %v", pc)
	}
	if !reflect.DeepEqual(prompt["validation_policies"], []any{pol.ID.String()}) || len(prompt["fields"].([]any)) != 5 {
		t.Errorf("enrollment prompt stage = %v", prompt)
	}

	// initial-setup is guarded by the OOBE policy.
	setup := flow(t, sc, "initial-setup")
	pbs, _ := sc.PolicyBindings().ListForTargets(ctx, setup.ID)
	oobe, err := sc.Policies().GetByName(ctx, "default-oobe-password-usable")
	if err != nil || len(pbs) != 1 || pbs[0].PolicyID.UUID != oobe.ID || setup.DeniedAction != "message_continue" {
		t.Errorf("initial-setup policy bindings = %+v, %v", pbs, err)
	}

	// Every start applies them again: nothing changes.
	again, err := blueprint.ApplyDefaults(ctx, sc, blueprint.Options{})
	if err != nil || again.Created != 0 || again.Updated != 0 || again.Unchanged != res.Created+res.Unchanged {
		t.Errorf("second ApplyDefaults = %+v, %v; want all %d unchanged", again, err, res.Created+res.Unchanged)
	}
}

func TestDefaultsKeepAnAdminsChanges(t *testing.T) {
	sc := newScope(t)
	ctx := context.Background()
	if _, err := blueprint.ApplyDefaults(ctx, sc, blueprint.Options{}); err != nil {
		t.Fatal(err)
	}
	// The seed's walkthrough: enable sign-up on the identification stage.
	mustApply(t, sc, `
version: 1
entries:
	- model: authentik_stages_identification.identificationstage
		identifiers: {name: default-authentication-identification}
		attrs:
			enrollment_flow: !Find [authentik_flows.flow, [slug, default-enrollment-flow]]
`, blueprint.Options{})
	f := flow(t, sc, "default-authentication-flow")
	if _, err := sc.Flows().Update(ctx, f.ID, func(f *store.Flow) error { f.Title = "Acme login"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := blueprint.ApplyDefaults(ctx, sc, blueprint.Options{}); err != nil {
		t.Fatal(err)
	}
	if got := flow(t, sc, "default-authentication-flow").Title; got != "Acme login" {
		t.Errorf("title = %q, want the admin's", got)
	}
	cfg := config(t, stage(t, sc, "default-authentication-identification"))
	if cfg["enrollment_flow"] != flow(t, sc, "default-enrollment-flow").ID.String() {
		t.Errorf("identification config = %v, want the enrollment flow kept", cfg)
	}
	// A deleted default comes back.
	if err := sc.Flows().Delete(ctx, flow(t, sc, "default-invalidation-flow").ID); err != nil {
		t.Fatal(err)
	}
	res, err := blueprint.ApplyDefaults(ctx, sc, blueprint.Options{})
	if err != nil || res.Created != 2 { // the flow and its binding; the stage survived
		t.Errorf("ApplyDefaults after a deletion = %+v, %v; want 2 created", res, err)
	}
}

func TestDefaultsPerTenant(t *testing.T) {
	db := newSQLite(t)
	a, b := newTenant(t, db, "a"), newTenant(t, db, "b")
	ctx := context.Background()
	for _, sc := range []store.Scope{a, b} {
		if _, err := blueprint.ApplyDefaults(ctx, sc, blueprint.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	fa, fb := flow(t, a, "default-authentication-flow"), flow(t, b, "default-authentication-flow")
	if fa.ID == fb.ID {
		t.Fatal("two tenants share one flow")
	}
	if _, err := a.Flows().Update(ctx, fa.ID, func(f *store.Flow) error { f.Title = "A"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := flow(t, b, "default-authentication-flow").Title; got != "Welcome to gatehouse!" {
		t.Errorf("tenant b's title = %q after tenant a's edit", got)
	}
	// b's bindings point at b's stages.
	binds, _ := b.FlowStageBindings().ListForFlow(ctx, fb.ID)
	for _, bd := range binds {
		if _, err := b.Stages().Get(ctx, bd.StageID); err != nil {
			t.Errorf("tenant b binding %v names a stage outside b: %v", bd.StageID, err)
		}
	}
}

func TestDefaultsParse(t *testing.T) {
	bps, err := blueprint.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	if len(bps) != 10 {
		t.Errorf("got %d default blueprints, want 10 (9 flows, the OAuth2 scope mappings)", len(bps))
	}
	for _, bp := range bps {
		if !bp.Instantiate() || bp.Metadata.Name == "" {
			t.Errorf("%s: instantiate %v, name %q", bp.Name, bp.Instantiate(), bp.Metadata.Name)
		}
	}
}

func TestADefaultThatCannotApplyDoesNotStopTheOthers(t *testing.T) {
	sc := newScope(t)
	ctx := context.Background()
	// An admin gave a default stage's name to a stage of another kind.
	if err := sc.Stages().Create(ctx, &store.Object{Name: "default-invalidation-logout", Kind: "deny"}); err != nil {
		t.Fatal(err)
	}
	res, err := blueprint.ApplyDefaults(ctx, sc, blueprint.Options{})
	if err == nil || !strings.Contains(err.Error(), "flow-default-invalidation-flow.yaml") ||
		!strings.Contains(err.Error(), "already exists with kind deny") {
		t.Errorf("error = %v, want it to name the blueprint and the clash", err)
	}
	if res.Created == 0 {
		t.Errorf("result = %+v, want the other defaults created", res)
	}
	flow(t, sc, "default-authentication-flow")
	if _, err := sc.Flows().GetBySlug(ctx, "default-invalidation-flow"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("default-invalidation-flow: %v, want it rolled back with its blueprint", err)
	}
}
