package expression

import (
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/syntax"
)

// pythonize rewrites the Python spellings that Starlark lacks but that map
// one to one, keeping every byte offset so that positions in errors stay
// true: "is not" becomes "!=" and "is" becomes "==" (equality rather than
// identity, which is what `x is None` means in practice). It rejects
// f-strings with a hint, since Starlark would report a bare syntax error.
func pythonize(name, src string) (string, *CompileError) {
	var out []byte // copy on first change
	set := func(i int, s string) {
		if out == nil {
			out = []byte(src)
		}
		copy(out[i:], s)
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '\'' || c == '"':
			i = skipString(src, i)
		case isIdentStart(c):
			start := i
			for i < len(src) && isIdentByte(src[i]) {
				i++
			}
			word := src[start:i]
			if i < len(src) && (src[i] == '\'' || src[i] == '"') && isStringPrefix(word) {
				if strings.ContainsAny(word, "fF") {
					line, col := lineCol(src, start)
					return "", &CompileError{Name: name, Line: line, Column: col, Msg: "f-strings are not supported; " +
						`use "Hello {}".format(name) or "Hello %s" % name`}
				}
				i = skipString(src, i)
				continue
			}
			if word != "is" || (start > 0 && src[start-1] == '.') {
				continue
			}
			j := i
			for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
				j++
			}
			if strings.HasPrefix(src[j:], "not") && (j+3 == len(src) || !isIdentByte(src[j+3])) {
				set(start, "!=")
				set(j, "   ")
				i = j + 3
			} else {
				set(start, "==")
			}
		case c >= '0' && c <= '9':
			for i < len(src) && (isIdentByte(src[i]) || src[i] == '.') {
				i++
			}
		default:
			i++
		}
	}
	if out == nil {
		return src, nil
	}
	return string(out), nil
}

// skipString returns the offset just past the string literal whose opening
// quote is at src[i], or len(src) if it is not terminated (the parser then
// reports it).
func skipString(src string, i int) int {
	q := src[i]
	triple := strings.HasPrefix(src[i:], strings.Repeat(string(q), 3))
	if triple {
		i += 3
	} else {
		i++
	}
	for i < len(src) {
		switch c := src[i]; {
		case c == '\\':
			i += 2
		case triple && strings.HasPrefix(src[i:], strings.Repeat(string(q), 3)):
			return i + 3
		case !triple && c == q:
			return i + 1
		case !triple && c == '\n':
			return i
		default:
			i++
		}
	}
	return len(src)
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentByte(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "b", "u", "f", "rb", "br", "fr", "rf":
		return true
	}
	return false
}

func lineCol(src string, off int) (line, col int) {
	line = 1 + strings.Count(src[:off], "\n")
	return line, off - strings.LastIndex(src[:off], "\n")
}

// pythonHints explain the Python statements Starlark does not have.
var pythonHints = map[string]string{
	"try":      "Starlark has no exceptions: test values first (dict.get, `in`) and call fail(\"message\") to stop with an error",
	"except":   "Starlark has no exceptions: test values first (dict.get, `in`) and call fail(\"message\") to stop with an error",
	"finally":  "Starlark has no exceptions",
	"raise":    "use fail(\"message\") to stop with an error",
	"class":    "classes are not supported; use dicts and functions",
	"import":   "imports are not supported; the helpers (ak_*, regex_match, ...) are already defined",
	"from":     "imports are not supported; the helpers (ak_*, regex_match, ...) are already defined",
	"with":     "with statements are not supported",
	"del":      "del is not supported; use dict.pop or list.remove",
	"global":   "global is not supported; return values instead",
	"nonlocal": "nonlocal is not supported; return values instead",
	"yield":    "generators are not supported; build a list",
	"async":    "async is not supported",
	"await":    "await is not supported",
	"assert":   "assert is not supported; use `if not condition: fail(\"message\")`",
	"as":       "`as` is not supported",
}

// compileError turns a parser or resolver error into a CompileError with a
// hint when the source uses a Python feature that Starlark lacks.
func compileError(name, src string, err error) *CompileError {
	var pos syntax.Position
	msg := err.Error()
	var se syntax.Error
	var rl resolve.ErrorList
	switch {
	case errors.As(err, &se):
		pos, msg = se.Pos, se.Msg
	case errors.As(err, &rl):
		pos, msg = rl[0].Pos, rl[0].Msg
		if len(rl) > 1 {
			msg += fmt.Sprintf(" (and %d more errors)", len(rl)-1)
		}
	}
	ce := &CompileError{Name: name, Line: int(pos.Line), Column: int(pos.Col), Msg: "syntax error: " + msg}
	hint := hintAt(src, ce.Line)
	if strings.Contains(msg, "'**'") {
		hint = "Starlark has no ** operator: use multiplication, or 1 << n for powers of two"
	}
	if hint != "" {
		ce.Msg += " (" + hint + ")"
	}
	return ce
}

// hintAt returns the hint for the first Python-only keyword on the given
// line (1-based) of src.
func hintAt(src string, line int) string {
	lines := strings.Split(src, "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	for _, w := range strings.FieldsFunc(lines[line-1], func(r rune) bool {
		return r > 0x7f || !isIdentByte(byte(r))
	}) {
		if h, ok := pythonHints[w]; ok {
			return h
		}
	}
	return ""
}

// rejectLoads refuses load statements: expressions reach nothing outside
// their own text.
func rejectLoads(name string, f *syntax.File) *CompileError {
	for _, stmt := range f.Stmts {
		if l, ok := stmt.(*syntax.LoadStmt); ok {
			return &CompileError{Name: name, Line: int(l.Load.Line), Column: int(l.Load.Col),
				Msg: "load statements are not allowed in expressions"}
		}
	}
	return nil
}

// wrapBody turns the file into `def expression(): <body>`, so that the
// source may `return` as Authentik expressions do, and guards the
// operations that allocate in one step (see guard.go). Positions are those
// of the original source: the wrapper is built as a syntax tree, not
// textually.
func wrapBody(name string, f *syntax.File) {
	pos := syntax.MakePosition(&name, 1, 1)
	rw := &rewriter{}
	body := rw.stmts(f.Stmts)
	if len(body) == 0 {
		body = []syntax.Stmt{&syntax.BranchStmt{Token: syntax.PASS, TokenPos: pos}}
	}
	f.Stmts = []syntax.Stmt{&syntax.DefStmt{
		Def: pos, Name: &syntax.Ident{NamePos: pos, Name: entryName},
		Lparen: pos, Rparen: pos, Body: body,
	}}
}
