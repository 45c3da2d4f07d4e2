package expression

import (
	"fmt"
	"math/bits"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Memory guards. The step limit counts interpreter steps, but one step can
// allocate without bound: "a" * (1 << 29), s = s + s thirty times, str() of
// a list that holds itself through a million paths, list(big) kept in a
// loop. The rewriter (rewrite.go) routes operators, slicing and copying
// methods here, and globals.go replaces the copying builtins. Each guard
// refuses, before allocating when the result can be far larger than the
// inputs, any single value over Limits.MaxValueLen, and charges what it
// built against the run's budget of allocFactor × MaxValueLen bytes.

// maxIntBits bounds integers built by multiplication (Python has no bound;
// squaring a number repeatedly doubles its size at each step).
const maxIntBits = 1 << 16

// maxIntDigits bounds int("...") as Python 3.11+ does, since converting
// decimal text to a big integer costs more than linear time.
const maxIntDigits = 4300

func tooLarge(op string, n, max int, kind string) error {
	unit := "elements"
	if kind == "string" || kind == "bytes" {
		unit = "bytes"
	}
	return fmt.Errorf("value too large: %s would build a %s of %d %s (the limit is %d)", op, kind, n, unit, max)
}

// seqLen returns the length and kind of a string, bytes, list or tuple, or
// -1 for other values.
func seqLen(v starlark.Value) (int, string) {
	switch v := v.(type) {
	case starlark.String:
		return len(v), "string"
	case starlark.Bytes:
		return len(v), "bytes"
	case *starlark.List:
		return v.Len(), "list"
	case starlark.Tuple:
		return len(v), "tuple"
	}
	return -1, ""
}

func twoArgs(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) error {
	if len(args) != 2 || len(kwargs) != 0 {
		return fmt.Errorf("%s: internal error: want 2 arguments", b.Name())
	}
	return nil
}

// Approximate costs, in bytes, of an element of a built value, measured
// with runtime.MemStats (growth garbage included).
const (
	elemCost      = 16  // a list or tuple slot
	pairCost      = 96  // a slot holding a new 2-tuple: items(), enumerate(), zip()
	hashEntryCost = 150 // a dict or set entry
)

// pairOps build lists of new 2-tuples.
var pairOps = map[string]bool{"items": true, "enumerate": true, "zip": true}

// sizeOf approximates the bytes that the top level of a value occupies.
func sizeOf(v starlark.Value) int64 {
	switch v := v.(type) {
	case starlark.String:
		return int64(len(v))
	case starlark.Bytes:
		return int64(len(v))
	case *starlark.List:
		return elemCost * int64(v.Len())
	case starlark.Tuple:
		return elemCost * int64(len(v))
	case *starlark.Dict:
		return hashEntryCost * int64(v.Len())
	case *starlark.Set:
		return hashEntryCost * int64(v.Len())
	case starlark.Int:
		if _, ok := v.Int64(); !ok {
			return int64(v.BigInt().BitLen() / 8)
		}
	}
	return 0
}

// charge counts n bytes against the run's allocation budget: each guard
// charges what it builds, garbage or not, so that a loop that keeps copies
// of large values cannot fill the memory within its step budget.
func (r *run) charge(op string, n int64) error {
	if r.allocated += n; r.allocated > r.allocBudget {
		return fmt.Errorf("memory budget exceeded: %s takes the expression past %d MiB of allocations", op, r.allocBudget>>20)
	}
	return nil
}

// result checks and charges the value an operation built.
func (r *run) result(op string, v starlark.Value, err error) (starlark.Value, error) {
	if err != nil {
		return nil, err
	}
	if _, isInt := v.(starlark.Int); !isInt {
		if n := starlark.Len(v); n > r.lim.MaxValueLen {
			return nil, tooLarge(op, n, r.lim.MaxValueLen, v.Type())
		}
	}
	size := sizeOf(v)
	if pairOps[op] {
		size = pairCost * int64(starlark.Len(v))
	}
	if err := r.charge(op, size); err != nil {
		return nil, err
	}
	return v, nil
}

// binaryGuard is the guard of x op y.
func binaryGuard(op syntax.Token) builtinFunc {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := twoArgs(b, args, kwargs); err != nil {
			return nil, err
		}
		r, x, y := runOf(thread), args[0], args[1]
		var err error
		switch op {
		case syntax.PLUS:
			err = r.checkAdd(x, y)
		case syntax.STAR:
			err = r.checkMul(x, y)
		case syntax.LTLT:
			err = checkShift(x, y)
		case syntax.PERCENT:
			if format, ok := x.(starlark.String); ok {
				err = r.checkFormat("%", string(format), strings.Count(string(format), "%"), args[1:], nil)
			}
		}
		if err != nil {
			return nil, err
		}
		v, ok, err := r.collectionOp(op, x, y)
		if !ok {
			v, err = starlark.Binary(op, x, y)
		}
		return r.result(op.String(), v, err)
	}
}

func (r *run) checkAdd(x, y starlark.Value) error {
	n, kind := seqLen(x)
	m, kind2 := seqLen(y)
	if max := r.lim.MaxValueLen; n >= 0 && kind == kind2 && n+m > max {
		return tooLarge("+", n+m, max, kind)
	}
	return nil
}

// guardIAdd is x += y: lists are extended in place, as Starlark does.
func guardIAdd(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := twoArgs(b, args, kwargs); err != nil {
		return nil, err
	}
	list, ok := args[0].(*starlark.List)
	if !ok {
		return binaryGuard(syntax.PLUS)(thread, b, args, kwargs)
	}
	if _, ok := args[1].(starlark.Iterable); !ok {
		return starlark.Binary(syntax.PLUS, args[0], args[1])
	}
	if err := extendList(thread, list, args[1], "+="); err != nil {
		return nil, err
	}
	return list, nil
}

// extendList appends the elements of y to list, refusing to pass the size
// limit. It copies y's elements first, so that l.extend(l) works.
func extendList(thread *starlark.Thread, list *starlark.List, y starlark.Value, op string) error {
	r := runOf(thread)
	max := r.lim.MaxValueLen
	if n := starlark.Len(y); n >= 0 && list.Len()+n > max {
		return tooLarge(op, list.Len()+n, max, "list")
	}
	var elems []starlark.Value
	for v := range starlark.Elements(y.(starlark.Iterable)) {
		if list.Len()+len(elems) >= max {
			return tooLarge(op, list.Len()+len(elems)+1, max, "list")
		}
		elems = append(elems, v)
	}
	if err := r.charge(op, elemCost*int64(len(elems))); err != nil {
		return err
	}
	for _, v := range elems {
		if err := list.Append(v); err != nil {
			return fmt.Errorf("%s: %v", op, err)
		}
	}
	return nil
}

func (r *run) checkMul(x, y starlark.Value) error {
	max := r.lim.MaxValueLen
	xi, xInt := x.(starlark.Int)
	yi, yInt := y.(starlark.Int)
	switch {
	case xInt && yInt:
		_, xSmall := xi.Int64()
		_, ySmall := yi.Int64()
		if !xSmall || !ySmall {
			if bits := xi.BigInt().BitLen() + yi.BigInt().BitLen(); bits > maxIntBits {
				return fmt.Errorf("value too large: * would build an integer of %d bits (the limit is %d)", bits, maxIntBits)
			}
		}
	case xInt || yInt:
		seq, count := y, xi
		if yInt {
			seq, count = x, yi
		}
		if n, kind := seqLen(seq); n > 0 {
			if c, err := starlark.AsInt32(count); err == nil && c > 0 && int64(n)*int64(c) > int64(max) {
				return tooLarge("*", int(min(int64(n)*int64(c), 1<<62)), max, kind)
			}
		}
	}
	return nil
}

// checkShift bounds x << y as multiplication is bounded: Starlark allows
// shifts of up to 511 bits, which repeated build integers of any size.
func checkShift(x, y starlark.Value) error {
	xi, ok1 := x.(starlark.Int)
	yi, ok2 := y.(starlark.Int)
	if !ok1 || !ok2 {
		return nil
	}
	shift, ok := yi.Int64()
	if !ok || shift < 0 || shift > maxIntBits {
		return nil // Starlark refuses it
	}
	if bits := intBits(xi) + int(shift); bits > maxIntBits {
		return fmt.Errorf("value too large: << would build an integer of %d bits (the limit is %d)", bits, maxIntBits)
	}
	return nil
}

func intBits(i starlark.Int) int {
	if small, ok := i.Int64(); ok {
		return bits.Len64(uint64(max(small, -small)))
	}
	return i.BigInt().BitLen()
}

// guardSliced is the operand of a slice x[i:j:k]: slicing a list or a
// tuple copies it, and so does slicing a string with a step.
func guardSliced(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := twoArgs(b, args, kwargs); err != nil {
		return nil, err
	}
	x := args[0]
	switch x.(type) {
	case starlark.String, starlark.Bytes:
		if hasStep, _ := starlark.AsInt32(args[1]); hasStep == 0 {
			return x, nil // a substring shares its bytes
		}
	}
	return x, runOf(thread).charge("slice", sizeOf(x))
}

// checkFormat bounds the result of formatting: the format text plus, for
// each of its fields, the largest argument.
func (r *run) checkFormat(op, format string, fields int, args starlark.Tuple, kwargs []starlark.Tuple) error {
	if fields == 0 {
		return nil
	}
	max := r.lim.MaxValueLen
	largest := 0
	var err error
	for _, v := range args {
		if largest, err = strSize(v, max, largest); err != nil {
			return err
		}
	}
	for _, kv := range kwargs {
		if largest, err = strSize(kv[1], max, largest); err != nil {
			return err
		}
	}
	if n := int64(len(format)) + int64(fields)*int64(largest); n > int64(max) {
		return tooLarge(op, int(min(n, 1<<62)), max, "string")
	}
	return nil
}

// strSize returns max(floor, an upper bound of len(repr(v))), stopping as
// soon as the bound passes limit. Values nested more than maxNesting
// levels deep are refused: Starlark's own str() looks for cycles along the
// path to each value, quadratic in the depth.
func strSize(v starlark.Value, limit, floor int) (int, error) {
	s := sizer{limit: limit}
	s.walk(v)
	if s.deep {
		return 0, fmt.Errorf("value nested more than %d levels deep", maxNesting)
	}
	return max(floor, s.n), nil
}

type sizer struct {
	limit, n int
	path     []starlark.Value // containers being walked, to spot cycles
	depth    int
	deep     bool
}

func (s *sizer) walk(v starlark.Value) {
	if s.n > s.limit || s.deep {
		return
	}
	switch v := v.(type) {
	case starlark.String:
		s.n += quotedLen(string(v))
		return
	case starlark.Bytes:
		s.n += quotedLen(string(v))
		return
	case starlark.Int:
		// Printing a big integer in decimal costs more than linear time:
		// count its digits from its bits instead (log10(2) < 0.31).
		s.n += intBits(v)*31/100 + 2
		return
	case *starlark.List, starlark.Tuple, *starlark.Dict, *starlark.Set:
	default:
		s.n += len(v.String())
		return
	}
	if s.depth >= maxNesting {
		s.deep = true
		return
	}
	for _, p := range s.path {
		if p == v {
			s.n += 5 // [...]
			return
		}
	}
	if _, ok := v.(starlark.Tuple); !ok {
		s.path = append(s.path, v)
		defer func() { s.path = s.path[:len(s.path)-1] }()
	}
	s.depth++
	defer func() { s.depth-- }()
	s.n += 2
	if d, ok := v.(*starlark.Dict); ok {
		for k, val := range starlark.Entries(d) {
			s.n += 4
			s.walk(k)
			s.walk(val)
			if s.n > s.limit {
				return
			}
		}
		return
	}
	for e := range starlark.Elements(v.(starlark.Iterable)) {
		s.n += 2
		s.walk(e)
		if s.n > s.limit {
			return
		}
	}
}

// checkStr refuses to turn v into text longer than MaxValueLen, or to
// turn a value nested too deep into text at all.
func (r *run) checkStr(op string, v starlark.Value) error {
	max := r.lim.MaxValueLen
	n, err := strSize(v, max, 0)
	if err == nil && n > max {
		err = tooLarge(op, n, max, "string")
	}
	if err != nil {
		return fmt.Errorf("%s: %v", op, err)
	}
	return nil
}

// quotedLen bounds the length of a quoted string: escapes take at most
// four bytes per input byte.
func quotedLen(s string) int {
	n := 2 + len(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '\\' || c == '"' || c >= 0x7f {
			n += 3
		}
	}
	return n
}

// guardMethod is recv.name for the methods in guardedMethods.
func guardMethod(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := twoArgs(b, args, kwargs); err != nil {
		return nil, err
	}
	name, _ := starlark.AsString(args[1])
	attr, err := getAttr(args[0], name)
	if err != nil {
		return nil, err
	}
	return guardedAttr(args[0], name, attr), nil
}

func getAttr(x starlark.Value, name string) (starlark.Value, error) {
	if h, ok := x.(starlark.HasAttrs); ok {
		v, err := h.Attr(name)
		if err != nil || v != nil {
			return v, err
		}
	}
	return nil, fmt.Errorf("%s has no .%s field or method", x.Type(), name)
}

// guardedAttr wraps the methods in guardedMethods: those that hash,
// compare or walk elements run as in collections.go; those that copy data
// check the size of what they are about to build when that can be far
// larger than their inputs, and charge what they built.
func guardedAttr(recv starlark.Value, name string, method starlark.Value) starlark.Value {
	if _, ok := method.(*starlark.Builtin); !ok {
		return method
	}
	var check func(r *run, args starlark.Tuple, kwargs []starlark.Tuple) error
	switch recv := recv.(type) {
	case starlark.String:
		switch name {
		case "format":
			check = func(r *run, args starlark.Tuple, kwargs []starlark.Tuple) error {
				return r.checkFormat("format", string(recv), strings.Count(string(recv), "{"), args, kwargs)
			}
		case "join":
			check = func(r *run, args starlark.Tuple, _ []starlark.Tuple) error {
				return r.checkJoin(string(recv), args)
			}
		case "replace":
			check = func(r *run, args starlark.Tuple, _ []starlark.Tuple) error {
				return r.checkReplace(string(recv), args)
			}
		}
	case *starlark.List:
		switch name {
		case "extend":
			return starlark.NewBuiltin("extend", func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				var iterable starlark.Iterable
				if err := starlark.UnpackPositionalArgs("extend", args, kwargs, 1, &iterable); err != nil {
					return nil, err
				}
				return starlark.None, extendList(thread, recv, iterable, "extend")
			})
		case "index", "remove":
			return listMethod(recv, name)
		}
	case *starlark.Dict:
		switch name {
		case "update":
			return dictUpdate(recv)
		case "get", "pop", "setdefault":
			return keyMethod(method)
		}
	case *starlark.Set:
		switch name {
		case "union", "difference", "intersection", "symmetric_difference", "issubset", "issuperset", "update":
			return setMethod(recv, name)
		case "add", "discard", "remove":
			return keyMethod(method)
		}
	}
	if !copyingMethods[name] {
		return method
	}
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		r := runOf(thread)
		if check != nil {
			if err := check(r, args, kwargs); err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
		}
		v, err := starlark.Call(thread, method, args, kwargs)
		return r.result(name, v, err)
	})
}

func (r *run) checkJoin(sep string, args starlark.Tuple) error {
	if len(args) != 1 {
		return nil // join reports it
	}
	iterable, ok := args[0].(starlark.Iterable)
	if !ok {
		return nil
	}
	max, n, count := r.lim.MaxValueLen, 0, 0
	for v := range starlark.Elements(iterable) {
		if s, ok := v.(starlark.String); ok {
			n += len(s)
		}
		if count++; n+count*len(sep) > max {
			return tooLarge("join", n+count*len(sep), max, "string")
		}
	}
	return nil
}

func (r *run) checkReplace(s string, args starlark.Tuple) error {
	if len(args) < 2 {
		return nil
	}
	old, ok1 := starlark.AsString(args[0])
	repl, ok2 := starlark.AsString(args[1])
	if !ok1 || !ok2 || len(repl) <= len(old) {
		return nil
	}
	count := strings.Count(s, old)
	if len(args) > 2 {
		if c, err := starlark.AsInt32(args[2]); err == nil && c >= 0 {
			count = min(count, c)
		}
	}
	max := r.lim.MaxValueLen
	if n := int64(len(s)) + int64(count)*int64(len(repl)-len(old)); n > int64(max) {
		return tooLarge("replace", int(min(n, 1<<62)), max, "string")
	}
	return nil
}
