package expression

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Shared structures whose hash, comparison or text is exponentially
// larger than the memory they take: three lists of a thousand references
// make a billion elements to compare; a tuple holding itself twice at
// each of 30 levels, 2^30 to hash.
const (
	sharedLists  = "a = [0] * 1000\nb = [a] * 1000\nc = [b] * 1000\n"
	nestedTuple  = "t = (1,)\nfor i in range(30):\n    t = (t, t)\n"
	collidingInt = "keys = [i << 32 for i in range(30000)]\n" // equal hashes: Int hashes its low 32 bits
)

// waitInterpreters fails the test unless every interpreter goroutine has
// ended within d.
func waitInterpreters(t *testing.T, d time.Duration) {
	t.Helper()
	start := time.Now()
	for interpreters.Load() > 0 {
		if time.Since(start) > d {
			t.Fatalf("the interpreter is still running %v after Run returned", time.Since(start).Round(time.Millisecond))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTimedOutRunStopsWorking: each expression below makes one builtin or
// operator work for seconds to minutes. Run must return at the deadline and
// the goroutine running the interpreter must stop right after, instead of
// burning a CPU long after the policy "timed out".
func TestTimedOutRunStopsWorking(t *testing.T) {
	tests := []struct{ name, src string }{
		{"hash of a nested tuple", nestedTuple + "return {t: 1}"},
		{"dict.get of a nested tuple", nestedTuple + "return {}.get(t)"},
		{"set of a nested tuple", nestedTuple + "return set([t])"},
		{"nested tuple in a dict", nestedTuple + "return t in {}"},
		{"comparison of shared lists", sharedLists + "return c == [b] * 1000"},
		{"membership in shared lists", sharedLists + "return c in [[b] * 1000]"},
		{"sorting shared lists", sharedLists + "return sorted([c, [b] * 1000])"},
		{"max of shared lists", sharedLists + "return max(c, [b] * 1000)"},
		{"list.index of shared lists", sharedLists + "return [c].index([b] * 1000)"},
		{"set of colliding integers", collidingInt + "return len(set(keys))"},
		{"dict of colliding integers", collidingInt + "return len(dict([(k, 1) for k in keys]))"},
		{"set union of colliding integers", collidingInt + "return len(set() | set(keys[:1]) | set(keys))"},
		{"regex on a long input", `return regex_match("a" * 1000000, "[\\s\\S]{1000}x")`},
		{"quadratic regex_replace", `return regex_replace("y" * 100000, ".*x|y", "z")`},
		{"str of a deeply nested list", "l = []\nfor i in range(150000):\n    l = [l]\nreturn str(l)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waitInterpreters(t, 10*time.Second) // a previous failure's leftovers
			start := time.Now()
			_, err := runSrc(t, tt.src, Input{}, Limits{MaxSteps: 1 << 62, Timeout: 500 * time.Millisecond})
			if err == nil {
				t.Fatalf("no error; want the run stopped by a limit")
			}
			if d := time.Since(start); d > time.Second*raceSlowdown {
				t.Errorf("Run returned after %v (%v), want about 500ms", d, err)
			}
			waitInterpreters(t, time.Second*raceSlowdown)
		})
	}
}

// TestStepsSpentInsideBuiltins: work done inside one builtin call counts
// against the step budget, element by element, as the interpreter's own
// loops would.
func TestStepsSpentInsideBuiltins(t *testing.T) {
	for _, src := range []string{
		`return "b" in ["a"] * 500000`,
		`return ["a"] * 500000 == ["a"] * 500000`,
		`return ["a"] * 500000 < ["a"] * 500000`,
		`return [0] * 500000 in [[0] * 500000]`,
		`return len(set(range(300000)))`,
		`return len(dict(zip(range(200000), range(200000))))`,
		`return sorted(range(500000), reverse=True)[0]`,
		`return max(range(500000))`,
		`return any([0] * 500000)`,
		`return (["a"] * 500000).index("b")`,
		`return regex_match("a" * 500000, "b")`,
		`return regex_replace("a" * 500000, "b", "c")`,
	} {
		t.Run(src, func(t *testing.T) {
			_, err := runSrc(t, src, Input{}, Limits{MaxSteps: 100_000, Timeout: time.Minute})
			if !errors.Is(err, ErrStepLimit) {
				t.Fatalf("error = %v, want ErrStepLimit", err)
			}
		})
	}
}

// TestComplexKeysAndComparisons: keys and comparisons that would take more
// than a bounded amount of work are refused with an error that says so,
// while ordinary ones work as in Python.
func TestComplexKeysAndComparisons(t *testing.T) {
	refused := []struct{ name, src, msg string }{
		{"nested tuple as key", nestedTuple + "return {t: 1}", "key too complex"},
		{"nested tuple as index", nestedTuple + "d = {}\nd[t] = 1", "key too complex"},
		{"nested tuple in set", nestedTuple + "s = set()\ns.add(t)", "key too complex"},
		{"deep tuple as key", "t = ()\nfor i in range(200):\n    t = (t,)\nreturn {t: 1}", "key too complex"},
		{"shared lists compared", sharedLists + "return c == [b] * 1000", "comparison too complex"},
		{"shared lists sorted", sharedLists + "return sorted([c, [b] * 1000])", "comparison too complex"},
		{"deep list in str", "l = []\nfor i in range(200):\n    l = [l]\nreturn str(l)", "nested more than 100 levels deep"},
		{"deep list in format", "l = []\nfor i in range(200):\n    l = [l]\nreturn '%s' % l", "nested more than 100 levels deep"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			// With steps to spare: weighing the shared lists would
			// otherwise use up the default budget first.
			_, err := runSrc(t, tt.src, Input{}, Limits{MaxSteps: 1 << 62})
			wantErr(t, err, tt.msg)
		})
	}
	works := []struct {
		src  string
		want any
	}{
		{`return {(1, ("a", 2)): "x"}[(1, ("a", 2))]`, "x"},
		{`return (1, 2) in {(1, 2): 0}`, true},
		{`return [1, [2, 3]] == [1, [2, 3]] and [1, 2] != [1, 3] and [1, 2] < [1, 3]`, true},
		{`return {"a": [1]} == {"a": [1]}`, true},
		{`return [2, 3] in [[1], [2, 3]] and 4 not in [1, 2]`, true},
		{`return sorted([[3], [1, 2], [1]], reverse=True)`, []any{[]any{int64(3)}, []any{int64(1), int64(2)}, []any{int64(1)}}},
		{`return sorted(["b", "A", "c"], key=lambda s: s.lower())`, []any{"A", "b", "c"}},
		{`return [min([3, 1, 2]), max(3, 1, 2), min(["bb", "a"], key=len)]`, []any{int64(1), int64(3), "a"}},
		{`return [any([0, 1]), all([1, 0]), any([]), all([])]`, []any{true, false, false, true}},
		{`return [[1], [2]].index([2])`, int64(1)},
		{"l = [[1], [2], [1]]\nl.remove([1])\nreturn l", []any{[]any{int64(2)}, []any{int64(1)}}},
		{`return sorted(set([3, 1]) | set([2]))`, []any{int64(1), int64(2), int64(3)}},
		{`return sorted(set([1, 2, 3]) - set([2])) + sorted(set([1, 2]) & set([2, 3])) + sorted(set([1, 2]) ^ set([2, 3]))`,
			[]any{int64(1), int64(3), int64(2), int64(1), int64(3)}},
		{`return sorted(set([1]).union([2], [3])) + sorted(set([1]).union())`, []any{int64(1), int64(2), int64(3), int64(1)}},
		{`return [set([1]).issubset([1, 2]), set([1, 2]).issuperset([2]), sorted(set([1, 2]).difference([1]))]`, []any{true, true, []any{int64(2)}}},
		{`return sorted(set([1, 2]).intersection([2, 3])) + sorted(set([1, 2]).symmetric_difference([2, 3]))`, []any{int64(2), int64(1), int64(3)}},
		{"s = set([1])\ns.update([2], [4])\ns.discard(4)\ns.discard(1)\ns.add(3)\ns.remove(3)\nreturn sorted(s)", []any{int64(2)}},
		{"d = dict([(1, 2)], a=3)\nd.update({4: 5}, b=6)\nd.update([(7, 8)])\nreturn [d.get(1), d.pop(4), d.setdefault(9, 10), len(d)]",
			[]any{int64(2), int64(5), int64(10), int64(5)}},
		{`return {"a": 1} | {"b": 2}`, map[string]any{"a": int64(1), "b": int64(2)}},
		{"x = set([1])\nx |= set([2])\nx -= set([1])\nreturn sorted(x)", []any{int64(2)}},
		{"d = {}\nd[(1, 2)] = 3\nd[(1, 2)] += 1\nreturn d[(1, 2)]", int64(4)},
		{"x = 1\nx <<= 3\nreturn x << 2", int64(32)},
	}
	for _, tt := range works {
		t.Run(tt.src, func(t *testing.T) {
			out := mustRun(t, tt.src, Input{})
			if fmt.Sprint(out.Value) != fmt.Sprint(tt.want) {
				t.Errorf("got %#v, want %#v", out.Value, tt.want)
			}
		})
	}
	t.Run("errors as in Starlark", func(t *testing.T) {
		for src, msg := range map[string]string{
			`return [1].index(2)`:            "index: value not in list",
			"l = [1]\nl.remove(2)":           "remove: element not found",
			`return dict([(1, 2, 3)])`:       "dictionary update sequence element #0 has length 3, want 2",
			`return min([])`:                 "min: argument is an empty sequence",
			`return sorted([1, "a"])`:        "string < int not implemented",
			`return set([[1]])`:              "unhashable type: list",
			`return {}.get([1])`:             "unhashable type: list",
			`return sorted([3, 1], foo=1)`:   "unexpected keyword argument",
			`return set([1]).union(1)`:       "union: argument #1 is not iterable: int",
			`return set([1]).difference(1)`:  "got int, want iterable",
			"s = set([1])\ns.remove(2)":      "remove: missing key",
			`return [1] in [[1], 1 < "a"]`:   "int < string not implemented",
			`return {"a": 1}.pop("b")`:       "missing key",
			`return max(1, key=lambda x: x)`: "max: int value is not iterable",
		} {
			_, err := runSrc(t, src, Input{}, Limits{})
			if err == nil || !strings.Contains(err.Error(), msg) {
				t.Errorf("%s: error = %v, want %q", src, err, msg)
			}
		}
	})
}
