package expression

import (
	"fmt"
	"strconv"

	"go.starlark.net/syntax"
)

// The rewriter replaces, in the syntax tree, the operations that can build
// a huge value, or hash or compare one, in a single interpreter step with
// calls to guarded builtins (guard.go, work.go):
//
//	x + y, x * y, x % y ...  ->  $add(x, y), $mul(x, y), $mod(x, y) ...
//	x += y (and *=, %=)      ->  x = $iadd(x, y)    ($iadd extends lists in place)
//	a[i] += y                ->  $t0 = a; $t1 = i; $t0[$t1] = $iadd($t0[$t1], y)
//	x[i:j]                   ->  $sliced(x, 0)[i:j]
//	s.format, l.extend ...   ->  $method(s, "format") ...
//	x == y, x in y ...       ->  $eq(x, y), $in(x, y) ...
//	{k: v}, x[k]             ->  {$key(k): v}, x[$key(k)]
//
// The names start with '$', which no source can spell, so an expression
// can neither call nor shadow them. Positions are kept, so errors point at
// the operator as before.
type rewriter struct {
	temps int
}

// guardedBinary maps the operators the rewriter replaces to their guards.
var guardedBinary = map[syntax.Token]string{
	syntax.PLUS:       "$add",
	syntax.MINUS:      "$sub",
	syntax.STAR:       "$mul",
	syntax.PERCENT:    "$mod",
	syntax.PIPE:       "$or",
	syntax.AMP:        "$and",
	syntax.CIRCUMFLEX: "$xor",
	syntax.LTLT:       "$shl",
	syntax.EQL:        "$eq",
	syntax.NEQ:        "$ne",
	syntax.LT:         "$lt",
	syntax.LE:         "$le",
	syntax.GT:         "$gt",
	syntax.GE:         "$ge",
	syntax.IN:         "$in",
	syntax.NOT_IN:     "$notin",
}

// guardedAugmented maps augmented assignments to their guards.
var guardedAugmented = map[syntax.Token]string{
	syntax.PLUS_EQ:       "$iadd",
	syntax.MINUS_EQ:      "$sub",
	syntax.STAR_EQ:       "$mul",
	syntax.PERCENT_EQ:    "$mod",
	syntax.PIPE_EQ:       "$or",
	syntax.AMP_EQ:        "$and",
	syntax.CIRCUMFLEX_EQ: "$xor",
	syntax.LTLT_EQ:       "$shl",
}

// copyingMethods are the methods of built-in types that copy data, some
// into results far larger than their receiver and arguments.
var copyingMethods = map[string]bool{
	"format": true, "join": true, "replace": true, "extend": true,
	"items": true, "keys": true, "values": true,
	"split": true, "rsplit": true, "splitlines": true,
	"lower": true, "upper": true, "title": true, "capitalize": true,
	"union": true, "difference": true, "intersection": true, "symmetric_difference": true,
}

// guardedMethods are the methods the rewriter routes through $method:
// those that copy, and those that hash, compare or walk elements (see
// guardedAttr).
var guardedMethods = func() map[string]bool {
	m := map[string]bool{
		"index": true, "remove": true, "update": true, "issubset": true, "issuperset": true,
		"get": true, "pop": true, "setdefault": true, "add": true, "discard": true,
	}
	for name := range copyingMethods {
		m[name] = true
	}
	return m
}()

func call(fn string, pos syntax.Position, args ...syntax.Expr) *syntax.CallExpr {
	return &syntax.CallExpr{
		Fn:     &syntax.Ident{NamePos: pos, Name: fn},
		Lparen: pos, Args: args, Rparen: pos,
	}
}

// key is a dict key or subscript, checked by $key before it is hashed
// (literals need no check).
func key(e syntax.Expr) syntax.Expr {
	if _, ok := e.(*syntax.Literal); ok {
		return e
	}
	start, _ := e.Span()
	return call("$key", start, e)
}

func ident(name string, pos syntax.Position) *syntax.Ident {
	return &syntax.Ident{NamePos: pos, Name: name}
}

func (rw *rewriter) temp(pos syntax.Position) *syntax.Ident {
	rw.temps++
	return ident(fmt.Sprintf("$t%d", rw.temps-1), pos)
}

func (rw *rewriter) stmts(list []syntax.Stmt) []syntax.Stmt {
	out := make([]syntax.Stmt, 0, len(list))
	for _, s := range list {
		out = append(out, rw.stmt(s)...)
	}
	return out
}

func (rw *rewriter) stmt(s syntax.Stmt) []syntax.Stmt {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		if guard, ok := guardedAugmented[s.Op]; ok {
			return rw.augmented(s, guard)
		}
		s.LHS = rw.target(s.LHS)
		s.RHS = rw.expr(s.RHS)
	case *syntax.DefStmt:
		rw.params(s.Params)
		s.Body = rw.stmts(s.Body)
	case *syntax.ExprStmt:
		s.X = rw.expr(s.X)
	case *syntax.ForStmt:
		s.Vars = rw.target(s.Vars)
		s.X = rw.expr(s.X)
		s.Body = rw.stmts(s.Body)
	case *syntax.WhileStmt:
		s.Cond = rw.expr(s.Cond)
		s.Body = rw.stmts(s.Body)
	case *syntax.IfStmt:
		s.Cond = rw.expr(s.Cond)
		s.True = rw.stmts(s.True)
		s.False = rw.stmts(s.False)
	case *syntax.ReturnStmt:
		if s.Result != nil {
			s.Result = rw.expr(s.Result)
		}
	}
	return []syntax.Stmt{s}
}

// augmented rewrites `lhs op= rhs` into a plain assignment of the guard's
// result, evaluating the parts of lhs once, as Python does.
func (rw *rewriter) augmented(s *syntax.AssignStmt, guard string) []syntax.Stmt {
	pos := s.OpPos
	assign := func(lhs, rhs syntax.Expr) *syntax.AssignStmt {
		return &syntax.AssignStmt{OpPos: pos, Op: syntax.EQ, LHS: lhs, RHS: rhs}
	}
	rhs := rw.expr(s.RHS)
	lhs := s.LHS
	for {
		p, ok := lhs.(*syntax.ParenExpr)
		if !ok {
			break
		}
		lhs = p.X
	}
	switch lhs := lhs.(type) {
	case *syntax.IndexExpr:
		x, y := rw.temp(pos), rw.temp(pos)
		index := func() *syntax.IndexExpr {
			return &syntax.IndexExpr{X: ident(x.Name, pos), Lbrack: lhs.Lbrack, Y: ident(y.Name, pos), Rbrack: lhs.Rbrack}
		}
		return []syntax.Stmt{
			assign(x, rw.expr(lhs.X)),
			assign(y, key(rw.expr(lhs.Y))),
			assign(index(), call(guard, pos, index(), rhs)),
		}
	case *syntax.DotExpr:
		x := rw.temp(pos)
		dot := func() *syntax.DotExpr {
			return &syntax.DotExpr{X: ident(x.Name, pos), Dot: lhs.Dot, NamePos: lhs.NamePos, Name: ident(lhs.Name.Name, lhs.NamePos)}
		}
		return []syntax.Stmt{
			assign(x, rw.expr(lhs.X)),
			assign(dot(), call(guard, pos, dot(), rhs)),
		}
	case *syntax.Ident:
		return []syntax.Stmt{assign(lhs, call(guard, pos, ident(lhs.Name, lhs.NamePos), rhs))}
	}
	// Anything else is an error the resolver reports; leave it alone.
	s.RHS = rhs
	return []syntax.Stmt{s}
}

// target rewrites the expressions inside an assignment target without
// replacing the target itself (a call cannot be assigned to).
func (rw *rewriter) target(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.DotExpr:
		e.X = rw.expr(e.X)
	case *syntax.IndexExpr:
		e.X = rw.expr(e.X)
		e.Y = key(rw.expr(e.Y))
	case *syntax.ParenExpr:
		e.X = rw.target(e.X)
	case *syntax.ListExpr:
		for i, x := range e.List {
			e.List[i] = rw.target(x)
		}
	case *syntax.TupleExpr:
		for i, x := range e.List {
			e.List[i] = rw.target(x)
		}
	}
	return e
}

// params rewrites default values of parameters (`x=expr`).
func (rw *rewriter) params(ps []syntax.Expr) {
	for _, p := range ps {
		if b, ok := p.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
			b.Y = rw.expr(b.Y)
		}
	}
}

func (rw *rewriter) exprs(list []syntax.Expr) {
	for i, x := range list {
		list[i] = rw.expr(x)
	}
}

func (rw *rewriter) expr(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.BinaryExpr:
		e.X, e.Y = rw.expr(e.X), rw.expr(e.Y)
		if guard, ok := guardedBinary[e.Op]; ok {
			return call(guard, e.OpPos, e.X, e.Y)
		}
	case *syntax.CallExpr:
		e.Fn = rw.expr(e.Fn)
		for i, a := range e.Args {
			// Keyword arguments are `name=value` binary expressions.
			if b, ok := a.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
				b.Y = rw.expr(b.Y)
				continue
			}
			e.Args[i] = rw.expr(a)
		}
	case *syntax.Comprehension:
		e.Body = rw.expr(e.Body)
		for _, c := range e.Clauses {
			switch c := c.(type) {
			case *syntax.ForClause:
				c.Vars = rw.target(c.Vars)
				c.X = rw.expr(c.X)
			case *syntax.IfClause:
				c.Cond = rw.expr(c.Cond)
			}
		}
	case *syntax.CondExpr:
		e.Cond, e.True, e.False = rw.expr(e.Cond), rw.expr(e.True), rw.expr(e.False)
	case *syntax.DictEntry:
		e.Key, e.Value = key(rw.expr(e.Key)), rw.expr(e.Value)
	case *syntax.DictExpr:
		rw.exprs(e.List)
	case *syntax.DotExpr:
		e.X = rw.expr(e.X)
		if guardedMethods[e.Name.Name] {
			name := &syntax.Literal{Token: syntax.STRING, TokenPos: e.NamePos,
				Raw: strconv.Quote(e.Name.Name), Value: e.Name.Name}
			return call("$method", e.Dot, e.X, name)
		}
	case *syntax.IndexExpr:
		e.X, e.Y = rw.expr(e.X), key(rw.expr(e.Y))
	case *syntax.LambdaExpr:
		rw.params(e.Params)
		e.Body = rw.expr(e.Body)
	case *syntax.ListExpr:
		rw.exprs(e.List)
	case *syntax.ParenExpr:
		e.X = rw.expr(e.X)
	case *syntax.SliceExpr:
		hasStep := &syntax.Literal{Token: syntax.INT, TokenPos: e.Lbrack, Raw: "0", Value: int64(0)}
		if e.Step != nil {
			hasStep.Raw, hasStep.Value = "1", int64(1)
		}
		e.X = call("$sliced", e.Lbrack, rw.expr(e.X), hasStep)
		if e.Lo != nil {
			e.Lo = rw.expr(e.Lo)
		}
		if e.Hi != nil {
			e.Hi = rw.expr(e.Hi)
		}
		if e.Step != nil {
			e.Step = rw.expr(e.Step)
		}
	case *syntax.TupleExpr:
		rw.exprs(e.List)
	case *syntax.UnaryExpr:
		if e.X != nil {
			e.X = rw.expr(e.X)
		}
	}
	return e
}
