package expression

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// User is what an expression may know of a user. The caller fills it; it
// is plain data, read but never changed by expressions.
type User struct {
	ID                          string
	Username, Name, Email, Type string
	IsActive, IsSuperuser       bool
	Attributes                  map[string]any
	GroupNames                  []string
}

// HTTPRequest is what an expression may know of the HTTP request.
type HTTPRequest struct {
	Method, Path, Host, ClientIP, UserAgent string
	Headers                                 map[string]string
	Query                                   map[string]string
}

// Helpers reach the directory and the event log for the ak_* functions.
// All may be called from expressions, on the goroutine running the
// expression; ctx carries the run's deadline and should be honoured.
type Helpers interface {
	// IsGroupMember reports whether the user is a member of the group of
	// that name (directly or through a parent group).
	IsGroupMember(ctx context.Context, userID, groupName string) (bool, error)
	// UserBy finds a user by "username", "email" or "id"; (nil, nil) when
	// there is no such user.
	UserBy(ctx context.Context, field, value string) (*User, error)
	// CreateEvent records an event for ak_create_event(action, **data).
	// action is as the expression gave it; the implementation stores the
	// event as "custom_<action>", as Authentik does, through the same
	// writer as every other event (masking, metrics, notification rules),
	// and returns the store's error: ak_create_event then raises it, so
	// a policy fails as an exception rather than pass as if recorded.
	CreateEvent(ctx context.Context, action string, data map[string]any) error
}

// userValue is a user as expressions see it (Authentik's User model, or
// AnonymousUser when u is nil).
type userValue struct {
	u      *User
	attrs  *starlark.Dict // converted on first use
	groups *groupSet
}

var (
	_ starlark.HasAttrs   = (*userValue)(nil)
	_ starlark.Comparable = (*userValue)(nil)
)

func newUserValue(u *User) *userValue { return &userValue{u: u} }

func (v *userValue) String() string {
	if v.u == nil {
		return "AnonymousUser"
	}
	return v.u.Username
}
func (v *userValue) Type() string         { return "User" }
func (v *userValue) Freeze()              {}
func (v *userValue) Truth() starlark.Bool { return true }
func (v *userValue) Hash() (uint32, error) {
	if v.u == nil {
		return 0, nil
	}
	return starlark.String(v.u.ID).Hash()
}

// CompareSameType compares users by identity (their pk), as Django does.
func (v *userValue) CompareSameType(op syntax.Token, y starlark.Value, _ int) (bool, error) {
	w := y.(*userValue)
	eq := v.u == w.u || v.u != nil && w.u != nil && v.u.ID == w.u.ID
	switch op {
	case syntax.EQL:
		return eq, nil
	case syntax.NEQ:
		return !eq, nil
	}
	return false, fmt.Errorf("%s %s %s not supported", v.Type(), op, y.Type())
}

var userAttrNames = []string{"ak_groups", "attributes", "email", "group_attributes", "id",
	"is_active", "is_anonymous", "is_authenticated", "is_superuser", "name", "pk", "type", "username", "uuid"}

func (v *userValue) AttrNames() []string { return userAttrNames }

func (v *userValue) Attr(name string) (starlark.Value, error) {
	u := v.u
	if u == nil {
		u = &User{}
	}
	switch name {
	case "username":
		return starlark.String(u.Username), nil
	case "name":
		return starlark.String(u.Name), nil
	case "email":
		return starlark.String(u.Email), nil
	case "type":
		return starlark.String(u.Type), nil
	case "pk", "id", "uuid":
		if v.u == nil {
			return starlark.None, nil
		}
		return starlark.String(u.ID), nil
	case "is_active":
		return starlark.Bool(u.IsActive), nil
	case "is_superuser":
		return starlark.Bool(u.IsSuperuser), nil
	case "is_authenticated":
		return starlark.Bool(v.u != nil), nil
	case "is_anonymous":
		return starlark.Bool(v.u == nil), nil
	case "attributes":
		return v.attributes()
	case "group_attributes":
		return starlark.NewBuiltin("group_attributes", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			// Authentik merges the attributes of the user's groups
			// under the user's own; we have the user's only.
			return v.attributes()
		}), nil
	case "ak_groups":
		if v.groups == nil {
			v.groups = &groupSet{names: u.GroupNames}
		}
		return v.groups, nil
	}
	return nil, nil
}

func (v *userValue) attributes() (starlark.Value, error) {
	if v.attrs == nil {
		var attrs map[string]any
		if v.u != nil {
			attrs = v.u.Attributes
		}
		d, err := toStarlark(attrs, 0)
		if err != nil {
			return nil, fmt.Errorf("attributes: %v", err)
		}
		v.attrs = d.(*starlark.Dict)
	}
	return v.attrs, nil
}

// groupValue is a group: only its name is known.
type groupValue struct{ name string }

func (g groupValue) String() string        { return g.name }
func (g groupValue) Type() string          { return "Group" }
func (g groupValue) Freeze()               {}
func (g groupValue) Truth() starlark.Bool  { return true }
func (g groupValue) Hash() (uint32, error) { return starlark.String(g.name).Hash() }
func (g groupValue) AttrNames() []string   { return []string{"name"} }
func (g groupValue) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	return starlark.CompareDepth(op, starlark.String(g.name), starlark.String(y.(groupValue).name), depth)
}
func (g groupValue) Attr(name string) (starlark.Value, error) {
	if name == "name" {
		return starlark.String(g.name), nil
	}
	return nil, nil
}

// groupSet is the user's groups as a small subset of a Django QuerySet:
// all(), filter(name=...), exists(), count(), first(), values_list("name",
// flat=True), iteration, len and indexing.
type groupSet struct{ names []string }

var (
	_ starlark.Indexable = (*groupSet)(nil)
	_ starlark.Iterable  = (*groupSet)(nil)
	_ starlark.HasAttrs  = (*groupSet)(nil)
)

func (s *groupSet) String() string {
	return "<QuerySet [" + strings.Join(s.names, ", ") + "]>"
}
func (s *groupSet) Type() string          { return "QuerySet" }
func (s *groupSet) Freeze()               {}
func (s *groupSet) Truth() starlark.Bool  { return len(s.names) > 0 }
func (s *groupSet) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: QuerySet") }
func (s *groupSet) Len() int              { return len(s.names) }
func (s *groupSet) Index(i int) starlark.Value {
	return groupValue{s.names[i]}
}
func (s *groupSet) Iterate() starlark.Iterator { return &groupIter{s: s} }

type groupIter struct {
	s *groupSet
	i int
}

func (it *groupIter) Next(p *starlark.Value) bool {
	if it.i >= len(it.s.names) {
		return false
	}
	*p = groupValue{it.s.names[it.i]}
	it.i++
	return true
}
func (it *groupIter) Done() {}

var groupSetMethods = []string{"all", "count", "exists", "filter", "first", "values_list"}

func (s *groupSet) AttrNames() []string { return groupSetMethods }

func (s *groupSet) Attr(name string) (starlark.Value, error) {
	var fn func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)
	noArgs := func(f func() starlark.Value) func(starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs(name, args, kwargs, 0); err != nil {
				return nil, err
			}
			return f(), nil
		}
	}
	switch name {
	case "all":
		fn = noArgs(func() starlark.Value { return s })
	case "exists":
		fn = noArgs(func() starlark.Value { return starlark.Bool(len(s.names) > 0) })
	case "count":
		fn = noArgs(func() starlark.Value { return starlark.MakeInt(len(s.names)) })
	case "first":
		fn = noArgs(func() starlark.Value {
			if len(s.names) == 0 {
				return starlark.None
			}
			return groupValue{s.names[0]}
		})
	case "filter":
		fn = s.filter
	case "values_list":
		fn = s.valuesList
	default:
		return nil, nil
	}
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return fn(args, kwargs)
	}), nil
}

// groupLookups are the filter(...) lookups on the group name.
var groupLookups = map[string]func(name string, want starlark.Value) (bool, error){
	"name": func(n string, w starlark.Value) (bool, error) { return starlark.String(n) == w, nil },
	"name__iexact": func(n string, w starlark.Value) (bool, error) {
		s, ok := starlark.AsString(w)
		return ok && strings.EqualFold(n, s), nil
	},
	"name__startswith": func(n string, w starlark.Value) (bool, error) {
		s, ok := starlark.AsString(w)
		return ok && strings.HasPrefix(n, s), nil
	},
	"name__contains": func(n string, w starlark.Value) (bool, error) {
		s, ok := starlark.AsString(w)
		return ok && strings.Contains(n, s), nil
	},
	"name__in": func(n string, w starlark.Value) (bool, error) {
		it, ok := w.(starlark.Iterable)
		if !ok {
			return false, fmt.Errorf("name__in wants a list, got %s", w.Type())
		}
		for v := range starlark.Elements(it) {
			if v == starlark.String(n) {
				return true, nil
			}
		}
		return false, nil
	},
}

func (s *groupSet) filter(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("filter: takes keyword arguments only, such as name=\"admins\"")
	}
	for _, kv := range kwargs {
		if key := string(kv[0].(starlark.String)); groupLookups[key] == nil {
			lookups := make([]string, 0, len(groupLookups))
			for k := range groupLookups {
				lookups = append(lookups, k)
			}
			sort.Strings(lookups)
			return nil, fmt.Errorf("filter: unsupported lookup %s (supported: %s)", key, strings.Join(lookups, ", "))
		}
	}
	out := &groupSet{}
	for _, name := range s.names {
		keep := true
		for _, kv := range kwargs {
			ok, err := groupLookups[string(kv[0].(starlark.String))](name, kv[1])
			if err != nil {
				return nil, fmt.Errorf("filter: %v", err)
			}
			keep = keep && ok
		}
		if keep {
			out.names = append(out.names, name)
		}
	}
	return out, nil
}

func (s *groupSet) valuesList(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var field string
	var flat bool
	if err := starlark.UnpackArgs("values_list", args, kwargs, "field", &field, "flat?", &flat); err != nil {
		return nil, err
	}
	if field != "name" {
		return nil, fmt.Errorf("values_list: only \"name\" is known, got %q", field)
	}
	out := make([]starlark.Value, len(s.names))
	for i, n := range s.names {
		if flat {
			out[i] = starlark.String(n)
		} else {
			out[i] = starlark.Tuple{starlark.String(n)}
		}
	}
	return starlark.NewList(out), nil
}

// objectValue is a read-only object with computed attributes: request,
// http_request, ak_logger.
type objectValue struct {
	typ   string
	names []string
	attr  func(name string) (starlark.Value, error)
}

func (o *objectValue) String() string        { return "<" + o.typ + ">" }
func (o *objectValue) Type() string          { return o.typ }
func (o *objectValue) Freeze()               {}
func (o *objectValue) Truth() starlark.Bool  { return true }
func (o *objectValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: %s", o.typ) }
func (o *objectValue) AttrNames() []string   { return o.names }
func (o *objectValue) Attr(name string) (starlark.Value, error) {
	return o.attr(name)
}

// logger is ak_logger: its methods accept anything and do nothing.
var logger = &objectValue{
	typ:   "Logger",
	names: []string{"critical", "debug", "error", "exception", "info", "warn", "warning"},
	attr: func(name string) (starlark.Value, error) {
		switch name {
		case "critical", "debug", "error", "exception", "info", "warn", "warning":
			return starlark.NewBuiltin(name, noop), nil
		}
		return nil, nil
	},
}
