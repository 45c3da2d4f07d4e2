package expression

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Memory guards. The step limit counts interpreter steps, but one step can
// allocate without bound: "a" * (1 << 29), s = s + s thirty times, str() of
// a list that holds itself through a thousand paths. Each guard computes
// the size of what an operation is about to build and refuses when it
// exceeds Limits.MaxValueLen, before allocating.

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

// guardAdd is x + y.
func guardAdd(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := twoArgs(b, args, kwargs); err != nil {
		return nil, err
	}
	if err := checkAdd(thread, args[0], args[1]); err != nil {
		return nil, err
	}
	return starlark.Binary(syntax.PLUS, args[0], args[1])
}

func checkAdd(thread *starlark.Thread, x, y starlark.Value) error {
	n, kind := seqLen(x)
	m, kind2 := seqLen(y)
	if max := runOf(thread).lim.MaxValueLen; n >= 0 && kind == kind2 && n+m > max {
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
		return guardAdd(thread, b, args, kwargs)
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
	max := runOf(thread).lim.MaxValueLen
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
	for _, v := range elems {
		if err := list.Append(v); err != nil {
			return fmt.Errorf("%s: %v", op, err)
		}
	}
	return nil
}

// guardMul is x * y.
func guardMul(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := twoArgs(b, args, kwargs); err != nil {
		return nil, err
	}
	x, y := args[0], args[1]
	max := runOf(thread).lim.MaxValueLen
	xi, xInt := x.(starlark.Int)
	yi, yInt := y.(starlark.Int)
	switch {
	case xInt && yInt:
		_, xSmall := xi.Int64()
		_, ySmall := yi.Int64()
		if !xSmall || !ySmall {
			if bits := xi.BigInt().BitLen() + yi.BigInt().BitLen(); bits > maxIntBits {
				return nil, fmt.Errorf("value too large: * would build an integer of %d bits (the limit is %d)", bits, maxIntBits)
			}
		}
	case xInt || yInt:
		seq, count := y, xi
		if yInt {
			seq, count = x, yi
		}
		if n, kind := seqLen(seq); n > 0 {
			if c, err := starlark.AsInt32(count); err == nil && c > 0 && int64(n)*int64(c) > int64(max) {
				return nil, tooLarge("*", int(min(int64(n)*int64(c), 1<<62)), max, kind)
			}
		}
	}
	return starlark.Binary(syntax.STAR, x, y)
}

// guardMod is x % y; string formatting may repeat its arguments.
func guardMod(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := twoArgs(b, args, kwargs); err != nil {
		return nil, err
	}
	if format, ok := args[0].(starlark.String); ok {
		if err := checkFormat(thread, "%", string(format), strings.Count(string(format), "%"), args[1:], nil); err != nil {
			return nil, err
		}
	}
	return starlark.Binary(syntax.PERCENT, args[0], args[1])
}

// checkFormat bounds the result of formatting: the format text plus, for
// each of its fields, the largest argument.
func checkFormat(thread *starlark.Thread, op, format string, fields int, args starlark.Tuple, kwargs []starlark.Tuple) error {
	if fields == 0 {
		return nil
	}
	max := runOf(thread).lim.MaxValueLen
	largest := 0
	for _, v := range args {
		largest = strSize(v, max, largest)
	}
	for _, kv := range kwargs {
		largest = strSize(kv[1], max, largest)
	}
	if n := int64(len(format)) + int64(fields)*int64(largest); n > int64(max) {
		return tooLarge(op, int(min(n, 1<<62)), max, "string")
	}
	return nil
}

// strSize returns max(floor, an upper bound of len(repr(v))), stopping as
// soon as the bound passes limit.
func strSize(v starlark.Value, limit, floor int) int {
	s := sizer{limit: limit}
	s.walk(v)
	return max(floor, s.n)
}

type sizer struct {
	limit, n int
	path     []starlark.Value // containers being walked, to spot cycles
}

func (s *sizer) walk(v starlark.Value) {
	if s.n > s.limit {
		return
	}
	switch v := v.(type) {
	case starlark.String:
		s.n += quotedLen(string(v))
		return
	case starlark.Bytes:
		s.n += quotedLen(string(v))
		return
	case *starlark.List, starlark.Tuple, *starlark.Dict, *starlark.Set:
	default:
		s.n += len(v.String())
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

// guardedAttr wraps the methods that can build large values in a check
// that runs before them.
func guardedAttr(recv starlark.Value, name string, method starlark.Value) starlark.Value {
	var check func(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) error
	switch recv := recv.(type) {
	case starlark.String:
		switch name {
		case "format":
			check = func(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) error {
				return checkFormat(thread, "format", string(recv), strings.Count(string(recv), "{"), args, kwargs)
			}
		case "join":
			check = func(thread *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) error {
				return checkJoin(thread, string(recv), args)
			}
		case "replace":
			check = func(thread *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) error {
				return checkReplace(thread, string(recv), args)
			}
		}
	case *starlark.List:
		if name == "extend" {
			return starlark.NewBuiltin("extend", func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				var iterable starlark.Iterable
				if err := starlark.UnpackPositionalArgs("extend", args, kwargs, 1, &iterable); err != nil {
					return nil, err
				}
				return starlark.None, extendList(thread, recv, iterable, "extend")
			})
		}
	}
	if check == nil {
		return method
	}
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := check(thread, args, kwargs); err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		return starlark.Call(thread, method, args, kwargs)
	})
}

func checkJoin(thread *starlark.Thread, sep string, args starlark.Tuple) error {
	if len(args) != 1 {
		return nil // join reports it
	}
	iterable, ok := args[0].(starlark.Iterable)
	if !ok {
		return nil
	}
	max, n, count := runOf(thread).lim.MaxValueLen, 0, 0
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

func checkReplace(thread *starlark.Thread, s string, args starlark.Tuple) error {
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
	max := runOf(thread).lim.MaxValueLen
	if n := int64(len(s)) + int64(count)*int64(len(repl)-len(old)); n > int64(max) {
		return tooLarge("replace", int(min(n, 1<<62)), max, "string")
	}
	return nil
}
