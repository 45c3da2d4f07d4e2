package expression

import (
	"fmt"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// TestGuardsKeepStarlarkSemantics: the guarded operators, builtins and
// methods (work.go, collections.go) answer what Starlark's own do, or fail
// where they fail.
func TestGuardsKeepStarlarkSemantics(t *testing.T) {
	for _, src := range []string{
		`[1, 2] == [1, 2]`, `(1, "a") < (1, "b")`, `{"a": 1} != {"a": 2}`, `[1] < [1, 0]`, `1 == 1.0`, `"a" >= "b"`,
		`set([1, 2]) == set([2, 1])`, `None == None`, `[1, [2]] <= [1, [2]]`, `1 < "a"`, `{} < {}`,
		`2 in [1, 2]`, `[2] not in [[1], [2]]`, `"b" in "abc"`, `3 in range(5)`, `(1, 2) in {(1, 2): 0}`, `1 in set([1])`,
		`[1] in {}`, `[1] in set()`, `1 in 2`,
		`{(1, (2, 3)): "x"}[(1, (2, 3))]`, `{1: 2}[3]`, `[1, 2][-1]`, `"abc"[1]`, `{[1]: 2}`,
		`sorted([3, 1, 2])`, `sorted([3, 1, 2], reverse=True)`, `sorted(["b", "A"], key=lambda s: s.lower())`,
		`sorted([(2, "a"), (1, "b"), (2, "0")])`, `sorted([1, "a"])`, `sorted({"b": 1, "a": 2})`, `sorted([])`,
		`min(3, 1, 2)`, `max([3, 1, 2])`, `min(["aa", "b"], key=len)`, `max([])`, `min(1)`, `max("a", 1)`,
		`any([0, "", 1])`, `all([1, []])`, `any([])`, `all(())`, `any(1)`,
		`[1, 2, 1].index(1)`, `[1, 2, 1].index(1, 1)`, `[1, 2, 3].index(3, -1)`, `[1, 2].index(5)`, `[1, 2].index(2, 0, 1)`,
		`set([1, 2]) | set([3])`, `set([1, 2]) & set([2])`, `set([1, 2]) - set([2])`, `set([1, 2]) ^ set([2, 3])`,
		`{"a": 1} | {"a": 2, "b": 3}`, `set([1]) | [2]`, `{1: 2} | 3`,
		`set([1]).union([2], [3])`, `set([1, 2]).intersection([2])`, `set([1, 2]).difference([1])`,
		`set([1]).issubset([1, 2])`, `set([1, 2]).issuperset([1])`, `set([1, 2]).symmetric_difference([2, 3])`,
		`set([1]).union(1)`, `set([[1]])`, `set("ab".elems())`, `set()`, `set([1], [2])`,
		`dict([(1, 2)], a=3)`, `dict({"x": 1})`, `dict([(1, 2, 3)])`, `dict([1])`, `dict(1)`, `dict([("a", 1)], a=2)`,
		`{}.get(1, "d")`, `{1: 2}.pop(1)`, `{}.pop(1)`, `{}.pop(1, 5)`, `{}.setdefault(1, 2)`, `{}.get([1])`,
		`zip([1, 2], "ab".elems())`, `zip()`, `zip([1], 2)`,
		`1 << 3`, `1 << -1`, `"a" << 1`,
	} {
		t.Run(src, func(t *testing.T) {
			got, gotErr := runSrc(t, "return "+src, Input{}, Limits{})
			want, wantErr := plainStarlark(src)
			switch {
			case (gotErr != nil) != (wantErr != nil):
				t.Fatalf("got %v, %v; Starlark says %v, %v", got.Value, gotErr, want, wantErr)
			case gotErr != nil:
				return
			case fmt.Sprint(got.Value) != want:
				t.Errorf("got %v, Starlark says %s", got.Value, want)
			}
		})
	}
}

// plainStarlark evaluates src with Starlark alone, and converts the value
// as Run does, for comparison.
func plainStarlark(src string) (string, error) {
	thread := &starlark.Thread{}
	opts := &syntax.FileOptions{Set: true}
	globals, err := starlark.ExecFileOptions(opts, thread, "plain", "x = "+src, nil)
	if err != nil {
		return "", err
	}
	r := &run{lim: DefaultLimits.withDefaults(), thread: thread}
	v, err := r.toGo(globals["x"])
	if err != nil && strings.Contains(err.Error(), "cannot be returned") {
		return globals["x"].String(), nil
	}
	return fmt.Sprint(v), err
}
