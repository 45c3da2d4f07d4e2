package expression

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// staticGlobals are the names that are the same in every run: guarded
// replacements of Starlark builtins, the hidden guards the rewriter calls,
// and the Authentik helpers (which find their run through the thread).
var staticGlobals = starlark.StringDict{
	"$add":    builtin("+", binaryGuard(syntax.PLUS)),
	"$sub":    builtin("-", binaryGuard(syntax.MINUS)),
	"$mul":    builtin("*", binaryGuard(syntax.STAR)),
	"$mod":    builtin("%", binaryGuard(syntax.PERCENT)),
	"$or":     builtin("|", binaryGuard(syntax.PIPE)),
	"$and":    builtin("&", binaryGuard(syntax.AMP)),
	"$xor":    builtin("^", binaryGuard(syntax.CIRCUMFLEX)),
	"$shl":    builtin("<<", binaryGuard(syntax.LTLT)),
	"$iadd":   builtin("+=", guardIAdd),
	"$method": builtin("getattr", guardMethod),
	"$sliced": builtin("slice", guardSliced),
	"$eq":     builtin("==", compareGuard(syntax.EQL)),
	"$ne":     builtin("!=", compareGuard(syntax.NEQ)),
	"$lt":     builtin("<", compareGuard(syntax.LT)),
	"$le":     builtin("<=", compareGuard(syntax.LE)),
	"$gt":     builtin(">", compareGuard(syntax.GT)),
	"$ge":     builtin(">=", compareGuard(syntax.GE)),
	"$in":     builtin("in", inGuard(false)),
	"$notin":  builtin("not in", inGuard(true)),
	"$key":    builtin("key", guardKey),

	"str":        builtin("str", stringify),
	"repr":       builtin("repr", stringify),
	"print":      builtin("print", noop),
	"fail":       builtin("fail", guardFail),
	"range":      builtin("range", guardRange),
	"int":        builtin("int", guardInt),
	"getattr":    builtin("getattr", guardGetattr),
	"isinstance": builtin("isinstance", isinstance),
	"list":       builtin("list", charging("list")),
	"tuple":      builtin("tuple", charging("tuple")),
	"dict":       builtin("dict", guardDict),
	"set":        builtin("set", guardSet),
	"sorted":     builtin("sorted", guardSorted),
	"min":        builtin("min", guardMinMax),
	"max":        builtin("max", guardMinMax),
	"any":        builtin("any", guardAnyAll),
	"all":        builtin("all", guardAnyAll),
	"reversed":   builtin("reversed", charging("reversed")),
	"enumerate":  builtin("enumerate", charging("enumerate")),
	"zip":        builtin("zip", guardZip),
	"bytes":      builtin("bytes", charging("bytes")),

	"ak_message":         builtin("ak_message", akMessage),
	"ak_is_group_member": builtin("ak_is_group_member", akIsGroupMember),
	"ak_user_by":         builtin("ak_user_by", akUserBy),
	"ak_create_event":    builtin("ak_create_event", akCreateEvent),
	"ak_logger":          logger,
	"regex_match":        builtin("regex_match", regexMatch),
	"regex_replace":      builtin("regex_replace", regexReplace),
	"list_flatten":       builtin("list_flatten", listFlatten),
	"slugify":            builtin("slugify", slugify),
}

type builtinFunc = func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)

// builtin makes a Starlark builtin that turns a panic (in our code or in a
// Helpers implementation) into an error at the calling line.
func builtin(name string, fn builtinFunc) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (v starlark.Value, err error) {
		defer func() {
			if p := recover(); p != nil {
				v, err = nil, fmt.Errorf("%s: internal error: %v", name, p)
			}
		}()
		return fn(thread, b, args, kwargs)
	})
}

// runNames are the names whose value depends on the run's input.
var runNames = map[string]func(r *run) (starlark.Value, error){
	"request":      func(r *run) (starlark.Value, error) { return r.request(), nil },
	"user":         func(r *run) (starlark.Value, error) { return r.user(), nil },
	"context":      func(r *run) (starlark.Value, error) { return r.context() },
	"http_request": func(r *run) (starlark.Value, error) { return r.httpRequest(), nil },
	"ak_client_ip": func(r *run) (starlark.Value, error) {
		if r.in.HTTP == nil || r.in.HTTP.ClientIP == "" {
			return starlark.None, nil
		}
		return starlark.String(r.in.HTTP.ClientIP), nil
	},
	"ak_is_sso_flow": func(r *run) (starlark.Value, error) {
		return starlark.Bool(Truthy(r.in.Context["is_sso"])), nil
	},
}

// globals builds the predeclared environment of one run: only the names
// the program uses. A name that is neither standard nor in Input.Extra is
// reported at its first use.
func (r *run) globals(free []freeName) (starlark.StringDict, error) {
	env := make(starlark.StringDict, len(free))
	for _, f := range free {
		if x, ok := r.in.Extra[f.name]; ok && !strings.HasPrefix(f.name, "$") {
			v, err := toStarlark(x, 0)
			if err != nil {
				return nil, &RuntimeError{Name: r.name, Line: f.line, Column: f.col,
					Msg: fmt.Sprintf("%s: %v", f.name, err)}
			}
			env[f.name] = v
			continue
		}
		if v, ok := staticGlobals[f.name]; ok {
			env[f.name] = v
			continue
		}
		mk, ok := runNames[f.name]
		if !ok {
			msg := fmt.Sprintf("name '%s' is not defined", f.name)
			if near := r.nearestName(f.name); near != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", near)
			}
			return nil, &RuntimeError{Name: r.name, Line: f.line, Column: f.col, Msg: msg}
		}
		v, err := mk(r)
		if err != nil {
			return nil, &RuntimeError{Name: r.name, Line: f.line, Column: f.col, Msg: err.Error()}
		}
		env[f.name] = v
	}
	return env, nil
}

// nearestName returns the defined name closest to a misspelled one, if
// any is within two edits.
func (r *run) nearestName(name string) string {
	best, bestDist := "", 3
	consider := func(n string) {
		if d := editDistance(name, n); d < bestDist && !strings.HasPrefix(n, "$") {
			best, bestDist = n, d
		}
	}
	for n := range staticGlobals {
		consider(n)
	}
	for n := range runNames {
		consider(n)
	}
	for n := range r.in.Extra {
		consider(n)
	}
	for n := range starlark.Universe {
		consider(n)
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// The values of one run are built on first use and shared, so that
// request.user is user and request.context is context.
type runValues struct {
	user    *userValue
	ctx     starlark.Value
	http    starlark.Value
	request starlark.Value
}

func (r *run) user() *userValue {
	if r.vals.user == nil {
		r.vals.user = newUserValue(r.in.User)
	}
	return r.vals.user
}

func (r *run) context() (starlark.Value, error) {
	if r.vals.ctx == nil {
		v, err := toStarlark(r.in.Context, 0)
		if err != nil {
			return nil, fmt.Errorf("context: %v", err)
		}
		if v == starlark.None {
			v = starlark.NewDict(0)
		}
		r.vals.ctx = v
	}
	return r.vals.ctx, nil
}

func (r *run) request() starlark.Value {
	if r.vals.request == nil {
		r.vals.request = &objectValue{
			typ:   "PolicyRequest",
			names: []string{"context", "debug", "http_request", "obj", "user"},
			attr: func(name string) (starlark.Value, error) {
				switch name {
				case "user":
					return r.user(), nil
				case "http_request":
					return r.httpRequest(), nil
				case "context":
					return r.context()
				case "obj":
					return starlark.None, nil
				case "debug":
					return starlark.False, nil
				}
				return nil, nil
			},
		}
	}
	return r.vals.request
}

// httpRequest is a small part of Django's HttpRequest: method, path,
// headers (case-insensitive), GET, META, get_host(), plus our host,
// client_ip and user_agent.
func (r *run) httpRequest() starlark.Value {
	h := r.in.HTTP
	if h == nil {
		return starlark.None
	}
	if r.vals.http == nil {
		r.vals.http = &objectValue{
			typ:   "HttpRequest",
			names: []string{"GET", "META", "client_ip", "get_host", "headers", "host", "method", "path", "query", "user_agent"},
			attr: func(name string) (starlark.Value, error) {
				switch name {
				case "method":
					return starlark.String(h.Method), nil
				case "path":
					return starlark.String(h.Path), nil
				case "host":
					return starlark.String(h.Host), nil
				case "client_ip":
					return starlark.String(h.ClientIP), nil
				case "user_agent":
					return starlark.String(h.UserAgent), nil
				case "headers":
					return newHeaderMap(h.Headers), nil
				case "GET", "query":
					return toStarlark(h.Query, 0)
				case "META":
					return toStarlark(meta(h), 0)
				case "get_host":
					return starlark.NewBuiltin("get_host", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
						return starlark.String(h.Host), nil
					}), nil
				}
				return nil, nil
			},
		}
	}
	return r.vals.http
}

// meta is Django's request.META for the fields we know.
func meta(h *HTTPRequest) map[string]string {
	m := map[string]string{
		"REMOTE_ADDR": h.ClientIP, "REQUEST_METHOD": h.Method, "PATH_INFO": h.Path,
		"HTTP_HOST": h.Host, "HTTP_USER_AGENT": h.UserAgent,
	}
	for k, v := range h.Headers {
		m["HTTP_"+strings.ToUpper(strings.ReplaceAll(k, "-", "_"))] = v
	}
	return m
}

// headerMap is a read-only dict with case-insensitive keys, like Django's
// request.headers.
type headerMap struct {
	keys   []string          // as given, sorted
	values map[string]string // by lower-case key
}

var (
	_ starlark.IterableMapping = (*headerMap)(nil)
	_ starlark.HasAttrs        = (*headerMap)(nil)
)

func newHeaderMap(h map[string]string) *headerMap {
	m := &headerMap{keys: sortedKeys(h), values: make(map[string]string, len(h))}
	for k, v := range h {
		m.values[strings.ToLower(k)] = v
	}
	return m
}

func (m *headerMap) String() string        { return fmt.Sprintf("<headers %v>", m.keys) }
func (m *headerMap) Type() string          { return "headers" }
func (m *headerMap) Freeze()               {}
func (m *headerMap) Truth() starlark.Bool  { return len(m.keys) > 0 }
func (m *headerMap) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: headers") }
func (m *headerMap) Len() int              { return len(m.keys) }

func (m *headerMap) Get(k starlark.Value) (starlark.Value, bool, error) {
	s, ok := k.(starlark.String)
	if !ok {
		return nil, false, nil
	}
	v, ok := m.values[strings.ToLower(string(s))]
	return starlark.String(v), ok, nil
}

func (m *headerMap) Items() []starlark.Tuple {
	out := make([]starlark.Tuple, len(m.keys))
	for i, k := range m.keys {
		out[i] = starlark.Tuple{starlark.String(k), starlark.String(m.values[strings.ToLower(k)])}
	}
	return out
}

func (m *headerMap) Iterate() starlark.Iterator {
	keys := make([]starlark.Value, len(m.keys))
	for i, k := range m.keys {
		keys[i] = starlark.String(k)
	}
	return starlark.Tuple(keys).Iterate()
}

func (m *headerMap) AttrNames() []string { return []string{"get", "items", "keys", "values"} }

func (m *headerMap) Attr(name string) (starlark.Value, error) {
	var fn builtinFunc
	switch name {
	case "get":
		fn = func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var key, dflt starlark.Value = nil, starlark.None
			if err := starlark.UnpackPositionalArgs("get", args, kwargs, 1, &key, &dflt); err != nil {
				return nil, err
			}
			if v, ok, _ := m.Get(key); ok {
				return v, nil
			}
			return dflt, nil
		}
	case "items", "keys", "values":
		fn = func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs(name, args, kwargs, 0); err != nil {
				return nil, err
			}
			out := make([]starlark.Value, len(m.keys))
			for i, it := range m.Items() {
				switch name {
				case "items":
					out[i] = it
				case "keys":
					out[i] = it[0]
				default:
					out[i] = it[1]
				}
			}
			return starlark.NewList(out), nil
		}
	default:
		return nil, nil
	}
	return starlark.NewBuiltin(name, fn), nil
}
