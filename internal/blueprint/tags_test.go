package blueprint_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// probe applies a blueprint whose one entry is a dummy stage with attribute
// v set to expr, and returns v as stored. head is added before entries.
func probe(t *testing.T, sc store.Scope, head, expr string, opt blueprint.Options) (any, error) {
	t.Helper()
	name := fmt.Sprintf("probe-%d", probes.Add(1))
	src := "version: 1\n" + head + "entries:\n  - model: authentik_stages_dummy.dummystage\n" +
		"    identifiers: {name: " + name + "}\n    attrs:\n      v: " + expr + "\n"
	bp, err := blueprint.Parse("probe.yaml", []byte(src))
	if err != nil {
		return nil, err
	}
	if _, err := blueprint.Apply(context.Background(), sc, bp, opt); err != nil {
		return nil, err
	}
	return config(t, stage(t, sc, name))["v"], nil
}

var probes atomic.Int64

func TestTags(t *testing.T) {
	sc := newScope(t)
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"GH_TEST_HOST": "id.example.com"}[k]
		return v, ok
	}
	ctxHead := "context:\n  greeting: hello\n  count: 3\n"
	tests := []struct {
		name string
		head string
		expr string
		opt  blueprint.Options
		want any
	}{
		{"env set", "", "!Env GH_TEST_HOST", blueprint.Options{Env: env}, "id.example.com"},
		{"env default", "", "!Env [GH_TEST_MISSING, fallback]", blueprint.Options{Env: env}, "fallback"},
		{"env unset is null", "", "!Env GH_TEST_MISSING", blueprint.Options{Env: env}, nil},
		{"env without Options.Env reads nothing", "", "!Env [GH_TEST_HOST, fallback]", blueprint.Options{}, "fallback"},
		{"context from blueprint", ctxHead, "!Context greeting", blueprint.Options{}, "hello"},
		{"context from options wins", ctxHead, "!Context greeting",
			blueprint.Options{Context: map[string]any{"greeting": "hi"}}, "hi"},
		{"context default", ctxHead, "!Context [missing, dflt]", blueprint.Options{}, "dflt"},
		{"format", ctxHead, `!Format ["%s has %d items, 100%%", !Context greeting, !Context count]`,
			blueprint.Options{}, "hello has 3 items, 100%"},
		{"format python str", "", `!Format ["%s %s %s", null, true, 1.0]`, blueprint.Options{}, "None True 1.0"},
		{"if true", "", "!If [true, yes, no]", blueprint.Options{}, "yes"},
		{"if false", "", `!If ["", yes, no]`, blueprint.Options{}, "no"},
		{"if alone", "", "!If [[1]]", blueprint.Options{}, true},
		{"if with condition", "", "!If [!Condition [AND, true, false], yes, no]", blueprint.Options{}, "no"},
		{"if takes only the chosen branch", "", "!If [true, ok, !KeyOf nowhere]", blueprint.Options{}, "ok"},
		{"and", "", "!Condition [AND, true, 1, x]", blueprint.Options{}, true},
		{"or", "", "!Condition [OR, false, 0, x]", blueprint.Options{}, true},
		{"nand", "", "!Condition [NAND, true, true]", blueprint.Options{}, false},
		{"nor", "", "!Condition [NOR, false, '']", blueprint.Options{}, true},
		{"xor", "", "!Condition [XOR, true, true, true]", blueprint.Options{}, true},
		{"xnor", "", "!Condition [XNOR, true, false]", blueprint.Options{}, false},
		{"at index list", "", "!AtIndex [[a, b, c], -1]", blueprint.Options{}, "c"},
		{"at index map default", "", "!AtIndex [{a: 1}, b, none]", blueprint.Options{}, "none"},
		{"parse json", "", `!ParseJSON '{"a": [1, true]}'`, blueprint.Options{},
			map[string]any{"a": []any{float64(1), true}}},
		{"merge key", "", "{<<: {a: 1, b: 2}, b: 3}", blueprint.Options{}, map[string]any{"a": float64(1), "b": float64(3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := probe(t, sc, tt.head, tt.expr, tt.opt)
			if err != nil {
				t.Fatalf("%s: %v", tt.expr, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.expr, got, tt.want)
			}
		})
	}
}

func TestTagErrorsNameTheLine(t *testing.T) {
	sc := newScope(t)
	tests := []struct {
		expr string
		want string
	}{
		{"!KeyOf nowhere", "!KeyOf nowhere: no earlier entry with this id"},
		{`!Format ["%s %s", one]`, "not enough arguments"},
		{`!Format ["%s", one, two]`, "not all arguments converted"},
		{`!Format ["%x", 1]`, "unsupported format character"},
		{`!Format ["%d", abc]`, "a number is required"},
		{"!Condition [MAYBE, true]", `"MAYBE" must be one of`},
		{"!If [a, b]", "!If takes [condition, when_true, when_false]"},
		{"!Find [authentik_sources_oauth.oauthsource, [slug, x]]", "not supported"},
		{"!Find [authentik_flows.flow, [colour, blue]]", "colour"},
		{"!AtIndex [[a], 5]", "not found"},
		{"!ParseJSON '{'", "!ParseJSON"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := probe(t, sc, "", tt.expr, blueprint.Options{})
			if err == nil {
				t.Fatalf("%s succeeded, want an error containing %q", tt.expr, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "line 6") ||
				!strings.Contains(err.Error(), "entries[0]") {
				t.Errorf("%s: error %q, want entries[0], line 6 and %q", tt.expr, err, tt.want)
			}
		})
	}
}

func TestKeyOfAndFindResolveIDs(t *testing.T) {
	db := newSQLite(t)
	sc := newTenant(t, db, "a")
	other := newTenant(t, db, "b")
	ctx := context.Background()
	mustApply(t, other, `
version: 1
entries:
	- model: authentik_flows.flow
		identifiers: {slug: only-in-b}
		attrs: {name: B, designation: enrollment}
`, blueprint.Options{})
	mustApply(t, sc, `
version: 1
entries:
	- model: authentik_flows.flow
		id: flow
		identifiers: {slug: signup}
		attrs: {name: Sign up, designation: enrollment}
	- model: authentik_stages_prompt.prompt
		id: field
		identifiers: {name: field-username}
		attrs: {field_key: username, label: Username, type: username}
	- model: authentik_stages_prompt.promptstage
		identifiers: {name: prompt}
		attrs:
			fields: [!KeyOf field]
	- model: authentik_stages_identification.identificationstage
		identifiers: {name: ident}
		attrs:
			enrollment_flow: !Find [authentik_flows.flow, [slug, signup]]
			recovery_flow: !Find [authentik_flows.flow, [slug, no-such-flow]]
			passwordless_flow: !Find [authentik_flows.flow, [slug, only-in-b]]
`, blueprint.Options{})
	field, err := sc.Prompts().GetByName(ctx, "field-username")
	if err != nil {
		t.Fatal(err)
	}
	if got := config(t, stage(t, sc, "prompt"))["fields"]; !reflect.DeepEqual(got, []any{field.ID.String()}) {
		t.Errorf("fields = %v, want [%s] (the !KeyOf of the prompt)", got, field.ID)
	}
	cfg := config(t, stage(t, sc, "ident"))
	if want := flow(t, sc, "signup").ID.String(); cfg["enrollment_flow"] != want {
		t.Errorf("enrollment_flow = %v, want %s", cfg["enrollment_flow"], want)
	}
	if v, ok := cfg["recovery_flow"]; !ok || v != nil {
		t.Errorf("recovery_flow = %v (set %v), want null: !Find of a missing object is null", v, ok)
	}
	if v := cfg["passwordless_flow"]; v != nil {
		t.Errorf("passwordless_flow = %v, want null: !Find must not see another tenant's flow", v)
	}
}
