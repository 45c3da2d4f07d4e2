package blueprint_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
)

// quickly fails the test if fn takes more than a second: hostile input
// must be refused, not chewed on.
func quickly(t *testing.T, fn func() error) error {
	t.Helper()
	start := time.Now()
	err := fn()
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v, want well under a second", d)
	}
	return err
}

func TestHostileInput(t *testing.T) {
	bomb := `
version: 1
entries:
	- model: authentik_flows.flow
		identifiers: {slug: lol}
		attrs:
			name: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
			title: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
			layout: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
			background: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
			designation: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
			denied_action: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
			authentication: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
			policy_engine_mode: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
`
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"10 MB", []byte("version: 1\nentries: []\n# " + strings.Repeat("x", 10<<20) + "\n"), "more than the limit"},
		{"billion laughs", yml(bomb), "more than 200000 YAML nodes"},
		{"deep nesting", []byte("version: 1\nentries: " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)), "depth"},
		{"self-referencing alias", yml(`
version: 1
entries:
	- model: authentik_flows.flow
		identifiers: &x {slug: a, more: [*x]}
`), "contains it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := quickly(t, func() error {
				_, err := blueprint.Parse("hostile.yaml", tt.data)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// Many small entries within the limits apply in one go.
func TestManyEntries(t *testing.T) {
	sc := newScope(t)
	var b strings.Builder
	b.WriteString("version: 1\nentries:\n")
	for i := range 500 {
		b.WriteString("  - model: authentik_stages_dummy.dummystage\n    identifiers: {name: s" + strconv.Itoa(i) + "}\n")
	}
	res := mustApply(t, sc, b.String(), blueprint.Options{})
	if res.Created != 500 {
		t.Errorf("result = %+v, want 500 created", res)
	}
}

func TestReferencesStayInTheTenant(t *testing.T) {
	db := newSQLite(t)
	a, b := newTenant(t, db, "a"), newTenant(t, db, "b")
	ctx := context.Background()
	mustApply(t, b, loginFlow, blueprint.Options{})
	theirs := flow(t, b, "test-login").ID
	theirStage := stage(t, b, "test-ident").ID
	mustApply(t, a, `
version: 1
entries:
	- model: authentik_stages_deny.denystage
		identifiers: {name: mine}
`, blueprint.Options{})
	// IDs of another tenant's objects, written out, are not found here.
	for _, src := range []string{
		"version: 1\nentries:\n  - model: authentik_flows.flowstagebinding\n    identifiers: {target: " + theirs.String() +
			", stage: " + stage(t, a, "mine").ID.String() + ", order: 1}\n",
		"version: 1\nentries:\n  - model: authentik_flows.flowstagebinding\n    identifiers: {target: !Find [authentik_flows.flow, [pk, " +
			theirs.String() + "]], stage: " + theirStage.String() + ", order: 1}\n",
		"version: 1\nentries:\n  - model: authentik_stages_dummy.dummystage\n    state: absent\n    identifiers: {pk: " + theirStage.String() + "}\n",
		"version: 1\nentries:\n  - model: authentik_stages_identification.identificationstage\n    identifiers: {pk: " + theirStage.String() + "}\n    attrs: {user_fields: [email]}\n",
	} {
		res, err := blueprint.Apply(ctx, a, mustParse(t, src), blueprint.Options{})
		if err == nil && res.Deleted+res.Updated > 0 {
			t.Errorf("%s\n touched another tenant: %+v", src, res)
		}
	}
	if got := config(t, stage(t, b, "test-ident"))["user_fields"]; len(got.([]any)) != 1 || got.([]any)[0] != "username" {
		t.Errorf("tenant b's stage changed: %v", got)
	}
	binds, _ := b.FlowStageBindings().ListForFlow(ctx, theirs)
	if len(binds) != 2 {
		t.Errorf("tenant b's flow has %d bindings, want its own 2", len(binds))
	}
}
