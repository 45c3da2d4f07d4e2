package blueprint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"
)

// Tags Authentik defines that we do not evaluate, with the reason given to
// the user.
var unsupportedTags = map[string]string{
	"!Enumerate":  "is not supported; write the entries out",
	"!Index":      "is only meaningful inside !Enumerate, which is not supported",
	"!Value":      "is only meaningful inside !Enumerate, which is not supported",
	"!File":       "is not supported: blueprints may not read files of the server",
	"!FindObject": "is not supported; use !Find for the object's ID",
}

var supportedTags = map[string]bool{
	"!KeyOf": true, "!Find": true, "!Env": true, "!Context": true, "!Format": true,
	"!If": true, "!Condition": true, "!AtIndex": true, "!ParseJSON": true,
}

// checkTags refuses tags we do not know, at parse time and with their line.
func checkTags(n *yaml.Node) error {
	if n == nil || n.Kind == yaml.AliasNode {
		return nil // the anchored node is checked where it is defined
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		if why, ok := unsupportedTags[n.Tag]; ok {
			return atLine(n, "%s %s", n.Tag, why)
		}
		if !supportedTags[n.Tag] {
			return atLine(n, "unknown tag %s", n.Tag)
		}
	}
	for _, c := range n.Content {
		if err := checkTags(c); err != nil {
			return err
		}
	}
	return nil
}

// evaluator turns YAML nodes into plain values (nil, bool, int, float64,
// string, []any, map[string]any, uuid.UUID), resolving tags.
type evaluator struct {
	ctx     context.Context
	tx      *Tx
	env     func(string) (string, bool)
	context map[string]any
	ids     map[string]uuid.UUID // entry id -> object ID, for !KeyOf
}

func (ev *evaluator) eval(n *yaml.Node) (any, error) {
	n = deref(n)
	if n == nil {
		return nil, nil
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return ev.tag(n)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!timestamp" {
			return n.Value, nil // as written; models parse the dates they take
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, atLine(n, "%v", err)
		}
		return v, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := ev.eval(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return ev.mapping(n)
	}
	return nil, atLine(n, "unexpected YAML node")
}

// mapping evaluates a mapping, honouring merge keys (<<: *anchor).
func (ev *evaluator) mapping(n *yaml.Node) (map[string]any, error) {
	out := map[string]any{}
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			if err := ev.merge(out, v); err != nil {
				return nil, err
			}
			continue
		}
		key, err := ev.eval(k)
		if err != nil {
			return nil, err
		}
		ks, ok := key.(string)
		if !ok {
			ks = fmt.Sprint(key)
		}
		if out[ks], err = ev.eval(v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (ev *evaluator) merge(out map[string]any, v *yaml.Node) error {
	srcs := []*yaml.Node{v}
	if d := deref(v); d.Kind == yaml.SequenceNode {
		srcs = d.Content
	}
	for _, s := range srcs {
		m, err := ev.eval(s)
		if err != nil {
			return err
		}
		mm, ok := m.(map[string]any)
		if !ok {
			return atLine(v, "<< must merge a mapping")
		}
		for k, x := range mm {
			if _, set := out[k]; !set {
				out[k] = x
			}
		}
	}
	return nil
}

// args returns a tag's arguments: the items of a sequence, or the scalar.
func args(n *yaml.Node) []*yaml.Node {
	if n.Kind == yaml.SequenceNode {
		return n.Content
	}
	if n.Kind == yaml.ScalarNode {
		plain := *n
		plain.Tag = "!!str"
		return []*yaml.Node{&plain}
	}
	return nil
}

func (ev *evaluator) tag(n *yaml.Node) (any, error) {
	a := args(n)
	switch n.Tag {
	case "!KeyOf":
		if n.Kind != yaml.ScalarNode {
			return nil, atLine(n, "!KeyOf takes the id of an earlier entry")
		}
		id, ok := ev.ids[n.Value]
		if !ok {
			return nil, atLine(n, "!KeyOf %s: no earlier entry with this id was applied", n.Value)
		}
		return id, nil
	case "!Find":
		return ev.find(n, a)
	case "!Env", "!Context":
		return ev.lookup(n, a)
	case "!Format":
		return ev.format(n, a)
	case "!If":
		return ev.ifTag(n, a)
	case "!Condition":
		return ev.condition(n, a)
	case "!AtIndex":
		return ev.atIndex(n, a)
	case "!ParseJSON":
		s, err := ev.evalString(n, a, "!ParseJSON takes a string")
		if err != nil {
			return nil, err
		}
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, atLine(n, "!ParseJSON: %v", err)
		}
		return v, nil
	}
	return nil, atLine(n, "unknown tag %s", n.Tag)
}

func (ev *evaluator) evalString(n *yaml.Node, a []*yaml.Node, usage string) (string, error) {
	if len(a) != 1 {
		return "", atLine(n, "%s", usage)
	}
	v, err := ev.eval(a[0])
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", atLine(n, "%s", usage)
	}
	return s, nil
}

// find resolves !Find [model, [field, value], ...] to the ID of an object
// of this tenant, or to null when none matches (as Authentik does).
func (ev *evaluator) find(n *yaml.Node, a []*yaml.Node) (any, error) {
	const usage = "!Find takes [model, [field, value], ...]"
	if n.Kind != yaml.SequenceNode || len(a) < 2 {
		return nil, atLine(n, usage)
	}
	mv, err := ev.eval(a[0])
	if err != nil {
		return nil, err
	}
	name, _ := mv.(string)
	m, ok := ev.tx.models().lookup(strings.ToLower(name))
	if !ok {
		return nil, atLine(n, "!Find: %v", errUnknownModel(ev.tx.models(), name))
	}
	by := Values{}
	for _, p := range a[1:] {
		pair, err := ev.eval(p)
		if err != nil {
			return nil, err
		}
		kv, ok := pair.([]any)
		if !ok || len(kv) != 2 {
			return nil, atLine(p, usage)
		}
		field, ok := kv[0].(string)
		if !ok {
			return nil, atLine(p, usage)
		}
		by[field] = kv[1]
	}
	id, found, err := m.Find(ev.ctx, ev.tx, by)
	if err != nil {
		return nil, atLine(n, "!Find %s: %w", name, err)
	}
	if !found {
		return nil, nil
	}
	return id, nil
}

// lookup resolves !Env VAR, !Env [VAR, default], !Context key and
// !Context [key, default].
func (ev *evaluator) lookup(n *yaml.Node, a []*yaml.Node) (any, error) {
	if len(a) < 1 || len(a) > 2 {
		return nil, atLine(n, "%s takes a name, or [name, default]", n.Tag)
	}
	kv, err := ev.eval(a[0])
	if err != nil {
		return nil, err
	}
	key, ok := kv.(string)
	if !ok {
		return nil, atLine(n, "%s takes a name, or [name, default]", n.Tag)
	}
	if n.Tag == "!Env" {
		if ev.env != nil {
			if v, ok := ev.env(key); ok {
				return v, nil
			}
		}
	} else if v, ok := ev.context[key]; ok {
		return v, nil
	}
	if len(a) == 2 {
		return ev.eval(a[1])
	}
	return nil, nil
}

func (ev *evaluator) format(n *yaml.Node, a []*yaml.Node) (any, error) {
	if n.Kind != yaml.SequenceNode || len(a) < 1 {
		return nil, atLine(n, "!Format takes [format, args...]")
	}
	vals := make([]any, len(a))
	for i, x := range a {
		v, err := ev.eval(x)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	f, ok := vals[0].(string)
	if !ok {
		return nil, atLine(n, "!Format: the format must be a string")
	}
	s, err := pyFormat(f, vals[1:])
	if err != nil {
		return nil, atLine(n, "!Format: %v", err)
	}
	return s, nil
}

// pyFormat is Python's "fmt % args" for the verbs blueprints use: %s, %d,
// %i and %%.
func pyFormat(f string, args []any) (string, error) {
	var b strings.Builder
	used := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		if i+1 >= len(f) {
			return "", errors.New("incomplete format")
		}
		i++
		verb := f[i]
		if verb == '%' {
			b.WriteByte('%')
			continue
		}
		if used >= len(args) {
			return "", errors.New("not enough arguments for format string")
		}
		arg := args[used]
		used++
		switch verb {
		case 's':
			b.WriteString(pyStr(arg))
		case 'd', 'i':
			d, ok := integer(arg)
			if !ok {
				return "", fmt.Errorf("%%%c format: a number is required, not %s", verb, pyStr(arg))
			}
			b.WriteString(strconv.FormatInt(d, 10))
		default:
			return "", fmt.Errorf("unsupported format character %q (use %%s or %%d)", verb)
		}
	}
	if used < len(args) {
		return "", errors.New("not all arguments converted during string formatting")
	}
	return b.String(), nil
}

// pyStr renders a value as Python's str() would, for the values YAML has.
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e16 {
			return strconv.FormatFloat(x, 'f', 1, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	case float64:
		if x >= math.MinInt64 && x <= math.MaxInt64 {
			return int64(x), true
		}
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// truthy is Python's truth value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case int:
		return x != 0
	case int64:
		return x != 0
	case uint64:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	case uuid.UUID:
		return x != uuid.Nil
	}
	return true
}

// ifTag is !If [condition, then, else]; only the chosen branch is
// evaluated. !If condition (no branches) is the condition's truth value.
func (ev *evaluator) ifTag(n *yaml.Node, a []*yaml.Node) (any, error) {
	if len(a) != 1 && len(a) != 3 {
		return nil, atLine(n, "!If takes [condition, when_true, when_false]")
	}
	c, err := ev.eval(a[0])
	if err != nil {
		return nil, err
	}
	if len(a) == 1 {
		return truthy(c), nil
	}
	if truthy(c) {
		return ev.eval(a[1])
	}
	return ev.eval(a[2])
}

// condition is !Condition [MODE, values...].
func (ev *evaluator) condition(n *yaml.Node, a []*yaml.Node) (any, error) {
	if n.Kind != yaml.SequenceNode || len(a) < 2 {
		return nil, atLine(n, "!Condition takes [AND|OR|NAND|NOR|XOR|XNOR, values...]")
	}
	mode := strings.ToUpper(deref(a[0]).Value)
	count, total := 0, 0
	for _, x := range a[1:] {
		v, err := ev.eval(x)
		if err != nil {
			return nil, err
		}
		total++
		if truthy(v) {
			count++
		}
	}
	switch mode {
	case "AND":
		return count == total, nil
	case "NAND":
		return count != total, nil
	case "OR":
		return count > 0, nil
	case "NOR":
		return count == 0, nil
	case "XOR":
		return count%2 == 1, nil
	case "XNOR":
		return count%2 == 0, nil
	}
	return nil, atLine(a[0], "!Condition mode %q must be one of AND, OR, NAND, NOR, XOR, XNOR", mode)
}

// atIndex is !AtIndex [list or mapping, index or key, default?].
func (ev *evaluator) atIndex(n *yaml.Node, a []*yaml.Node) (any, error) {
	if n.Kind != yaml.SequenceNode || len(a) < 2 || len(a) > 3 {
		return nil, atLine(n, "!AtIndex takes [list or mapping, index or key, default]")
	}
	obj, err := ev.eval(a[0])
	if err != nil {
		return nil, err
	}
	idx, err := ev.eval(a[1])
	if err != nil {
		return nil, err
	}
	fallback := func() (any, error) {
		if len(a) == 3 {
			return ev.eval(a[2])
		}
		return nil, atLine(n, "!AtIndex: %s not found", pyStr(idx))
	}
	switch o := obj.(type) {
	case []any:
		i, ok := integer(idx)
		if !ok {
			return nil, atLine(n, "!AtIndex: a list index must be a number")
		}
		if i < 0 {
			i += int64(len(o))
		}
		if i < 0 || i >= int64(len(o)) {
			return fallback()
		}
		return o[i], nil
	case map[string]any:
		if v, ok := o[pyStr(idx)]; ok {
			return v, nil
		}
		return fallback()
	}
	return nil, atLine(n, "!AtIndex: the first argument must be a list or a mapping")
}
