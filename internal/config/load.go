package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxValueFile bounds what a secret file may hold, so that a mistaken
// GATEHOUSE_SECRET_KEY_FILE=/dev/zero fails instead of eating memory.
const maxValueFile = 1 << 20

// Load reads the YAML file at path (if path is "", the file named by
// GATEHOUSE_CONFIG; if that is empty too, no file) and then the
// environment through env (production passes os.LookupEnv; tests pass a
// map), validates the result and fills in a generated secret key when the
// embedded database is used without one.
//
// Precedence is defaults < file < environment; in the environment a
// GATEHOUSE_* variable wins over its AUTHENTIK_* alias, with a warning
// naming the ignored one. On failure the error is an *Errors listing every
// problem found, and the Config is nil. Warnings are returned either way.
func Load(path string, env func(string) (string, bool)) (*Config, []string, error) {
	if env == nil {
		env = os.LookupEnv
	}
	l := &loader{env: env, cfg: Defaults(), source: map[string]string{}}
	if path == "" {
		path, _ = env(configEnv)
	}
	if path != "" {
		l.loadFile(path)
	}
	l.loadEnv()
	l.cfg.normalize()
	unreadable := map[string]bool{}
	for _, p := range l.problems {
		unreadable[p.Setting] = true
	}
	for _, p := range validate(l.cfg) {
		// A value that could not be read left its default in place; judging
		// that default would only add a confusing second line.
		if p.Setting != "" && unreadable[p.Setting] {
			continue
		}
		if p.Source == "" {
			p.Source = l.source[p.Setting]
		}
		l.problems = append(l.problems, p)
	}
	l.checkFiles()
	if len(l.problems) > 0 {
		return nil, l.warnings, &l.problems
	}
	warning, err := l.cfg.EnsureSecretKey()
	if err != nil {
		l.problems = append(l.problems, Problem{Setting: "secret_key", Message: err.Error(), allNames: true})
		return nil, l.warnings, &l.problems
	}
	if warning != "" {
		l.warnings = append(l.warnings, warning)
	}
	return l.cfg, l.warnings, nil
}

type loader struct {
	env      func(string) (string, bool)
	cfg      *Config
	problems Errors
	warnings []string
	// source records where each setting's current value came from, so a
	// problem found later by validate can point at the line or variable.
	source map[string]string
}

func (l *loader) fail(s *setting, msg, src string) {
	l.problems = append(l.problems, Problem{Setting: s.path, Message: msg, Source: src})
}

func (l *loader) failFile(format string, args ...any) {
	l.problems = append(l.problems, Problem{Message: fmt.Sprintf(format, args...)})
}

// set parses raw into the setting and records the outcome.
func (l *loader) set(s *setting, raw, src string) {
	l.source[s.path] = src
	if err := s.setScalar(l.cfg, raw); err != nil {
		l.fail(s, err.Error(), src)
	}
}

// loadFile reads the YAML file by walking its node tree against the
// settings table rather than decoding into Config: values then go through
// the same parsers as environment values (durations, env:// references),
// type errors name the setting, and unknown keys are reported with their
// line and the keys that were possible there.
func (l *loader) loadFile(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		l.failFile("cannot read the configuration file (--config or %s): %v", configEnv, err)
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) { // an empty file is a valid, empty configuration
			l.failFile("%s: %v", path, err)
		}
		return
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		l.failFile("%s: holds more than one YAML document; put every setting in the first", path)
	}
	if len(doc.Content) == 0 {
		return
	}
	root := deref(doc.Content[0])
	switch {
	case isNull(root):
	case root.Kind != yaml.MappingNode:
		l.failFile("%s:%d: expected settings (key: value lines) at the top level", path, root.Line)
	default:
		l.walk(path, root, "")
	}
}

func (l *loader) walk(file string, n *yaml.Node, prefix string) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			l.failFile("%s:%d: a key must be a plain name", file, k.Line)
			continue
		}
		path := k.Value
		if prefix != "" {
			path = prefix + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			l.failFile("%s:%d: %s is set twice (first at line %d)", file, k.Line, path, first)
			continue
		}
		seen[k.Value] = k.Line
		if s := table.byPath[path]; s != nil {
			l.fileValue(s, v, fmt.Sprintf("%s:%d", file, v.Line))
			continue
		}
		if _, isSection := table.children[path]; isSection {
			switch {
			case v.Kind == yaml.MappingNode:
				l.walk(file, v, path)
			case isNull(v): // "email:" with nothing under it sets nothing
			default:
				l.failFile("%s:%d: %s holds settings (%s), not a value", file, v.Line, path, strings.Join(table.children[path], ", "))
			}
			continue
		}
		where := "the top level"
		if prefix != "" {
			where = prefix
		}
		l.failFile("%s:%d: unknown setting %q (%s holds: %s)", file, k.Line, path, where, strings.Join(table.children[prefix], ", "))
	}
}

func (l *loader) fileValue(s *setting, v *yaml.Node, src string) {
	switch {
	case isNull(v):
		// "key:" with no value: clear strings and lists, which is how a
		// file disables a listener; other kinds have no empty value.
		if s.kind == kindString || s.kind == kindList {
			l.set(s, "", src)
		} else {
			l.source[s.path] = src
			l.fail(s, "has no value; remove the line to keep the default", src)
		}
	case v.Kind == yaml.ScalarNode:
		raw, err := l.resolve(v.Value)
		if err != nil {
			l.source[s.path] = src
			l.fail(s, err.Error(), src)
			return
		}
		l.set(s, raw, src)
	case v.Kind == yaml.SequenceNode:
		l.source[s.path] = src
		items := make([]string, 0, len(v.Content))
		for _, item := range v.Content {
			item = deref(item)
			if item.Kind != yaml.ScalarNode {
				l.fail(s, "list items must be plain values", src)
				return
			}
			raw, err := l.resolve(item.Value)
			if err != nil {
				l.fail(s, err.Error(), src)
				return
			}
			items = append(items, raw)
		}
		if err := s.setList(l.cfg, items); err != nil {
			l.fail(s, err.Error(), src)
		}
	default:
		l.source[s.path] = src
		l.fail(s, "expected a value, got a mapping", src)
	}
}

// deref follows YAML aliases (*anchor) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// loadEnv applies the environment on top of the file.
func (l *loader) loadEnv() {
	for _, s := range table.list {
		src, raw, found, err := l.lookupName(s.env)
		if found {
			if ignored := l.present(s.alias); ignored != "" {
				l.warnings = append(l.warnings, fmt.Sprintf("%s is ignored: %s is also set and takes precedence", ignored, src))
			}
		} else {
			src, raw, found, err = l.lookupName(s.alias)
		}
		if !found {
			continue
		}
		if err != nil {
			l.source[s.path] = src
			l.fail(s, err.Error(), src)
			continue
		}
		l.set(s, raw, src)
	}
}

// lookupName reads NAME, or NAME_FILE (Docker and Kubernetes secrets). A
// plain value may be an env:// or file:// reference; a file's content is
// taken as it is, less its trailing newline.
func (l *loader) lookupName(name string) (src, raw string, found bool, err error) {
	v, hasValue := l.env(name)
	p, hasFile := l.env(name + "_FILE")
	switch {
	case hasValue && hasFile:
		return name, "", true, fmt.Errorf("both %s and %s_FILE are set; set only one", name, name)
	case hasValue:
		raw, err = l.resolve(v)
		return name, raw, true, err
	case hasFile:
		raw, err = readValueFile(p)
		return name + "_FILE", raw, true, err
	}
	return "", "", false, nil
}

// present returns which of NAME and NAME_FILE is set, without reading it.
func (l *loader) present(name string) string {
	if _, ok := l.env(name); ok {
		return name
	}
	if _, ok := l.env(name + "_FILE"); ok {
		return name + "_FILE"
	}
	return ""
}

// resolve follows Authentik's value references: env://VAR?default and
// file:///path?default. Unlike Authentik, a reference that cannot be
// followed and has no "?default" is an error rather than an empty value:
// an empty password found at start-up is easier to fix than at first login.
func (l *loader) resolve(raw string) (string, error) {
	switch {
	case strings.HasPrefix(raw, "env://"):
		name, def, hasDef := strings.Cut(strings.TrimPrefix(raw, "env://"), "?")
		if name == "" {
			return "", fmt.Errorf("%q names no environment variable", raw)
		}
		if v, ok := l.env(name); ok {
			return v, nil
		}
		if hasDef {
			return def, nil
		}
		return "", fmt.Errorf("%s: %s is not set (append ?default to allow that)", raw, name)
	case strings.HasPrefix(raw, "file://"):
		path, def, hasDef := strings.Cut(strings.TrimPrefix(raw, "file://"), "?")
		v, err := readValueFile(path)
		if hasDef && errors.Is(err, fs.ErrNotExist) {
			return def, nil
		}
		return v, err
	}
	return raw, nil
}

// readValueFile reads a file holding one setting's value.
func readValueFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, pathErr(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxValueFile+1))
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, pathErr(err))
	}
	if len(data) > maxValueFile {
		return "", fmt.Errorf("cannot read %s: larger than %d bytes", path, maxValueFile)
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}

// pathErr drops the path an *fs.PathError repeats; errors.Is still sees
// the cause.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkFiles makes sure the files named by settings tagged check:"file"
// can be opened, so a wrong certificate path fails at start-up with the
// setting's name, not when the first TLS client connects.
func (l *loader) checkFiles() {
	for _, s := range table.list {
		if s.check != "file" {
			continue
		}
		path := s.field(l.cfg).String()
		if path == "" {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			l.problems = append(l.problems, Problem{Setting: s.path, Source: l.source[s.path],
				Message: fmt.Sprintf("cannot read %s: %v", path, pathErr(err))})
			continue
		}
		f.Close()
	}
}
