package expression

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNoEnvironment(t *testing.T) {
	// Python's ways out of the sandbox do not exist here.
	for _, name := range []string{"open", "exec", "eval", "compile", "globals", "locals", "vars", "__import__",
		"os", "sys", "subprocess", "requests", "input", "exit", "breakpoint", "memoryview"} {
		_, err := runSrc(t, "return "+name, Input{}, Limits{})
		wantErr(t, err, fmt.Sprintf("name '%s' is not defined", name))
	}
	if _, err := Compile("p", `load("@stdlib//os.star", "getenv")`); err == nil || !strings.Contains(err.Error(), "load statements are not allowed") {
		t.Errorf("load: error = %v, want load statements are not allowed", err)
	}
}

func TestPrintWritesNothing(t *testing.T) {
	// Starlark's default print writes to stderr; ours is a no-op.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	_, runErr := runSrc(t, `print("leak", user.username)`, Input{User: alice}, Limits{})
	os.Stderr = saved
	w.Close()
	written, _ := io.ReadAll(r)
	if runErr != nil || len(written) != 0 {
		t.Errorf("print: error %v, wrote %q; want no error and nothing written", runErr, written)
	}
}

func TestStepLimit(t *testing.T) {
	for _, src := range []string{
		"while True:\n    pass",
		"n = 0\nfor i in range(100000):\n    for j in range(100000):\n        n += 1\nreturn n",
		"return [[i * j for j in range(1000)] for i in range(1000)]",
	} {
		t.Run(src, func(t *testing.T) {
			start := time.Now()
			_, err := runSrc(t, src, Input{}, Limits{MaxSteps: 100_000, Timeout: time.Minute})
			if !errors.Is(err, ErrStepLimit) {
				t.Fatalf("error = %v, want ErrStepLimit", err)
			}
			wantErr(t, err, "step limit exceeded (100000 steps)")
			if d := time.Since(start); d > 6*time.Second*raceSlowdown { // well inside the 10 s deadline, with room for a loaded CI machine
				t.Errorf("took %v to stop", d)
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	tests := []struct {
		name string
		src  string
		in   Input
	}{
		{"blocked in a helper", `return ak_is_group_member(user, name="slow")`, Input{User: alice, Helpers: blockingHelpers{directory()}}},
		{"pure computation", "while True:\n    pass", Input{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := runSrc(t, tt.src, tt.in, Limits{MaxSteps: 1 << 62, Timeout: 100 * time.Millisecond})
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("error = %v, want ErrTimeout", err)
			}
			var re *RuntimeError
			if !errors.As(err, &re) || re.Line != 1 || !strings.Contains(re.Msg, "time limit exceeded (100ms)") {
				t.Errorf("error = %#v, want a RuntimeError at line 1 saying time limit exceeded (100ms)", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v to stop", d)
			}
		})
	}
	t.Run("caller's deadline", func(t *testing.T) {
		p, _ := Compile("p", "while True:\n    pass")
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err := p.Run(ctx, Input{}, Limits{MaxSteps: 1 << 62, Timeout: time.Minute})
		// The limit reported is what remained of the caller's deadline when
		// Run began: at most 50ms, less on a loaded machine, never a minute.
		var re *RuntimeError
		if !errors.Is(err, ErrTimeout) || !errors.As(err, &re) {
			t.Fatalf("error = %v, want ErrTimeout", err)
		}
		d, perr := time.ParseDuration(strings.TrimSuffix(strings.TrimPrefix(re.Msg, "time limit exceeded ("), ")"))
		if perr != nil || d <= 0 || d > 50*time.Millisecond {
			t.Errorf("message %q, want the caller's remaining deadline (at most 50ms)", re.Msg)
		}
	})
	t.Run("caller cancels", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		p, _ := Compile("p", "while True:\n    pass")
		if _, err := p.Run(ctx, Input{}, Limits{MaxSteps: 1 << 62, Timeout: time.Minute}); !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
	})
}

func TestRecursion(t *testing.T) {
	for _, src := range []string{
		"def f(n):\n    return f(n + 1)\nreturn f(0)",
		"def f(n):\n    return sorted([1, 2], key=lambda x: f(n + 1))\nreturn f(0)",
	} {
		t.Run(src, func(t *testing.T) {
			_, err := runSrc(t, src, Input{}, Limits{MaxSteps: 1 << 62})
			wantErr(t, err, "maximum recursion depth exceeded (1000 calls)")
		})
	}
}

// raceSlowdown scales the time limits of memory-heavy tests (see
// race_test.go).
var raceSlowdown time.Duration = 1

// allocated reports the bytes the process allocated while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHugeAllocations(t *testing.T) {
	tests := []struct{ name, src, msg string }{
		{"repeat 2^40", `x = "a" * (1 << 40)`, "too large"},
		{"repeat 10^10 list", `x = [0] * 10000000000`, "too large"},
		{"repeat 512 MiB string", `x = "a" * (1 << 29)`, "value too large: * would build a string of 536870912 bytes"},
		{"repeat 2^27 list", `x = (1 << 27) * [0]`, "value too large: * would build a list"},
		{"string doubling", "s = 'ab'\nwhile True:\n    s = s + s", "value too large: + would build a string"},
		{"string doubling +=", "s = 'ab'\nwhile True:\n    s += s", "value too large: + would build a string"},
		{"list doubling +=", "l = [0]\nwhile True:\n    l += l", "value too large: += would build a list"},
		{"list doubling extend", "l = [0]\nwhile True:\n    l.extend(l)", "value too large: extend would build a list"},
		{"format doubling", "s = 'ab'\nwhile True:\n    s = '{}{}'.format(s, s)", "value too large: format would build a string"},
		{"percent doubling", "s = 'ab'\nwhile True:\n    s = '%s%s' % (s, s)", "value too large: % would build a string"},
		{"join doubling", "s = 'ab'\nwhile True:\n    s = ''.join([s, s])", "value too large: join would build a string"},
		{"replace doubling", "s = 'ab'\nwhile True:\n    s = s.replace('a', 'aa').replace('b', 'bb')", "value too large: replace would build a string"},
		{"format fan-out", `s = "x" * 1000000
return ("{0}" * 1000).format(s)`, "value too large: format would build a string"},
		{"str of a shared list", "l = [1]\nfor i in range(64):\n    l = [l, l]\nreturn str(l)", "value too large: str would build a string"},
		{"return a shared list", "l = [1]\nfor i in range(64):\n    l = [l, l]\nreturn l", "too large to convert"},
		{"materialized range", "return list(range(1 << 28))", "range: too many elements"},
		{"integer squaring", "x = 1 << 500\nwhile True:\n    x = x * x", "value too large: * would build an integer"},
		{"int parsing", `return int("9" * 100000)`, "int: string too long"},
		{"shift growth", "x = 1\nwhile True:\n    x = x << 500", "value too large: << would build an integer"},
		{"shift growth <<=", "x = 1\nwhile True:\n    x <<= 500", "value too large: << would build an integer"},
		{"zip of many ranges", "r = range(100000)\nreturn len(zip(*([r] * 200)))", "value too large: zip would build a list"},
		{"kept copies", "big = ['x'] * 1000000\nkeep = []\nwhile True:\n    keep.append(list(big))", "memory budget exceeded: list"},
		{"kept slices", "big = ['x'] * 1000000\nkeep = []\nwhile True:\n    keep.append(big[:])", "memory budget exceeded: slice"},
		{"kept strings", "keep = []\nwhile True:\n    keep.append('x' * 1000000)", "memory budget exceeded: *"},
		{"kept dict items", "d = {i: i for i in range(100000)}\nkeep = []\nwhile True:\n    keep.append(d.items())", "memory budget exceeded: items"},
		{"kept unions", "s = set(range(100000))\nkeep = []\nwhile True:\n    keep.append(s | s)", "memory budget exceeded: |"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			start := time.Now()
			bytes := allocated(func() {
				_, err = runSrc(t, tt.src, Input{}, Limits{MaxSteps: 1 << 62, Timeout: 10 * time.Second})
			})
			wantErr(t, err, tt.msg)
			if d := time.Since(start); d > 6*time.Second*raceSlowdown { // well inside the 10 s deadline, with room for a loaded CI machine
				t.Errorf("took %v to fail", d)
			}
			if bytes > 256<<20 {
				t.Errorf("allocated %d MiB before failing", bytes>>20)
			}
		})
	}
}

func TestPanicsBecomeErrors(t *testing.T) {
	for _, src := range []string{
		`return ak_is_group_member(user, name="x")`,
		`return ak_user_by(username="x")`,
		`ak_create_event("x", a=1)`,
	} {
		t.Run(src, func(t *testing.T) {
			_, err := runSrc(t, src, Input{User: alice, Helpers: panickingHelpers{}}, Limits{})
			var re *RuntimeError
			if !errors.As(err, &re) || re.Line != 1 || !strings.Contains(re.Msg, "internal error") {
				t.Errorf("error = %v, want a RuntimeError at line 1 with an internal error", err)
			}
		})
	}
}

func TestConcurrentRuns(t *testing.T) {
	p, err := Compile("mapping", `ak_message("hi " + request.user.username)
return {"name": user.username, "n": context["n"], "groups": [g.name for g in user.ak_groups.all()], "scope": scope}`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			name := fmt.Sprintf("user%d", i)
			u := &User{ID: name, Username: name, GroupNames: []string{"g" + name}}
			for range 20 {
				out, err := p.Run(t.Context(), Input{User: u, Context: map[string]any{"n": i}, Extra: map[string]any{"scope": []any{name}}}, Limits{})
				if err != nil {
					errs <- err
					return
				}
				m := out.Value.(map[string]any)
				if m["name"] != name || m["n"] != int64(i) || m["groups"].([]any)[0] != "g"+name || m["scope"].([]any)[0] != name ||
					len(out.Messages) != 1 || out.Messages[0] != "hi "+name {
					errs <- fmt.Errorf("run for %s got %v, messages %q", name, m, out.Messages)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkRunSimple(b *testing.B) {
	p, err := Compile("bench", `return request.user.username == "alice"`)
	if err != nil {
		b.Fatal(err)
	}
	in := Input{User: alice}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		out, err := p.Run(ctx, in, Limits{})
		if err != nil || out.Value != true {
			b.Fatalf("Run = %v, %v", out.Value, err)
		}
	}
}
