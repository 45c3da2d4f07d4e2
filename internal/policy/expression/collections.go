package expression

import (
	"errors"
	"fmt"
	"sort"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// The builtins and methods that hash, compare or walk the elements of a
// collection, rewritten so that each element spends (see work.go). Their
// behaviour and error messages are Starlark's.

// checkedIter yields the elements of a Starlark iterator, spending a step
// for each and, when keys is set, checking each as a hash key; it stops
// at the first error, which err keeps.
type checkedIter struct {
	r    *run
	it   starlark.Iterator
	keys bool
	err  error
}

func (r *run) iterate(v starlark.Value, keys bool) *checkedIter {
	return &checkedIter{r: r, it: starlark.Iterate(v), keys: keys}
}

func (c *checkedIter) Next(p *starlark.Value) bool {
	if c.err != nil || !c.it.Next(p) {
		return false
	}
	if c.keys {
		c.err = c.r.key(*p)
	} else {
		c.err = c.r.spend(1)
	}
	return c.err == nil
}

func (c *checkedIter) Done() { c.it.Done() }

// each calls fn for each element of v, spending as it goes.
func (r *run) each(v starlark.Value, keys bool, fn func(starlark.Value) error) error {
	it := r.iterate(v, keys)
	defer it.Done()
	var x starlark.Value
	for it.Next(&x) {
		if err := fn(x); err != nil {
			return err
		}
	}
	return it.err
}

func iterable(name string, v starlark.Value) error {
	if _, ok := v.(starlark.Iterable); !ok {
		return fmt.Errorf("%s: got %s, want iterable", name, v.Type())
	}
	return nil
}

// newSet builds a set one element at a time. Starlark's own copy of a set
// re-inserts every element in one uninterruptible loop, quadratic when
// their hashes collide.
func (r *run) newSet(elems ...starlark.Value) (*starlark.Set, error) {
	s := new(starlark.Set)
	for _, v := range elems {
		if err := r.each(v, true, s.Insert); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func guardSet(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Iterable
	if err := starlark.UnpackPositionalArgs("set", args, kwargs, 0, &v); err != nil {
		return nil, err
	}
	r := runOf(thread)
	var elems []starlark.Value
	if v != nil {
		elems = append(elems, v)
	}
	s, err := r.newSet(elems...)
	if err != nil {
		return nil, fmt.Errorf("set: %w", err)
	}
	return r.result("set", s, nil)
}

// setMethod is one of the set methods that take iterables.
func setMethod(recv *starlark.Set, name string) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		r := runOf(thread)
		var v starlark.Value
		var err error
		if name == "union" || name == "update" { // any number of iterables
			if len(kwargs) > 0 {
				return nil, fmt.Errorf("%s: does not accept keyword arguments", name)
			}
			for i, a := range args {
				if _, ok := a.(starlark.Iterable); !ok {
					return nil, fmt.Errorf("%s: argument #%d is not iterable: %s", name, i+1, a.Type())
				}
			}
			if name == "union" {
				v, err = r.newSet(append(starlark.Tuple{recv}, args...)...)
			} else {
				v = starlark.None
				for _, a := range args {
					if err = r.each(a, true, recv.Insert); err != nil {
						break
					}
				}
			}
		} else {
			var other starlark.Iterable
			if err := starlark.UnpackPositionalArgs(name, args, kwargs, 1, &other); err != nil {
				return nil, err
			}
			v, err = r.setOp(name, recv, other)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return r.result(name, v, nil)
	})
}

// setOp is a set operation, as a method (difference, ...) or an operator
// (|, &, ^, -): y is any iterable for a method, a set for an operator.
func (r *run) setOp(name string, x *starlark.Set, y starlark.Value) (starlark.Value, error) {
	switch name {
	case "|":
		return r.newSet(x, y)
	case "difference", "-", "symmetric_difference", "^":
		return r.setDifference(x, y, name == "^" || name == "symmetric_difference")
	}
	it := r.iterate(y, true)
	defer it.Done()
	var v starlark.Value
	var err error
	switch name {
	case "intersection", "&":
		v, err = x.Intersection(it)
	case "issubset":
		v, err = wrapBool(x.IsSubset(it))
	case "issuperset":
		v, err = wrapBool(x.IsSuperset(it))
	default:
		return nil, fmt.Errorf("internal error: no set operation %s", name)
	}
	if it.err != nil {
		return nil, it.err
	}
	return v, err
}

// setDifference is x - y, or with symmetric x ^ y.
func (r *run) setDifference(x *starlark.Set, y starlark.Value, symmetric bool) (starlark.Value, error) {
	s, err := r.newSet(x)
	if err != nil {
		return nil, err
	}
	err = r.each(y, true, func(e starlark.Value) error {
		found, err := s.Delete(e)
		if err == nil && !found && symmetric {
			err = s.Insert(e)
		}
		return err
	})
	return s, err
}

func wrapBool(b bool, err error) (starlark.Value, error) { return starlark.Bool(b), err }

// keyMethod is a method that hashes its first argument: dict.get, pop,
// setdefault; set.add, discard, remove.
func keyMethod(method starlark.Value) starlark.Value {
	return starlark.NewBuiltin(method.(*starlark.Builtin).Name(), func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) > 0 {
			if err := runOf(thread).key(args[0]); err != nil {
				return nil, err
			}
		}
		return starlark.Call(thread, method, args, kwargs)
	})
}

// updateDict is dict(...) and dict.update(...): a mapping, or an iterable
// of pairs, then keyword arguments.
func (r *run) updateDict(name string, d *starlark.Dict, args starlark.Tuple, kwargs []starlark.Tuple) error {
	if len(args) > 1 {
		return fmt.Errorf("%s: got %d arguments, want at most 1", name, len(args))
	}
	set := func(k, v starlark.Value) error {
		if err := r.key(k); err != nil {
			return err
		}
		return d.SetKey(k, v)
	}
	if len(args) == 1 {
		if m, ok := args[0].(starlark.IterableMapping); ok {
			for _, kv := range m.Items() {
				if err := set(kv[0], kv[1]); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
			}
		} else if err := r.updateFromPairs(name, args[0], set); err != nil {
			return err
		}
	}
	before := d.Len()
	for _, kv := range kwargs {
		if err := set(kv[0], kv[1]); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if d.Len() < before+len(kwargs) {
		seen := make(map[starlark.Value]bool, len(kwargs))
		for _, kv := range kwargs {
			if seen[kv[0]] {
				return fmt.Errorf("%s: duplicate keyword arg: %v", name, kv[0])
			}
			seen[kv[0]] = true
		}
	}
	return nil
}

func (r *run) updateFromPairs(name string, pairs starlark.Value, set func(k, v starlark.Value) error) error {
	if err := iterable(name, pairs); err != nil {
		return err
	}
	i := 0
	return r.each(pairs, false, func(pair starlark.Value) error {
		defer func() { i++ }()
		it := starlark.Iterate(pair)
		if it == nil {
			return fmt.Errorf("%s: dictionary update sequence element #%d is not iterable (%s)", name, i, pair.Type())
		}
		defer it.Done()
		switch n := starlark.Len(pair); {
		case n < 0:
			return fmt.Errorf("%s: dictionary update sequence element #%d has unknown length (%s)", name, i, pair.Type())
		case n != 2:
			return fmt.Errorf("%s: dictionary update sequence element #%d has length %d, want 2", name, i, n)
		}
		var k, v starlark.Value
		it.Next(&k)
		it.Next(&v)
		if err := set(k, v); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
}

func guardDict(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r := runOf(thread)
	d := new(starlark.Dict)
	if err := r.updateDict("dict", d, args, kwargs); err != nil {
		return nil, err
	}
	return r.result("dict", d, nil)
}

func dictUpdate(recv *starlark.Dict) *starlark.Builtin {
	return starlark.NewBuiltin("update", func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return starlark.None, runOf(thread).updateDict("update", recv, args, kwargs)
	})
}

// dictUnion is x | y for dicts.
func (r *run) dictUnion(x, y *starlark.Dict) (starlark.Value, error) {
	d := new(starlark.Dict)
	for _, m := range []*starlark.Dict{x, y} {
		if err := r.updateDict("|", d, starlark.Tuple{m}, nil); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// collectionOp runs the operators that build sets and dicts, one element
// at a time; ok is false for other operands.
func (r *run) collectionOp(op syntax.Token, x, y starlark.Value) (v starlark.Value, ok bool, err error) {
	switch x := x.(type) {
	case *starlark.Set:
		y, isSet := y.(*starlark.Set)
		if isSet && (op == syntax.PIPE || op == syntax.AMP || op == syntax.CIRCUMFLEX || op == syntax.MINUS) {
			v, err = r.setOp(op.String(), x, y)
			return v, true, err
		}
	case *starlark.Dict:
		if y, isDict := y.(*starlark.Dict); isDict && op == syntax.PIPE {
			v, err = r.dictUnion(x, y)
			return v, true, err
		}
	}
	return nil, false, nil
}

// listMethod is list.index or list.remove, comparing with spend.
func listMethod(recv *starlark.List, name string) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		r := runOf(thread)
		var x starlark.Value
		if name == "remove" {
			if err := starlark.UnpackPositionalArgs(name, args, kwargs, 1, &x); err != nil {
				return nil, err
			}
			i, err := r.indexOf(recv, x, 0, -1)
			if err != nil {
				return nil, fmt.Errorf("remove: %w", err)
			}
			if i < 0 {
				return nil, fmt.Errorf("remove: element not found")
			}
			elems := make([]starlark.Value, 0, recv.Len()-1)
			for j := range recv.Len() {
				if j != i {
					elems = append(elems, recv.Index(j))
				}
			}
			// The starlark package alone can delete from a list: rebuild it.
			if err := recv.Clear(); err != nil {
				return nil, fmt.Errorf("remove: %w", err)
			}
			for _, v := range elems {
				_ = recv.Append(v) // cannot fail: Clear would have
			}
			return starlark.None, nil
		}
		var start, end starlark.Value = starlark.None, starlark.None
		if err := starlark.UnpackPositionalArgs(name, args, kwargs, 1, &x, &start, &end); err != nil {
			return nil, err
		}
		lo, hi, err := sliceBounds(start, end, recv.Len())
		if err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		i, err := r.indexOf(recv, x, lo, hi)
		if err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		if i < 0 {
			return nil, fmt.Errorf("index: value not in list")
		}
		return starlark.MakeInt(i), nil
	})
}

// sliceBounds resolves the optional start and end of list.index as
// Starlark does: negative values count from the end, both are clamped.
func sliceBounds(start, end starlark.Value, n int) (int, int, error) {
	bound := func(v starlark.Value, dflt int) (int, error) {
		if v == starlark.None {
			return dflt, nil
		}
		i, err := starlark.AsInt32(v)
		if err != nil {
			return 0, fmt.Errorf("got %s, want int", v.Type())
		}
		if i < 0 {
			i += n
		}
		return max(0, min(i, n)), nil
	}
	lo, err := bound(start, 0)
	if err != nil {
		return 0, 0, err
	}
	hi, err := bound(end, n)
	return lo, hi, err
}

// guardSorted is sorted(iterable, key=None, reverse=False): each
// comparison spends, and the sort stops at the first error.
func guardSorted(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var seq starlark.Iterable
	var key starlark.Callable
	var reverse bool
	if err := starlark.UnpackArgs("sorted", args, kwargs, "iterable", &seq, "key?", &key, "reverse?", &reverse); err != nil {
		return nil, err
	}
	r := runOf(thread)
	s := &sorter{r: r}
	if err := r.each(seq, false, func(v starlark.Value) error {
		s.values = append(s.values, v)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("sorted: %w", err)
	}
	if key != nil {
		s.keys = make([]starlark.Value, len(s.values))
		for i, v := range s.values {
			k, err := starlark.Call(thread, key, starlark.Tuple{v}, nil)
			if err != nil {
				return nil, err
			}
			s.keys[i] = k
		}
	}
	if err := s.sort(reverse); err != nil {
		return nil, fmt.Errorf("sorted: %w", err)
	}
	return r.result("sorted", starlark.NewList(s.values), nil)
}

type sorter struct {
	r      *run
	values []starlark.Value
	keys   []starlark.Value // nil without a key function: values are keys
	err    error
}

func (s *sorter) Len() int { return len(s.values) }

func (s *sorter) Less(i, j int) bool {
	keys := s.keys
	if keys == nil {
		keys = s.values
	}
	less, err := s.r.compare(syntax.LT, keys[i], keys[j])
	if err != nil {
		s.err = err
		panic(s) // sort.Stable has no way out; sort recovers
	}
	return less
}

func (s *sorter) Swap(i, j int) {
	s.values[i], s.values[j] = s.values[j], s.values[i]
	if s.keys != nil {
		s.keys[i], s.keys[j] = s.keys[j], s.keys[i]
	}
}

func (s *sorter) sort(reverse bool) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if p != s {
				panic(p)
			}
			err = s.err
		}
	}()
	if reverse {
		sort.Stable(sort.Reverse(s))
	} else {
		sort.Stable(s)
	}
	return nil
}

// guardMinMax is min and max.
func guardMinMax(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	name := b.Name()
	if len(args) == 0 {
		return nil, fmt.Errorf("%s requires at least one positional argument", name)
	}
	var key starlark.Callable
	if err := starlark.UnpackArgs(name, nil, kwargs, "key?", &key); err != nil {
		return nil, err
	}
	op := syntax.LT
	if name == "max" {
		op = syntax.GT
	}
	var seq starlark.Value = args
	if len(args) == 1 {
		seq = args[0]
	}
	if _, ok := seq.(starlark.Iterable); !ok {
		return nil, fmt.Errorf("%s: %s value is not iterable", name, seq.Type())
	}
	r := runOf(thread)
	var best, bestKey starlark.Value
	err := r.each(seq, false, func(v starlark.Value) error {
		k := v
		if key != nil {
			var err error
			if k, err = starlark.Call(thread, key, starlark.Tuple{v}, nil); err != nil {
				return err
			}
		}
		if best == nil {
			best, bestKey = v, k
			return nil
		}
		better, err := r.compare(op, k, bestKey)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if better {
			best, bestKey = v, k
		}
		return nil
	})
	if err == nil && best == nil {
		err = fmt.Errorf("%s: argument is an empty sequence", name)
	}
	return best, err
}

// guardAnyAll is any and all: both stop at the first element whose truth
// decides.
func guardAnyAll(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var seq starlark.Iterable
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &seq); err != nil {
		return nil, err
	}
	isAny := b.Name() == "any"
	err := runOf(thread).each(seq, false, func(v starlark.Value) error {
		if bool(v.Truth()) == isAny {
			return errDecided
		}
		return nil
	})
	switch err {
	case nil:
		return starlark.Bool(!isAny), nil
	case errDecided:
		return starlark.Bool(isAny), nil
	}
	return nil, err
}

var errDecided = errors.New("decided")

// guardZip refuses, before building anything, a zip whose rows would
// together hold more than MaxValueLen values.
func guardZip(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	rows := -1
	for _, v := range args {
		if n := starlark.Len(v); n >= 0 && (rows < 0 || n < rows) {
			rows = n
		}
	}
	if max := runOf(thread).lim.MaxValueLen; rows > 0 && int64(rows)*int64(len(args)) > int64(max) {
		return nil, fmt.Errorf("zip: %v", tooLarge("zip", int(min(int64(rows)*int64(len(args)), 1<<62)), max, "list"))
	}
	return charging("zip")(thread, b, args, kwargs)
}
