package blueprint_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// loginFlow is a small but complete blueprint: a flow, two stages, a
// policy, two stage bindings and a policy binding.
const loginFlow = `
version: 1
metadata:
	name: Test login
entries:
	- model: authentik_flows.flow
		id: flow
		identifiers: {slug: test-login}
		attrs: {name: Test login, title: Log in, designation: authentication}
	- model: authentik_stages_identification.identificationstage
		id: ident
		identifiers: {name: test-ident}
		attrs: {user_fields: [username]}
	- model: authentik_stages_user_login.userloginstage
		id: login
		identifiers: {name: test-login}
		attrs: {session_duration: seconds=0}
	- model: authentik_policies_expression.expressionpolicy
		id: policy
		identifiers: {name: test-policy}
		attrs:
			expression: return True
	- model: authentik_flows.flowstagebinding
		id: ident-binding
		identifiers: {target: !KeyOf flow, stage: !KeyOf ident, order: 10}
	- model: authentik_flows.flowstagebinding
		identifiers: {target: !KeyOf flow, stage: !KeyOf login, order: 100}
		attrs: {evaluate_on_plan: true, re_evaluate_policies: false}
	- model: authentik_policies.policybinding
		identifiers: {target: !KeyOf ident-binding, policy: !KeyOf policy, order: 0}
		attrs: {timeout: 10, failure_result: true}
`

func TestApplyCreatesWhatTheBlueprintDeclares(t *testing.T) {
	sc := newScope(t)
	ctx := context.Background()
	res := mustApply(t, sc, loginFlow, blueprint.Options{})
	if res != (blueprint.Result{Created: 7}) {
		t.Errorf("result = %+v, want 7 created", res)
	}
	f := flow(t, sc, "test-login")
	if f.Name != "Test login" || f.Title != "Log in" || f.Designation != "authentication" || f.Authentication != "none" {
		t.Errorf("flow = %+v", f)
	}
	ident := stage(t, sc, "test-ident")
	if ident.Kind != "identification" || string(ident.Config) != `{"user_fields":["username"]}` {
		t.Errorf("identification stage = %s %s, want identification with its attrs as config", ident.Kind, ident.Config)
	}
	binds, err := sc.FlowStageBindings().ListForFlow(ctx, f.ID)
	if err != nil || len(binds) != 2 {
		t.Fatalf("bindings = %v, %v; want 2", binds, err)
	}
	if b := binds[0]; b.StageID != ident.ID || b.Order != 10 || b.EvaluateOnPlan || !b.ReEvaluatePolicies ||
		b.PolicyEngineMode != "any" || b.InvalidResponseAction != "retry" {
		t.Errorf("binding 0 = %+v, want Authentik's defaults", b)
	}
	if b := binds[1]; !b.EvaluateOnPlan || b.ReEvaluatePolicies {
		t.Errorf("binding 1 = %+v, want the attrs given", b)
	}
	pbs, err := sc.PolicyBindings().ListForTargets(ctx, binds[0].ID)
	if err != nil || len(pbs) != 1 {
		t.Fatalf("policy bindings = %v, %v", pbs, err)
	}
	pol, _ := sc.Policies().GetByName(ctx, "test-policy")
	if b := pbs[0]; b.PolicyID.UUID != pol.ID || !b.Enabled || b.Timeout != 10*time.Second || !b.FailureResult {
		t.Errorf("policy binding = %+v", b)
	}
}

// versions snapshots the version of everything loginFlow creates.
func versions(t *testing.T, sc store.Scope) []int64 {
	t.Helper()
	ctx := context.Background()
	f := flow(t, sc, "test-login")
	out := []int64{f.Version, stage(t, sc, "test-ident").Version, stage(t, sc, "test-login").Version}
	binds, _ := sc.FlowStageBindings().ListForFlow(ctx, f.ID)
	for _, b := range binds {
		out = append(out, b.Version)
	}
	pbs, _ := sc.PolicyBindings().ListForTargets(ctx, binds[0].ID)
	for _, b := range pbs {
		out = append(out, b.Version)
	}
	return out
}

func TestApplyTwiceChangesNothing(t *testing.T) {
	sc := newScope(t)
	mustApply(t, sc, loginFlow, blueprint.Options{})
	before := versions(t, sc)
	res := mustApply(t, sc, loginFlow, blueprint.Options{})
	if res != (blueprint.Result{Unchanged: 7}) {
		t.Errorf("second apply = %+v, want 7 unchanged", res)
	}
	if after := versions(t, sc); !equal(before, after) {
		t.Errorf("versions moved from %v to %v on a no-op apply", before, after)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPresentUpdatesOnlyTheGivenAttributes(t *testing.T) {
	sc := newScope(t)
	ctx := context.Background()
	mustApply(t, sc, loginFlow, blueprint.Options{})
	// An admin edits a setting the blueprint does not mention.
	ident := stage(t, sc, "test-ident")
	if _, err := sc.Stages().Update(ctx, ident.ID, func(o *store.Object) error {
		o.Config = []byte(`{"user_fields":["username"],"pretend_user_exists":false}`)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	res := mustApply(t, sc, strings.Replace(loginFlow, "user_fields: [username]", "user_fields: [email]", 1), blueprint.Options{})
	if res.Updated != 1 || res.Unchanged != 6 {
		t.Errorf("result = %+v, want 1 updated, 6 unchanged", res)
	}
	if got := string(stage(t, sc, "test-ident").Config); got != `{"pretend_user_exists":false,"user_fields":["email"]}` {
		t.Errorf("config = %s, want user_fields replaced and the admin's other setting kept", got)
	}
}

func TestOnlyCreateLeavesAnAdminsEditsAlone(t *testing.T) {
	sc := newScope(t)
	ctx := context.Background()
	mustApply(t, sc, loginFlow, blueprint.Options{OnlyCreate: true})
	f := flow(t, sc, "test-login")
	if _, err := sc.Flows().Update(ctx, f.ID, func(f *store.Flow) error { f.Title = "Our portal"; return nil }); err != nil {
		t.Fatal(err)
	}
	ident := stage(t, sc, "test-ident")
	if _, err := sc.Stages().Update(ctx, ident.ID, func(o *store.Object) error {
		o.Config = []byte(`{"user_fields":["email"]}`)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	res := mustApply(t, sc, loginFlow, blueprint.Options{OnlyCreate: true})
	if res != (blueprint.Result{Unchanged: 7}) {
		t.Errorf("result = %+v, want 7 unchanged", res)
	}
	if got := flow(t, sc, "test-login").Title; got != "Our portal" {
		t.Errorf("title = %q, want the admin's %q", got, "Our portal")
	}
	if got := string(stage(t, sc, "test-ident").Config); got != `{"user_fields":["email"]}` {
		t.Errorf("config = %s, want the admin's", got)
	}
	// Without OnlyCreate, present restores the blueprint's values.
	mustApply(t, sc, loginFlow, blueprint.Options{})
	if got := flow(t, sc, "test-login").Title; got != "Log in" {
		t.Errorf("title after a normal apply = %q, want %q", got, "Log in")
	}
}

func TestStates(t *testing.T) {
	sc := newScope(t)
	ctx := context.Background()
	entry := func(state, title string) string {
		return `
version: 1
entries:
	- model: authentik_flows.flow
		state: ` + state + `
		identifiers: {slug: s}
		attrs: {name: S, title: ` + title + `, designation: authentication}
`
	}
	if res := mustApply(t, sc, entry("created", "one"), blueprint.Options{}); res.Created != 1 {
		t.Errorf("created on a missing flow = %+v, want created", res)
	}
	if res := mustApply(t, sc, entry("created", "two"), blueprint.Options{}); res.Unchanged != 1 || flow(t, sc, "s").Title != "one" {
		t.Errorf("created on an existing flow = %+v, title %q; want unchanged, one", res, flow(t, sc, "s").Title)
	}
	_, err := blueprint.Apply(ctx, sc, mustParse(t, entry("must_created", "three")), blueprint.Options{})
	if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "entries[0]") {
		t.Errorf("must_created on an existing flow: %v, want an 'already exists' error naming the entry", err)
	}
	if res := mustApply(t, sc, entry("present", "four"), blueprint.Options{}); res.Updated != 1 || flow(t, sc, "s").Title != "four" {
		t.Errorf("present on an existing flow = %+v, want updated", res)
	}
	if res := mustApply(t, sc, entry("absent", "x"), blueprint.Options{}); res.Deleted != 1 {
		t.Errorf("absent on an existing flow = %+v, want deleted", res)
	}
	if _, err := sc.Flows().GetBySlug(ctx, "s"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("flow after absent: %v, want not found", err)
	}
	if res := mustApply(t, sc, entry("absent", "x"), blueprint.Options{}); res.Unchanged != 1 {
		t.Errorf("absent on a missing flow = %+v, want unchanged", res)
	}
	if res := mustApply(t, sc, entry("must_created", "five"), blueprint.Options{}); res.Created != 1 {
		t.Errorf("must_created on a missing flow = %+v, want created", res)
	}
}

func TestConditionsSkipEntries(t *testing.T) {
	sc := newScope(t)
	res := mustApply(t, sc, `
version: 1
context:
	with_logout: false
entries:
	- model: authentik_stages_user_logout.userlogoutstage
		conditions: [!Context with_logout]
		identifiers: {name: logout}
	- model: authentik_stages_deny.denystage
		conditions: [true, !Condition [OR, !Context with_logout, true]]
		identifiers: {name: deny}
`, blueprint.Options{})
	if res != (blueprint.Result{Created: 1, Skipped: 1}) {
		t.Errorf("result = %+v, want 1 created, 1 skipped", res)
	}
	if _, err := sc.Stages().GetByName(context.Background(), "logout"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("skipped stage: %v, want not found", err)
	}
}

func TestAFailingEntryRollsBackTheWholeBlueprint(t *testing.T) {
	sc := newScope(t)
	ctx := context.Background()
	src := loginFlow + `
	- model: authentik_flows.flowstagebinding
		identifiers: {target: !KeyOf flow, stage: !Find [authentik_stages_deny.denystage, [name, nope]], order: 5}
`
	_, err := blueprint.Apply(ctx, sc, mustParse(t, src), blueprint.Options{})
	if err == nil {
		t.Fatal("Apply succeeded with a binding to a missing stage")
	}
	for _, want := range []string{"test.yaml", "entries[7]", "authentik_flows.flowstagebinding", "stage"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := sc.Flows().GetBySlug(ctx, "test-login"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("flow after a failed apply: %v, want not found (rolled back)", err)
	}
	if list, n, _ := sc.Stages().List(ctx, store.ObjectQuery{}); n != 0 {
		t.Errorf("stages after a failed apply: %d (%v), want none", n, list)
	}
}

func TestApplyRefusesUnknownModels(t *testing.T) {
	sc := newScope(t)
	// An example blueprint parses, but applying it explicitly still fails
	// on the model we do not support, naming the entry.
	bp := mustParse(t, `
version: 1
metadata:
	labels: {blueprints.goauthentik.io/instantiate: "false"}
entries:
	- model: authentik_flows.flow
		identifiers: {slug: x}
		attrs: {name: X, designation: authentication}
	- model: authentik_sources_oauth.oauthsource
		identifiers: {slug: app}
`)
	_, err := blueprint.Apply(context.Background(), sc, bp, blueprint.Options{})
	if err == nil || !strings.Contains(err.Error(), "entries[1] (authentik_sources_oauth.oauthsource)") ||
		!strings.Contains(err.Error(), "line 8") || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("error = %v, want entries[1] (authentik_sources_oauth.oauthsource), line 8, not supported", err)
	}
}

func TestApplyRefusesUnknownModelsBeforeWriting(t *testing.T) {
	sc := newScope(t)
	// A blueprint meant to be applied is refused as a whole, even an entry
	// its conditions would skip, before its first entry is written.
	bp := mustParse(t, `
version: 1
entries:
	- model: authentik_flows.flow
		identifiers: {slug: a}
		attrs: {name: A, designation: authentication}
	- model: authentik_sources_oauth.oauthsource
		conditions: [false]
		identifiers: {slug: app}
`)
	_, err := blueprint.Apply(context.Background(), sc, bp, blueprint.Options{})
	for _, want := range []string{"entries[1] (authentik_sources_oauth.oauthsource)", "line 6", `model "authentik_sources_oauth.oauthsource" is not supported`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to contain %q", err, want)
		}
	}
	if _, err := sc.Flows().GetBySlug(context.Background(), "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("flow a after the refused apply: %v, want not found", err)
	}
}

func TestRegistryAddsModels(t *testing.T) {
	r := blueprint.NewRegistry()
	if slices.Contains(r.Names(), "example_things.thing") {
		t.Fatal("a fresh registry already has example_things.thing")
	}
	r.Register("example_things.thing", thingModel{})
	bp := mustParse(t, `
version: 1
entries:
	- model: example_things.thing
		identifiers: {name: one}
`)
	if _, err := blueprint.Apply(context.Background(), newScope(t), bp, blueprint.Options{}); err == nil ||
		!strings.Contains(err.Error(), "not supported") {
		t.Errorf("apply without the registry: %v, want not supported", err)
	}
	res, err := blueprint.Apply(context.Background(), newScope(t), bp, blueprint.Options{Models: r})
	if err != nil || res.Created != 1 {
		t.Errorf("apply with the registry: %+v, %v; want one created", res, err)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a name twice did not panic")
		}
	}()
	r.Register("example_things.thing", thingModel{})
}

// thingModel is a model that finds nothing and creates without storing.
type thingModel struct{}

func (thingModel) Find(context.Context, *blueprint.Tx, blueprint.Values) (uuid.UUID, bool, error) {
	return uuid.Nil, false, nil
}
func (thingModel) Create(context.Context, *blueprint.Tx, blueprint.Values) (uuid.UUID, error) {
	return uuid.New(), nil
}
func (thingModel) Update(context.Context, *blueprint.Tx, uuid.UUID, blueprint.Values) (bool, error) {
	return false, nil
}
func (thingModel) Delete(context.Context, *blueprint.Tx, uuid.UUID) error { return nil }

func TestValidateConfigHook(t *testing.T) {
	sc := newScope(t)
	var seen []string
	opt := blueprint.Options{ValidateConfig: func(family, kind string, cfg []byte) error {
		seen = append(seen, family+"/"+kind+" "+string(cfg))
		if kind == "identification" && strings.Contains(string(cfg), "phone") {
			return store.Invalid("user_fields", `"phone" is not one of email, username, upn`)
		}
		return nil
	}}
	mustApply(t, sc, loginFlow, opt)
	want := []string{
		`stage/identification {"user_fields":["username"]}`,
		`stage/user_login {"session_duration":"seconds=0"}`,
		`policy/expression {"expression":"return True"}`,
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("hook saw\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	_, err := blueprint.Apply(context.Background(), sc,
		mustParse(t, strings.Replace(loginFlow, "[username]", "[phone]", 1)), opt)
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "entries[1]") ||
		!strings.Contains(err.Error(), "phone") {
		t.Errorf("error = %v, want the hook's validation error on entries[1]", err)
	}
}

func TestPromptTypeIsTheKind(t *testing.T) {
	sc := newScope(t)
	ctx := context.Background()
	mustApply(t, sc, `
version: 1
entries:
	- model: authentik_stages_prompt.prompt
		identifiers: {name: p-email}
		attrs: {field_key: email, label: Email, type: email, required: true, order: 1, choices: [a, b]}
	# Authentik's example enrollment blueprint spells it prompt_type.
	- model: authentik_stages_prompt.prompt
		identifiers: {name: p-user}
		attrs: {field_key: username, label: Username, prompt_type: username}
`, blueprint.Options{})
	p, err := sc.Prompts().GetByName(ctx, "p-email")
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != "email" || string(p.Config) != `{"choices":["a","b"],"field_key":"email","label":"Email","order":1,"required":true,"type":"email"}` {
		t.Errorf("prompt = %s %s", p.Kind, p.Config)
	}
	p, _ = sc.Prompts().GetByName(ctx, "p-user")
	if p.Kind != "username" || !strings.Contains(string(p.Config), `"type":"username"`) {
		t.Errorf("prompt_type prompt = %s %s, want kind and type username", p.Kind, p.Config)
	}
	_, err = blueprint.Apply(ctx, sc, mustParse(t, `
version: 1
entries:
	- model: authentik_stages_prompt.prompt
		identifiers: {name: p-none}
		attrs: {field_key: x}
`), blueprint.Options{})
	if err == nil || !strings.Contains(err.Error(), "type") {
		t.Errorf("prompt without a type: %v, want an error naming type", err)
	}
}

func TestAStageNameHeldByAnotherKind(t *testing.T) {
	sc := newScope(t)
	mustApply(t, sc, "version: 1\nentries:\n  - model: authentik_stages_deny.denystage\n    identifiers: {name: shared}\n", blueprint.Options{})
	_, err := blueprint.Apply(context.Background(), sc, mustParse(t,
		"version: 1\nentries:\n  - model: authentik_stages_dummy.dummystage\n    identifiers: {name: shared}\n"), blueprint.Options{})
	if err == nil || !strings.Contains(err.Error(), `stage named "shared" already exists with kind deny`) {
		t.Errorf("error = %v, want it to say the name is a deny stage's", err)
	}
}

// The Changed hook announces a blueprint's writes inside its transaction:
// once per apply that changed something, never for an apply that changed
// nothing, and a hook that fails rolls the whole blueprint back.
func TestChangedHookJoinsTheTransaction(t *testing.T) {
	sc := newScope(t)
	calls := 0
	counting := blueprint.Options{Changed: func(ctx context.Context, tx store.Scope) error {
		calls++
		if _, err := tx.Flows().GetBySlug(ctx, "test-login"); err != nil {
			t.Errorf("the hook does not see the blueprint's writes: %v", err)
		}
		return nil
	}}
	mustApply(t, sc, loginFlow, counting)
	mustApply(t, sc, loginFlow, counting)
	if calls != 1 {
		t.Fatalf("Changed ran %d times for a creating apply and a no-op one, want once", calls)
	}

	other := newScope(t)
	boom := errors.New("boom")
	_, err := blueprint.Apply(context.Background(), other, mustParse(t, loginFlow), blueprint.Options{
		Changed: func(context.Context, store.Scope) error { return boom }})
	if !errors.Is(err, boom) {
		t.Fatalf("Apply with a failing hook = %v, want its error", err)
	}
	if _, err := other.Flows().GetBySlug(context.Background(), "test-login"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after the hook failed the flow is still stored (%v); want the blueprint rolled back", err)
	}
}
