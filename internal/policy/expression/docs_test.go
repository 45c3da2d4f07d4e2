package expression

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestDocExamples keeps docs/expressions.md honest: every python block
// compiles, and the tagged examples do what the text says.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/expressions.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```python\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	examples := map[string]*Program{}
	for _, b := range blocks {
		p, err := Compile("doc", b[1])
		if err != nil {
			t.Errorf("doc block does not compile: %v\n%s", err, b[1])
			continue
		}
		if tag, ok := strings.CutPrefix(strings.SplitN(b[1], "\n", 2)[0], "# example: "); ok {
			examples[tag] = p
		}
	}
	h := directory()
	signUp := func(email string) Input {
		return Input{Context: map[string]any{"prompt_data": map[string]any{"email": email}}, Helpers: h}
	}
	tests := []struct {
		example      string
		in           Input
		want         any
		wantMessages []string
	}{
		{"deny-user", Input{User: bob, Helpers: h}, false, []string{"Bob is not allowed to use this application."}},
		{"deny-user", Input{User: alice, Helpers: h}, true, nil},
		{"allow-group", Input{User: alice, Helpers: h}, true, nil},
		{"allow-group", Input{User: bob, Helpers: h}, false, nil},
		{"email-domain", signUp("Carol@Example.com"), true, nil},
		{"email-domain", signUp("carol@gmail.com"), false, []string{"Please sign up with your example.com address."}},
		{"email-domain", Input{Helpers: h}, false, []string{"Please sign up with your example.com address."}},
		{"scope-mapping", Input{User: alice, Helpers: h}, map[string]any{"groups": []any{"admins", "eng"}, "nickname": "alice", "department": "eng"}, nil},
		{"scope-mapping", Input{User: bob, Helpers: h}, map[string]any{"groups": []any{"eng"}, "nickname": "bob", "department": ""}, nil},
	}
	for _, tt := range tests {
		p := examples[tt.example]
		if p == nil {
			t.Errorf("example %q is missing from the docs", tt.example)
			continue
		}
		out, err := p.Run(t.Context(), tt.in, Limits{})
		if err != nil || !reflect.DeepEqual(out.Value, tt.want) || !reflect.DeepEqual(out.Messages, tt.wantMessages) {
			t.Errorf("%s: got %#v, %q, %v; want %#v, %q", tt.example, out.Value, out.Messages, err, tt.want, tt.wantMessages)
		}
	}
}
