package expression

import (
	"errors"
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Work guards. The interpreter counts its steps and notices cancellation
// between them, but one step may call Go code that loops or recurses for
// minutes: hashing a tuple that holds itself twice at each of 30 levels
// visits 2^30 values, comparing lists of lists shared a thousand times
// over visits 10^9, building a set of integers whose hashes collide takes
// quadratic time, and sorting, min, max and `in` walk whole lists. Go
// cannot stop such a call from outside: the deadline would answer the
// caller while the goroutine kept a CPU busy. So every loop of that kind
// runs here, and each of its iterations spends (one step, a check for
// cancellation); and a value is weighed (how many values a hash or a
// comparison of it would visit, spending as it goes) before the
// interpreter hashes or compares it, which is refused when too heavy.
//
// The rewriter (rewrite.go) routes comparisons, `in`, dict keys and
// subscripts here; globals.go and guardedAttr route the builtins and
// methods that hash, compare or walk collections.

// maxKeyWeight bounds the values a dict key or set element holds in all
// (tuples within tuples, a tuple shared twice counted twice): hashing the
// key, or comparing it with a key whose hash collides, visits them all.
const maxKeyWeight = 1024

// errStopped is what spend returns once the run is over; runtimeError
// reports the reason instead (time limit, step limit, caller).
var errStopped = errors.New("stopped")

// spend charges n steps to the run's budget and reports whether the run
// may go on: false once the budget is used up or the run was cancelled.
// Builtins call it in every loop whose length or cost the expression
// controls, so that neither the deadline nor the step limit waits for a
// builtin to finish.
func (r *run) spend(n int) error {
	r.extraSteps += uint64(n)
	if r.stop.Load() != stopNone {
		return errStopped
	}
	if r.thread.ExecutionSteps()+r.extraSteps >= r.lim.MaxSteps {
		r.stop.CompareAndSwap(stopNone, stopSteps)
		r.thread.Cancel("step limit exceeded")
		return errStopped
	}
	return nil
}

// weigher counts the values that hashing or comparing a value visits,
// stopping once the count passes limit.
type weigher struct {
	r       *run
	hashing bool // only tuples are walked: hashing stops at anything else
	charge  int  // steps per value visited
	limit   int
	n       int
	err     error
}

// weigh returns the weight of v up to limit+1 (more means too heavy).
// Hashing walks tuples only and is refused beyond maxNesting levels;
// comparing walks lists, tuples, dicts and sets down to Starlark's
// comparison depth, where the comparison itself gives up.
func (r *run) weigh(v starlark.Value, hashing bool, limit, charge int) (int, error) {
	w := weigher{r: r, hashing: hashing, charge: charge, limit: limit}
	w.walk(v, 0)
	return w.n, w.err
}

func (w *weigher) walk(v starlark.Value, depth int) {
	if w.n > w.limit || w.err != nil {
		return
	}
	w.n++
	if w.err = w.r.spend(w.charge); w.err != nil {
		return
	}
	if _, isTuple := v.(starlark.Tuple); !isTuple && (w.hashing || !isCollection(v)) {
		return
	}
	switch {
	case w.hashing && depth >= maxNesting:
		w.n = w.limit + 1
		return
	case !w.hashing && depth >= starlark.CompareLimit:
		return
	}
	switch v := v.(type) {
	case starlark.Indexable: // tuples and lists, without an iterator
		for i := 0; i < v.Len() && w.n <= w.limit && w.err == nil; i++ {
			w.walk(v.Index(i), depth+1)
		}
	case *starlark.Dict:
		for k, val := range starlark.Entries(v) {
			w.walk(k, depth+1)
			w.walk(val, depth+1)
			if w.n > w.limit || w.err != nil {
				return
			}
		}
	case *starlark.Set:
		for e := range starlark.Elements(v) {
			w.walk(e, depth+1)
			if w.n > w.limit || w.err != nil {
				return
			}
		}
	}
}

func isCollection(v starlark.Value) bool {
	switch v.(type) {
	case *starlark.List, starlark.Tuple, *starlark.Dict, *starlark.Set:
		return true
	}
	return false
}

// key checks a value about to be hashed as a dict key or set element.
func (r *run) key(k starlark.Value) error {
	if _, ok := k.(starlark.Tuple); !ok {
		return r.spend(1)
	}
	n, err := r.weigh(k, true, maxKeyWeight, 1)
	if err == nil && n > maxKeyWeight {
		err = fmt.Errorf("key too complex: a tuple holding more than %d values in all (nested tuples included, each time they occur) cannot be a dict key or set element", maxKeyWeight)
	}
	return err
}

// compare is x op y for ==, !=, <, <=, > and >=. Two collections are
// weighed first: the comparison visits at most the lighter one, and may
// visit at most MaxValueLen values.
func (r *run) compare(op syntax.Token, x, y starlark.Value) (bool, error) {
	if err := r.boundComparison(op, x, y); err != nil {
		return false, err
	}
	return starlark.Compare(op, x, y)
}

func (r *run) boundComparison(op syntax.Token, x, y starlark.Value) error {
	if !isCollection(x) || x.Type() != y.Type() {
		return r.spend(1)
	}
	if (op == syntax.EQL || op == syntax.NEQ) && starlark.Len(x) != starlark.Len(y) {
		return r.spend(1) // Starlark answers from the lengths alone
	}
	limit := r.lim.MaxValueLen
	ny, err := r.weigh(y, false, limit, 1)
	if err != nil {
		return err
	}
	// The comparison stops at the lighter side: x need not be weighed
	// further than y, nor charged again.
	nx, err := r.weigh(x, false, min(ny, limit), 0)
	if err != nil {
		return err
	}
	if min(nx, ny) > limit {
		return fmt.Errorf("comparison too complex: it would visit more than %d values (a list shared many times over?)", limit)
	}
	return nil
}

// compareGuard is the guard of x op y for the comparison operators.
func compareGuard(op syntax.Token) builtinFunc {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := twoArgs(b, args, kwargs); err != nil {
			return nil, err
		}
		ok, err := runOf(thread).compare(op, args[0], args[1])
		return starlark.Bool(ok), err
	}
}

// inGuard is the guard of x in y (and x not in y).
func inGuard(negate bool) builtinFunc {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := twoArgs(b, args, kwargs); err != nil {
			return nil, err
		}
		r, x, y := runOf(thread), args[0], args[1]
		switch y.(type) {
		case *starlark.List, starlark.Tuple:
			i, err := r.indexOf(y.(starlark.Indexable), x, 0, -1)
			return starlark.Bool((i >= 0) != negate), err
		case *starlark.Dict, *starlark.Set:
			if err := r.key(x); err != nil {
				return nil, err
			}
		}
		// Strings, ranges, headers, and dicts and sets once the key is
		// known to be light.
		v, err := starlark.Binary(syntax.IN, x, y)
		if err != nil {
			return nil, err
		}
		return starlark.Bool(bool(v.Truth()) != negate), nil
	}
}

// indexOf is the index of the first element of seq[start:end] equal to
// x, or -1 (end < 0 means the end of seq).
func (r *run) indexOf(seq starlark.Indexable, x starlark.Value, start, end int) (int, error) {
	for i := start; i < seq.Len() && (end < 0 || i < end); i++ {
		// Starlark compares the element with x, in that order.
		if eq, err := r.compare(syntax.EQL, seq.Index(i), x); err != nil || eq {
			return i, err
		}
	}
	return -1, nil
}

// guardKey is the guard of a dict key in a literal or comprehension, and
// of a subscript x[k].
func guardKey(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 1 || len(kwargs) != 0 {
		return nil, fmt.Errorf("%s: internal error: want 1 argument", b.Name())
	}
	return args[0], runOf(thread).key(args[0])
}
