package i18n

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
)

// The texts live in one file per language, locales/<tag>.json, so that a
// language is added by adding a file (and its translator needs no Go).
// A file holds the language's own name and the tags it answers to, the
// main catalog ("messages"), the admin console's table ("admin") and the
// translations of texts the default blueprints ship ("known").
//
//go:embed locales/*.json
var localeFiles embed.FS

// message is one text of one language. English may have a singular,
// chosen when the argument named Count is 1 ("at least 1 digit");
// languages without plural forms give a plain string.
type message struct {
	Other string `json:"other"`
	One   string `json:"one"`
	Count string `json:"count"`
}

func (m *message) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &m.Other)
	}
	type plain message
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	if p.Other == "" || p.One == "" || p.Count == "" {
		return errors.New(`a plural needs "other", "one" and "count"`)
	}
	*m = message(p)
	return nil
}

// text picks the form args call for.
func (m message) text(args map[string]any) string {
	if m.One != "" && isOne(args[m.Count]) {
		return m.One
	}
	return m.Other
}

// locale is one language's file.
type locale struct {
	Language struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	} `json:"language"`
	Messages map[string]message `json:"messages"`
	Admin    map[string]message `json:"admin"`
	Known    map[string]string  `json:"known"`
}

// Every language is parsed on first use, not at start-up: the files are
// large and a server that never shows a page need not pay for them. The
// files are embedded and checked by the tests (TestEveryIDHasEveryLanguage
// loads them all), so a failure here is a build defect, not an input.
var (
	order = mustNames(localeFiles)
	// slots is filled at init and only read after: each slot's Once
	// guards its own locale.
	slots = map[Lang]*slot{}
)

type slot struct {
	once sync.Once
	loc  *locale
}

func init() {
	for _, l := range order {
		slots[l] = &slot{}
	}
}

// get returns l's locale, or nil when l is not supported.
func get(l Lang) *locale {
	s, ok := slots[l]
	if !ok {
		return nil
	}
	s.once.Do(func() {
		loc, err := loadOne(localeFiles, l)
		if err != nil {
			panic("i18n: " + err.Error())
		}
		s.loc = loc
	})
	return s.loc
}

func mustNames(fsys fs.FS) []Lang {
	o, err := names(fsys)
	if err != nil {
		panic("i18n: " + err.Error())
	}
	return o
}

// names lists the languages that have a file, in the language switcher's
// order: Default first, then the others by tag.
func names(fsys fs.FS) ([]Lang, error) {
	files, err := fs.Glob(fsys, "locales/*.json")
	if err != nil {
		return nil, err
	}
	var out []Lang
	for _, f := range files {
		out = append(out, Lang(strings.TrimSuffix(path.Base(f), ".json")))
	}
	if !slices.Contains(out, Default) {
		return nil, fmt.Errorf("no locales/%s.json", Default)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i] == Default || out[j] != Default && out[i] < out[j]
	})
	return out, nil
}

// load reads every locale file, as the tests do.
func load(fsys fs.FS) (map[Lang]*locale, []Lang, error) {
	o, err := names(fsys)
	if err != nil {
		return nil, nil, err
	}
	out := map[Lang]*locale{}
	for _, l := range o {
		if out[l], err = loadOne(fsys, l); err != nil {
			return nil, nil, err
		}
	}
	return out, o, nil
}

// loadOne reads l's file and checks that it has exactly the IDs English
// has: a missing text would fall back to English in silence, an extra one
// is a typo.
func loadOne(fsys fs.FS, l Lang) (*locale, error) {
	loc, err := parse(fsys, l)
	if err != nil || l == Default {
		return loc, err
	}
	en, err := parse(fsys, Default)
	if err != nil {
		return nil, err
	}
	for _, part := range []struct {
		name      string
		have, all map[string]message
	}{{"messages", loc.Messages, en.Messages}, {"admin", loc.Admin, en.Admin}} {
		for id := range part.all {
			if _, ok := part.have[id]; !ok {
				return nil, fmt.Errorf("locales/%s.json: %s lacks %q", l, part.name, id)
			}
		}
		for id := range part.have {
			if _, ok := part.all[id]; !ok {
				return nil, fmt.Errorf("locales/%s.json: %s has %q, which English does not", l, part.name, id)
			}
		}
	}
	return loc, nil
}

func parse(fsys fs.FS, l Lang) (*locale, error) {
	name := "locales/" + string(l) + ".json"
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	loc := &locale{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(loc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if loc.Language.Name == "" || len(loc.Language.Tags) == 0 {
		return nil, fmt.Errorf("%s: the language needs a name and the tags it answers to", name)
	}
	for id := range loc.Messages {
		if _, dup := loc.Admin[id]; dup {
			return nil, fmt.Errorf("%s: %q is in both messages and admin", name, id)
		}
	}
	return loc, nil
}

// lookup finds id in l's part, falling back to English.
func lookup(l Lang, id string, part func(*locale) map[string]message) (message, bool) {
	if loc := get(l); loc != nil {
		if m, ok := part(loc)[id]; ok {
			return m, true
		}
	}
	m, ok := part(get(Default))[id]
	return m, ok
}

func messages(loc *locale) map[string]message  { return loc.Messages }
func adminPart(loc *locale) map[string]message { return loc.Admin }

// Has reports whether id is a known message ID.
func Has(id string) bool {
	_, ok := get(Default).Messages[id]
	return ok
}

// IDs returns every message ID, sorted.
func IDs() []string { return sortedKeys(get(Default).Messages) }

// HasAdmin reports whether id is an admin console message.
func HasAdmin(id string) bool {
	_, ok := get(Default).Admin[id]
	return ok
}

// Admin returns admin console message id in l, as T does for the main
// catalog: English when l has no text, the ID itself when unknown.
func Admin(l Lang, id string, args map[string]any) string {
	m, ok := lookup(l, id, adminPart)
	if !ok {
		return id
	}
	return interpolate(m.text(args), args)
}

// AdminIDs lists the admin console's message IDs, sorted.
func AdminIDs() []string { return sortedKeys(get(Default).Admin) }

// Known returns s in language l when s is one of the texts the default
// blueprints put in admin-editable fields (flow titles, prompt labels, a
// password policy's error_message), else s unchanged. They are data, not
// message IDs, but a fresh install shows them on every login page; an
// admin who edits one gets their own words shown as written.
func Known(l Lang, s string) string {
	if loc := get(l); loc != nil {
		if t, ok := loc.Known[s]; ok {
			return t
		}
	}
	return s
}

func sortedKeys(m map[string]message) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
