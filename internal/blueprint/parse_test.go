package blueprint_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
)

func TestParseErrorsNameLineAndEntry(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings of the error
	}{
		{"yaml syntax", "version: 1\nentries:\n\t- model: [unclosed\n", []string{"test.yaml", "line"}},
		{"empty", "", []string{"is empty"}},
		{"not a mapping", "- a\n- b\n", []string{"must be a mapping"}},
		{"no version", "entries: []\n", []string{"version is required"}},
		{"version 2", "version: 2\nentries: []\n", []string{"line 1", "version 2 is not supported"}},
		{"unknown top-level key", "version: 1\nentires: []\n", []string{"line 2", `unknown key "entires"`}},
		{"entry not a mapping", "version: 1\nentries:\n\t- just a string\n", []string{"entries[0]", "line 3"}},
		{"missing model", `
version: 1
entries:
	- identifiers: {slug: x}
`, []string{"entries[0]", "line 3", "model is required"}},
		{"missing identifiers", `
version: 1
entries:
	- model: authentik_flows.flow
		attrs: {name: x}
`, []string{"entries[0] (authentik_flows.flow)", "line 3", "identifiers are required"}},
		{"bad state", `
version: 1
entries:
	- model: authentik_flows.flow
		identifiers: {slug: a}
	- model: authentik_flows.flow
		state: gone
		identifiers: {slug: b}
`, []string{"entries[1] (authentik_flows.flow)", "line 6", `state "gone"`}},
		{"unknown entry key", `
version: 1
entries:
	- model: authentik_flows.flow
		identifers: {slug: a}
`, []string{"entries[0]", "line 4", `unknown key "identifers"`}},
		{"unknown tag", `
version: 1
entries:
	- model: authentik_flows.flow
		identifiers: {slug: a}
		attrs:
			name: !Shout hello
`, []string{"entries[0]", "line 6", "unknown tag !Shout"}},
		{"enumerate", `
version: 1
entries:
	- model: authentik_flows.flow
		identifiers: {slug: a}
		attrs:
			name: !Enumerate [[a, b], SEQ, !Value 0]
`, []string{"entries[0]", "line 6", "!Enumerate is not supported"}},
		{"file", `
version: 1
entries:
	- model: authentik_flows.flow
		identifiers: {slug: a}
		attrs:
			name: !File /etc/passwd
`, []string{"line 6", "!File is not supported"}},
		{"permissions", `
version: 1
entries:
	- model: authentik_flows.flow
		identifiers: {slug: a}
		permissions:
			- permission: view_flow
				role: x
`, []string{"line 5", "permissions are not supported"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := blueprint.Parse("test.yaml", yml(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var be *blueprint.Error
			if !errors.As(err, &be) {
				t.Errorf("error is %T, want *blueprint.Error", err)
			}
		})
	}
}

func TestParseReadsMetadataAndEntries(t *testing.T) {
	bp := mustParse(t, `
version: 1
metadata:
	name: Example
	labels:
		blueprints.goauthentik.io/instantiate: "false"
entries:
	flows:
		- model: authentik_flows.flow
			id: flow
			identifiers: {slug: a}
	stages:
		- model: authentik_stages_dummy.dummystage
			state: absent
			identifiers: {name: d}
		# Examples may use models we do not support: they are not applied
		# automatically, so Parse does not refuse them.
		- model: authentik_blueprints.metaapplyblueprint
			identifiers: {name: x}
`)
	if bp.Metadata.Name != "Example" || bp.Instantiate() {
		t.Errorf("metadata = %+v, instantiate %v; want Example, false", bp.Metadata, bp.Instantiate())
	}
	if len(bp.Entries) != 3 {
		t.Fatalf("got %d entries, want 3 (a mapping of lists is concatenated)", len(bp.Entries))
	}
	e := bp.Entries[1]
	if e.Index != 1 || e.Model != "authentik_stages_dummy.dummystage" || e.State != blueprint.StateAbsent || e.Line != 12 {
		t.Errorf("entry 1 = %+v", e)
	}
	if bp.Entries[0].ID != "flow" || bp.Entries[0].State != blueprint.StatePresent {
		t.Errorf("entry 0 = %+v, want id flow, state present by default", bp.Entries[0])
	}
}
