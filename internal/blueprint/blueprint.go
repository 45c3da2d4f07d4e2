package blueprint

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits on what Parse accepts. Real blueprints are a few kilobytes; an
// export of a large installation stays far below these.
const (
	// MaxSize bounds a blueprint file. The YAML parser builds every node
	// before we can count them: a megabyte of "1,1,1,..." costs about
	// 120 MB of allocations and half a second, which bounds the worst case.
	MaxSize = 1 << 20
	// MaxNodes bounds the YAML nodes of a blueprint once its aliases are
	// expanded, which is what applying it walks (an alias bomb is a few
	// hundred bytes that expand to billions of nodes).
	MaxNodes = 200_000
)

// LabelInstantiate is the metadata label that, set to "false", marks a
// blueprint as an example: it is never applied automatically.
const LabelInstantiate = "blueprints.goauthentik.io/instantiate"

// State says what applying an entry does with the object it names.
type State string

// The states of an entry, as Authentik's.
const (
	// StatePresent creates the object or updates the attributes the entry gives.
	StatePresent State = "present"
	// StateCreated creates the object if it is missing and never updates it.
	StateCreated State = "created"
	// StateMustCreated creates the object and fails if it exists.
	StateMustCreated State = "must_created"
	// StateAbsent deletes the object if it exists.
	StateAbsent State = "absent"
)

var states = []State{StatePresent, StateCreated, StateMustCreated, StateAbsent}

// Blueprint is a parsed blueprint. Tags are kept unevaluated: they are
// resolved when the blueprint is applied, against the tenant it is applied to.
type Blueprint struct {
	// Name is what the blueprint was parsed from (usually its file name);
	// errors start with it.
	Name     string
	Version  int
	Metadata Metadata
	Entries  []Entry

	context *yaml.Node
}

// Metadata is a blueprint's metadata block.
type Metadata struct {
	Name   string
	Labels map[string]string
}

// Instantiate reports whether the blueprint may be applied automatically;
// examples carry blueprints.goauthentik.io/instantiate: "false".
func (b *Blueprint) Instantiate() bool {
	return !strings.EqualFold(b.Metadata.Labels[LabelInstantiate], "false")
}

// Entry is one object a blueprint declares.
type Entry struct {
	Index int // position in entries, from 0
	Line  int // YAML line of the entry
	Model string
	State State
	ID    string // the name !KeyOf refers to it by

	identifiers *yaml.Node
	attrs       *yaml.Node
	conditions  []*yaml.Node
}

// Error is a problem with a blueprint, located as precisely as we can: the
// entry (Index >= 0) and the YAML line.
type Error struct {
	Blueprint string
	Index     int // -1 when the problem is not in an entry
	Model     string
	Line      int
	Err       error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("blueprint")
	if e.Blueprint != "" {
		b.WriteString(" " + e.Blueprint)
	}
	b.WriteString(":")
	if e.Index >= 0 {
		fmt.Fprintf(&b, " entries[%d]", e.Index)
		if e.Model != "" {
			b.WriteString(" (" + e.Model + ")")
		}
	}
	// The most precise line: that of the node at fault, else the entry's.
	line := e.Line
	var le *lineError
	if errors.As(e.Err, &le) {
		line = le.line
	}
	if line > 0 {
		if e.Index >= 0 {
			b.WriteString(" at")
		}
		fmt.Fprintf(&b, " line %d", line)
	}
	return strings.TrimSuffix(b.String(), ":") + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// lineError is an error at a YAML node; Error reports its line.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return e.err.Error() }
func (e *lineError) Unwrap() error { return e.err }

func atLine(n *yaml.Node, format string, args ...any) error {
	return &lineError{line: n.Line, err: fmt.Errorf(format, args...)}
}

// Parse reads a blueprint. It checks the structure, the entries' states and
// tags; whether the models are supported is the registry's answer, which
// Apply checks before it writes. References are resolved only by Apply.
func Parse(name string, data []byte) (*Blueprint, error) {
	fail := func(line int, err error) error { return &Error{Blueprint: name, Index: -1, Line: line, Err: err} }
	if len(data) > MaxSize {
		return nil, fail(0, fmt.Errorf("is %d bytes, more than the limit of %d", len(data), MaxSize))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fail(0, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, fail(0, errors.New("is empty"))
	}
	root := doc.Content[0]
	if err := checkSize(root); err != nil {
		return nil, fail(0, err)
	}
	root = deref(root)
	if root.Kind != yaml.MappingNode {
		return nil, fail(root.Line, errors.New("must be a mapping with version, metadata and entries"))
	}
	bp := &Blueprint{Name: name}
	var entries *yaml.Node
	for i := 0; i < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		var err error
		switch k.Value {
		case "version":
			err = v.Decode(&bp.Version)
			if err == nil && bp.Version != 1 {
				err = atLine(v, "version %d is not supported (only 1)", bp.Version)
			}
		case "metadata":
			err = parseMetadata(v, &bp.Metadata)
		case "context":
			if v.Kind != yaml.MappingNode && v.Tag != "!!null" {
				err = atLine(v, "context must be a mapping")
			} else {
				err = checkTags(v)
			}
			bp.context = v
		case "entries":
			entries = v
		default:
			err = atLine(k, "unknown key %q (expected version, metadata, context, entries)", k.Value)
		}
		if err != nil {
			return nil, fail(k.Line, err)
		}
	}
	if bp.Version == 0 {
		return nil, fail(root.Line, errors.New("version is required (version: 1)"))
	}
	list, err := entryNodes(entries)
	if err != nil {
		return nil, fail(0, err)
	}
	for i, n := range list {
		e, err := parseEntry(i, n)
		if err != nil {
			return nil, &Error{Blueprint: name, Index: i, Model: e.Model, Line: n.Line, Err: err}
		}
		bp.Entries = append(bp.Entries, e)
	}
	return bp, nil
}

func errUnknownModel(r *Registry, m string) error {
	return fmt.Errorf("model %q is not supported (supported: %s)", m, strings.Join(r.Names(), ", "))
}

func parseMetadata(n *yaml.Node, m *Metadata) error {
	if n.Kind != yaml.MappingNode {
		return atLine(n, "metadata must be a mapping")
	}
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		switch k.Value {
		case "name":
			m.Name = v.Value
		case "labels":
			if v.Kind != yaml.MappingNode {
				return atLine(v, "metadata.labels must be a mapping")
			}
			m.Labels = map[string]string{}
			for j := 0; j < len(v.Content); j += 2 {
				m.Labels[v.Content[j].Value] = deref(v.Content[j+1]).Value
			}
		}
	}
	return nil
}

// entryNodes accepts Authentik's two spellings of entries: a list, or a
// mapping of lists (concatenated in document order).
func entryNodes(n *yaml.Node) ([]*yaml.Node, error) {
	if n == nil || n.Tag == "!!null" {
		return nil, nil
	}
	switch n.Kind {
	case yaml.SequenceNode:
		return n.Content, nil
	case yaml.MappingNode:
		var out []*yaml.Node
		for i := 1; i < len(n.Content); i += 2 {
			v := deref(n.Content[i])
			if v.Kind != yaml.SequenceNode {
				return nil, atLine(v, "entries.%s must be a list", n.Content[i-1].Value)
			}
			out = append(out, v.Content...)
		}
		return out, nil
	}
	return nil, atLine(n, "entries must be a list")
}

func parseEntry(i int, n *yaml.Node) (Entry, error) {
	e := Entry{Index: i, Line: n.Line, State: StatePresent}
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return e, atLine(n, "an entry must be a mapping with model, identifiers and attrs")
	}
	plain := func(v *yaml.Node, what string) (string, error) {
		if v.Kind != yaml.ScalarNode || strings.HasPrefix(v.Tag, "!") && !strings.HasPrefix(v.Tag, "!!") {
			return "", atLine(v, "%s must be a plain string", what)
		}
		return v.Value, nil
	}
	var err error
	for j := 0; j < len(n.Content); j += 2 {
		k, v := n.Content[j], deref(n.Content[j+1])
		switch k.Value {
		case "model":
			e.Model, err = plain(v, "model")
			e.Model = strings.ToLower(e.Model)
		case "state":
			var s string
			if s, err = plain(v, "state"); err == nil {
				e.State = State(s)
				if !slices.Contains(states, e.State) {
					err = atLine(v, "state %q must be one of present, created, must_created, absent", s)
				}
			}
		case "id":
			e.ID, err = plain(v, "id")
		case "identifiers":
			e.identifiers = v
			if v.Kind != yaml.MappingNode {
				err = atLine(v, "identifiers must be a mapping")
			}
		case "attrs":
			e.attrs = v
			if v.Kind != yaml.MappingNode && v.Tag != "!!null" {
				err = atLine(v, "attrs must be a mapping")
			}
		case "conditions":
			if v.Kind != yaml.SequenceNode {
				err = atLine(v, "conditions must be a list")
			}
			e.conditions = v.Content
		case "permissions":
			if len(v.Content) > 0 {
				err = atLine(k, "permissions are not supported")
			}
		default:
			err = atLine(k, "unknown key %q (expected model, state, id, identifiers, attrs, conditions)", k.Value)
		}
		if err != nil {
			return e, err
		}
	}
	switch {
	case e.Model == "":
		return e, atLine(n, "model is required")
	case e.identifiers == nil || len(e.identifiers.Content) == 0:
		return e, atLine(n, "identifiers are required")
	}
	for _, part := range append([]*yaml.Node{e.identifiers, e.attrs}, e.conditions...) {
		if err := checkTags(part); err != nil {
			return e, err
		}
	}
	return e, nil
}

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// checkSize counts the nodes of n with aliases expanded, memoised so that
// counting is linear in the document, and refuses more than MaxNodes or an
// alias that contains itself.
func checkSize(n *yaml.Node) error {
	const visiting = -1
	memo := map[*yaml.Node]int{}
	var count func(n *yaml.Node) (int, error)
	count = func(n *yaml.Node) (int, error) {
		if n == nil {
			return 0, nil
		}
		switch c, ok := memo[n]; {
		case ok && c == visiting:
			return 0, atLine(n, "an alias refers to a node that contains it")
		case ok:
			return c, nil
		}
		memo[n] = visiting
		total := 1
		kids := n.Content
		if n.Kind == yaml.AliasNode {
			kids = []*yaml.Node{n.Alias}
		}
		for _, k := range kids {
			c, err := count(k)
			if err != nil {
				return 0, err
			}
			if total += c; total > MaxNodes {
				return 0, fmt.Errorf("has more than %d YAML nodes once aliases are expanded", MaxNodes)
			}
		}
		memo[n] = total
		return total, nil
	}
	_, err := count(n)
	return err
}
