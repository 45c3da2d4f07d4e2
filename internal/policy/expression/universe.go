package expression

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// Replacements of Starlark builtins (guarded versions) and the Authentik
// utilities that do not need the run's input.

func universe(name string) *starlark.Builtin { return starlark.Universe[name].(*starlark.Builtin) }

var (
	builtinStr     = universe("str")
	builtinRepr    = universe("repr")
	builtinFail    = universe("fail")
	builtinRange   = universe("range")
	builtinInt     = universe("int")
	builtinGetattr = universe("getattr")
)

// stringify is str and repr: they refuse values whose text would be too
// large (a list that contains itself many times over, for example).
func stringify(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) == 1 && len(kwargs) == 0 && b.Name() == "str" {
		if s, ok := args[0].(starlark.String); ok {
			return s, nil // no copy, nothing to charge
		}
	}
	if len(args) == 1 && len(kwargs) == 0 {
		if _, ok := args[0].(starlark.String); !ok || b.Name() == "repr" {
			if err := runOf(thread).checkStr(b.Name(), args[0]); err != nil {
				return nil, err
			}
		}
	}
	fn := builtinStr
	if b.Name() == "repr" {
		fn = builtinRepr
	}
	v, err := fn.CallInternal(thread, args, kwargs)
	return runOf(thread).result(b.Name(), v, err)
}

// charging wraps a Starlark builtin that copies data (list, sorted, ...)
// so that what it builds counts against the run's limits.
func charging(name string) builtinFunc {
	fn := universe(name)
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		v, err := fn.CallInternal(thread, args, kwargs)
		return runOf(thread).result(name, v, err)
	}
}

func guardFail(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := runOf(thread).checkStr("fail", args); err != nil {
		return nil, err
	}
	return builtinFail.CallInternal(thread, args, kwargs)
}

// noop is print and the methods of ak_logger: they accept anything and do
// nothing (Starlark's print writes to stderr).
func noop(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return starlark.None, nil
}

// guardRange refuses ranges longer than MaxValueLen: list(range(n)),
// sorted(range(n)) and the like run in Go, out of the step counter's
// sight.
func guardRange(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r, err := builtinRange.CallInternal(thread, args, kwargs)
	if err != nil {
		return nil, err
	}
	if max := runOf(thread).lim.MaxValueLen; starlark.Len(r) > max {
		return nil, fmt.Errorf("range: too many elements (%d, the limit is %d)", starlark.Len(r), max)
	}
	return r, nil
}

func guardInt(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 {
		if s, ok := args[0].(starlark.String); ok && len(s) > maxIntDigits {
			return nil, fmt.Errorf("int: string too long (%d characters, the limit is %d)", len(s), maxIntDigits)
		}
	}
	return builtinInt.CallInternal(thread, args, kwargs)
}

func guardGetattr(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	v, err := builtinGetattr.CallInternal(thread, args, kwargs)
	if err != nil || len(args) < 2 {
		return v, err
	}
	if name, ok := starlark.AsString(args[1]); ok && guardedMethods[name] {
		return guardedAttr(args[0], name, v), nil
	}
	return v, nil
}

// isinstanceTypes maps the type builtins to the type names they accept.
var isinstanceTypes = map[string][]string{
	"str": {"string"}, "int": {"int", "bool"}, "float": {"float"}, "bool": {"bool"},
	"list": {"list"}, "dict": {"dict"}, "tuple": {"tuple"}, "set": {"set"}, "bytes": {"bytes"},
}

// isinstance(x, str) or isinstance(x, (list, tuple)), for the builtin
// types: Starlark has no classes.
func isinstance(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, types starlark.Value
	if err := starlark.UnpackPositionalArgs("isinstance", args, kwargs, 2, &x, &types); err != nil {
		return nil, err
	}
	list, ok := types.(starlark.Tuple)
	if !ok {
		list = starlark.Tuple{types}
	}
	for _, t := range list {
		var names []string
		if fn, ok := t.(*starlark.Builtin); ok {
			names = isinstanceTypes[fn.Name()]
		}
		if names == nil {
			return nil, fmt.Errorf("isinstance: want str, int, float, bool, list, dict, tuple, set or bytes, got %s", t)
		}
		for _, n := range names {
			if x.Type() == n {
				return starlark.True, nil
			}
		}
	}
	return starlark.False, nil
}

// listFlatten is Authentik's list_flatten: the first element of a list or
// tuple (None when empty), any other value unchanged.
func listFlatten(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs("list_flatten", args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	if seq, ok := v.(starlark.Indexable); ok && (v.Type() == "list" || v.Type() == "tuple") {
		if seq.Len() == 0 {
			return starlark.None, nil
		}
		return seq.Index(0), nil
	}
	return v, nil
}

// slugify is Django's slugify: ASCII letters, digits, underscores and
// hyphens, lower case, runs of spaces and hyphens folded to one hyphen.
// Accented Latin letters lose their accents (Django decomposes with NFKD;
// this table covers Latin-1 and Latin Extended-A); other letters are
// dropped, as Django drops them.
func slugify(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starlark.UnpackPositionalArgs("slugify", args, kwargs, 1, &s); err != nil {
		return nil, err
	}
	var sb strings.Builder
	dash := false
	for _, r := range s {
		if r >= utf8.RuneSelf {
			r = unaccent(r)
		}
		switch {
		case r == '-' || unicode.IsSpace(r):
			dash = sb.Len() > 0
		case r < utf8.RuneSelf && (r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash {
				sb.WriteByte('-')
				dash = false
			}
			sb.WriteRune(unicode.ToLower(r))
		}
	}
	return starlark.String(strings.Trim(sb.String(), "-_")), nil
}

// latinBase holds, for U+00C0..U+017F, the ASCII letter each character
// decomposes to under NFKD ('.' when none), generated with Python's unicodedata.
const latinBase = "AAAAAA.CEEEEIIII.NOOOOO..UUUUY..aaaaaa.ceeeeiiii.nooooo..uuuuy.y" +
	"AaAaAaCcCcCcCcDd..EeEeEeEeEeGgGgGgGgHh..IiIiIiIiI...JjKk.LlLlLlLl..NnNnNnn..OoOoOo..RrRrRrSsSsSsSsTtTt..UuUuUuUuUuUuWwYyYZzZzZzs"

func unaccent(r rune) rune {
	if r >= 0xC0 && int(r-0xC0) < len(latinBase) && latinBase[r-0xC0] != '.' {
		return rune(latinBase[r-0xC0])
	}
	return r
}
