package expression

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Limits bound one run of a program. A zero field takes its value from
// DefaultLimits.
type Limits struct {
	// MaxSteps is the budget of Starlark execution steps (roughly: bytecode
	// instructions), plus the steps builtins spend for each element they
	// hash, compare or walk and each character a pattern reads (work.go).
	MaxSteps uint64
	// Timeout is the wall-clock budget; the caller's context deadline, when
	// earlier, wins (a policy binding's timeout arrives that way).
	Timeout time.Duration
	// MaxSourceLen is the longest accepted source, in bytes.
	MaxSourceLen int
	// MaxValueLen caps the length (bytes, or elements) of each string,
	// list, tuple, dict or set that one operation builds, and of ranges:
	// the step limit cannot see a single step that allocates a gigabyte.
	// The operations that copy data (see guard.go) may together allocate
	// at most allocFactor times MaxValueLen bytes in one run.
	MaxValueLen int
}

// allocFactor sets a run's cumulative allocation budget from
// Limits.MaxValueLen: 64 MiB by default.
const allocFactor = 64

// DefaultLimits are the limits used for zero fields of a Limits value, and
// by Compile for the source length.
var DefaultLimits = Limits{
	MaxSteps:     1_000_000,
	Timeout:      2 * time.Second,
	MaxSourceLen: 64 << 10,
	MaxValueLen:  1 << 20,
}

func (l Limits) withDefaults() Limits {
	if l.MaxSteps == 0 {
		l.MaxSteps = DefaultLimits.MaxSteps
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultLimits.Timeout
	}
	if l.MaxSourceLen <= 0 {
		l.MaxSourceLen = DefaultLimits.MaxSourceLen
	}
	if l.MaxValueLen <= 0 {
		l.MaxValueLen = DefaultLimits.MaxValueLen
	}
	return l
}

var (
	// ErrTimeout is wrapped by the RuntimeError of a run stopped by its
	// deadline (Limits.Timeout or the context's).
	ErrTimeout = errors.New("expression: time limit exceeded")
	// ErrStepLimit is wrapped by the RuntimeError of a run that used up
	// Limits.MaxSteps.
	ErrStepLimit = errors.New("expression: step limit exceeded")
)

// CompileError explains why a source was rejected, in words meant for the
// admin form that submitted it. Line and Column are 1-based; 0 when the
// error is about the whole source.
type CompileError struct {
	Name         string
	Line, Column int
	Msg          string
}

func (e *CompileError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Name, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.Name, e.Line, e.Column, e.Msg)
}

// RuntimeError is an error raised while running a program. Line is the
// line of the expression being executed, 0 when the error is not tied to a
// line (for example converting the returned value). Err is the cause, if
// any: ErrTimeout, ErrStepLimit, context.Canceled, or a Helpers error.
type RuntimeError struct {
	Name         string
	Line, Column int
	Msg          string
	Err          error
}

func (e *RuntimeError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Name, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.Name, e.Line, e.Column, e.Msg)
}

func (e *RuntimeError) Unwrap() error { return e.Err }

// Program is a compiled expression. It is immutable and safe for
// concurrent use by any number of Run calls.
type Program struct {
	name   string
	srcLen int
	prog   *starlark.Program
	free   []freeName // predeclared names the source uses, sorted
}

// freeName is a name the program takes from its environment, with its
// first use so that a missing name is reported where it is used.
type freeName struct {
	name      string
	line, col int
}

// fileOptions make Starlark closer to Python: while loops, recursion,
// sets. (Top-level control and reassignment are moot: the source is the
// body of a function.)
var fileOptions = &syntax.FileOptions{
	Set:             true,
	While:           true,
	TopLevelControl: true,
	GlobalReassign:  true,
	Recursion:       true,
}

// Compile parses and compiles source, the body of a Python-style function,
// under name (used in error messages). It rejects sources longer than
// DefaultLimits.MaxSourceLen, syntax errors and load statements. Names that
// are not defined are reported when the program runs, since the names a
// caller provides (Input.Extra) are only known then.
func Compile(name, source string) (*Program, error) {
	if max := DefaultLimits.MaxSourceLen; max > 0 && len(source) > max {
		return nil, &CompileError{Name: name, Msg: fmt.Sprintf(
			"expression is too long (%d bytes, the limit is %d)", len(source), max)}
	}
	src, cerr := pythonize(name, source)
	if cerr != nil {
		return nil, cerr
	}
	f, err := fileOptions.Parse(name, src, 0)
	if err != nil {
		return nil, compileError(name, source, err)
	}
	if cerr := rejectLoads(name, f); cerr != nil {
		return nil, cerr
	}
	wrapBody(name, f)
	prog, err := starlark.FileProgram(f, isPredeclared)
	if err != nil {
		return nil, compileError(name, source, err)
	}
	return &Program{name: name, srcLen: len(source), prog: prog, free: freeNames(f)}, nil
}

// isPredeclared makes every name that is not a plain Starlark builtin a
// predeclared one, filled per run; the overridden builtins are among them.
func isPredeclared(name string) bool {
	if _, ok := staticGlobals[name]; ok {
		return true
	}
	return !starlark.Universe.Has(name)
}

// freeNames lists the predeclared names f uses, with their first use.
func freeNames(f *syntax.File) []freeName {
	seen := map[string]bool{}
	var out []freeName
	syntax.Walk(f, func(n syntax.Node) bool {
		id, ok := n.(*syntax.Ident)
		if !ok || seen[id.Name] {
			return true
		}
		if b, ok := id.Binding.(*resolve.Binding); ok && b.Scope == resolve.Predeclared {
			seen[id.Name] = true
			out = append(out, freeName{id.Name, int(id.NamePos.Line), int(id.NamePos.Col)})
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Input is what one run sees.
type Input struct {
	// User is the user being judged; nil means anonymous: request.user is
	// then an object whose is_authenticated is False and username "".
	User *User
	// HTTP is the request being served, if any.
	HTTP *HTTPRequest
	// Context is the flow plan context: JSON-like values (string, float64,
	// integers, bool, nil, []any, map[string]any) and *User (pending_user).
	Context map[string]any
	// Extra are extra global names (for example "scope" for scope
	// mappings), JSON-like values. They override the standard names.
	Extra map[string]any
	// Helpers backs ak_is_group_member, ak_user_by and ak_create_event;
	// when nil, those raise an error saying they are unavailable.
	Helpers Helpers
}

// Output is the result of one run.
type Output struct {
	// Value is the returned value converted to Go: nil, bool, int64,
	// float64, string, []any or map[string]any. User objects become maps
	// of their public fields.
	Value any
	// Messages are the ak_message calls, in order.
	Messages []string
}

// entryName names the function that wraps the source.
const entryName = "expression"

// abandonGrace is how long Run waits, after the deadline, for the
// interpreter to notice its cancellation. The interpreter checks between
// instructions and the builtins that loop check at each element (work.go),
// so it normally stops within microseconds; a Helpers call that ignores
// its context may not, and then Run returns without it: the caller gets
// its answer on time, and the abandoned goroutine ends when the call does.
const abandonGrace = 100 * time.Millisecond

// interpreters counts the goroutines running an expression, abandoned or
// not (see Running).
var interpreters atomic.Int64

// Running is the number of expressions running now, including any whose
// caller gave up on them at the deadline: it drops back to zero when the
// server is idle, unless an expression escapes its limits.
func Running() int64 { return interpreters.Load() }

type result struct {
	out Output
	err error
}

// Run runs the program once. It is safe to call concurrently. Errors are
// *RuntimeError; those caused by the deadline wrap ErrTimeout, those caused
// by the step budget wrap ErrStepLimit. Run returns by the deadline plus a
// fraction of a second, whatever the expression does.
func (p *Program) Run(ctx context.Context, in Input, lim Limits) (Output, error) {
	lim = lim.withDefaults()
	if p.srcLen > lim.MaxSourceLen {
		return Output{}, &RuntimeError{Name: p.name, Msg: fmt.Sprintf(
			"expression is too long (%d bytes, the limit is %d)", p.srcLen, lim.MaxSourceLen)}
	}
	budget := lim.Timeout
	if dl, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(dl))
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	r := &run{ctx: ctx, in: &in, lim: lim, name: p.name, allocBudget: int64(lim.MaxValueLen) * allocFactor,
		timeLimit: max(budget.Round(time.Millisecond), 0)}
	done := make(chan result, 1)
	interpreters.Add(1)
	go func() {
		defer interpreters.Add(-1)
		out, err := p.exec(r)
		done <- result{out, err}
	}()
	select {
	case res := <-done:
		return res.out, res.err
	case <-ctx.Done():
	}
	grace := time.NewTimer(abandonGrace)
	defer grace.Stop()
	select {
	case res := <-done:
		return res.out, res.err
	case <-grace.C:
		// r belongs to the running goroutine now: read nothing from it.
		re := &RuntimeError{Name: p.name, Msg: fmt.Sprintf("time limit exceeded (%s)", r.timeLimit), Err: ErrTimeout}
		if errors.Is(context.Cause(ctx), context.Canceled) {
			re.Msg, re.Err = "cancelled", context.Canceled
		}
		return Output{}, re
	}
}

// exec runs the program on the calling goroutine.
func (p *Program) exec(r *run) (out Output, err error) {
	thread := &starlark.Thread{
		Name:  p.name,
		Print: func(*starlark.Thread, string) {},
		Load: func(*starlark.Thread, string) (starlark.StringDict, error) {
			return nil, errors.New("load is not allowed in expressions")
		},
	}
	r.thread = thread
	thread.SetLocal(runKey, r)
	r.startStepCheckpoints()
	stop := context.AfterFunc(r.ctx, func() {
		r.stop.CompareAndSwap(stopNone, stopDeadline)
		thread.Cancel("time limit exceeded")
	})
	defer stop()
	defer func() {
		if v := recover(); v != nil {
			out = Output{Messages: r.messages}
			err = &RuntimeError{Name: p.name, Msg: fmt.Sprintf("internal error: %v", v)}
		}
	}()

	predeclared, err := r.globals(p.free)
	if err != nil {
		return Output{}, err
	}
	globals, err := p.prog.Init(thread, predeclared)
	var v starlark.Value
	if err == nil {
		v, err = starlark.Call(thread, globals[entryName], nil, nil)
	}
	if err != nil {
		return Output{Messages: r.messages}, r.runtimeError(err)
	}
	value, err := r.toGo(v)
	if errors.Is(err, errStopped) {
		return Output{Messages: r.messages}, r.runtimeError(err)
	}
	if err != nil {
		return Output{Messages: r.messages}, &RuntimeError{Name: p.name, Msg: "returned value: " + err.Error()}
	}
	return Output{Value: value, Messages: r.messages}, nil
}

// runKey is the thread-local key of the *run.
const runKey = "gatehouse.expression.run"

// Why a run was stopped from outside the interpreter.
const (
	stopNone int32 = iota
	stopDeadline
	stopSteps
	stopDepth
)

// maxCallDepth is Python's default recursion limit. Starlark's own limit
// (100 000 frames, ~140 MB of goroutine stack) is too generous for a
// server running many expressions at once.
const maxCallDepth = 1000

// checkpointSteps is how often the step hook runs to check the call depth.
const checkpointSteps = 1024

// run is the state of one Run: what builtins need, reached through the
// thread.
type run struct {
	ctx      context.Context
	in       *Input
	lim      Limits
	name     string
	thread   *starlark.Thread
	stop     atomic.Int32
	vals     runValues
	messages []string
	msgBytes int

	timeLimit              time.Duration // for messages: the earlier of the deadlines
	allocated, allocBudget int64         // bytes, see charge
	extraSteps             uint64        // steps spent inside builtins, see spend
}

func runOf(thread *starlark.Thread) *run {
	return thread.Local(runKey).(*run)
}

// startStepCheckpoints makes the interpreter call back every
// checkpointSteps steps, to enforce both the step budget (its own steps
// plus those builtins spent) and the call depth.
func (r *run) startStepCheckpoints() {
	r.thread.SetMaxExecutionSteps(min(checkpointSteps, r.lim.MaxSteps))
	r.thread.OnMaxSteps = func(thread *starlark.Thread) {
		steps := thread.ExecutionSteps()
		switch {
		case steps+r.extraSteps >= r.lim.MaxSteps:
			r.stop.CompareAndSwap(stopNone, stopSteps)
			thread.Cancel("step limit exceeded")
		case thread.CallStackDepth() > maxCallDepth:
			r.stop.CompareAndSwap(stopNone, stopDepth)
			thread.Cancel("maximum recursion depth exceeded")
		default:
			thread.SetMaxExecutionSteps(steps + min(checkpointSteps, r.lim.MaxSteps-steps-r.extraSteps))
		}
	}
}

// runtimeError turns an interpreter error into a RuntimeError that says
// where and why.
func (r *run) runtimeError(err error) *RuntimeError {
	re := &RuntimeError{Name: r.name, Msg: err.Error()}
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		re.Msg = ee.Msg
		for i := len(ee.CallStack) - 1; i >= 0; i-- {
			if pos := ee.CallStack[i].Pos; pos.Filename() == r.name && pos.Line > 0 {
				re.Line, re.Column = int(pos.Line), int(pos.Col)
				break
			}
		}
	}
	switch r.stop.Load() {
	case stopSteps:
		re.Msg = fmt.Sprintf("step limit exceeded (%d steps)", r.lim.MaxSteps)
		re.Err = ErrStepLimit
		return re
	case stopDepth:
		re.Msg = fmt.Sprintf("maximum recursion depth exceeded (%d calls)", maxCallDepth)
		return re
	}
	if r.ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		if errors.Is(context.Cause(r.ctx), context.Canceled) {
			re.Msg, re.Err = "cancelled", context.Canceled
		} else {
			re.Msg, re.Err = fmt.Sprintf("time limit exceeded (%s)", r.timeLimit), ErrTimeout
		}
		return re
	}
	if ee != nil {
		re.Err = ee.Unwrap()
	}
	return re
}
