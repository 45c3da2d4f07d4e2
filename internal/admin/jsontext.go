package admin

import (
	"encoding/json"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// maxJSONText bounds the indented JSON a page shows for one value. Writes
// are bounded (store.CheckJSON), but a value stored before those bounds,
// or by another tool, may not be: json.MarshalIndent made 162 MB of a
// 24 kB value nested 9000 levels deep, since every level indents every
// line below it.
const maxJSONText = 64 << 10

// jsonText is v as indented JSON, cut at maxJSONText bytes and below
// store.MaxJSONDepth levels; truncated reports a cut.
func jsonText(v any) (text string, truncated bool) {
	w := &jsonWriter{}
	w.value(v, 0)
	s := w.b.String()
	if len(s) > maxJSONText {
		s, w.cut = s[:maxJSONText], true
		for !utf8.ValidString(s) { // do not split a character
			s = s[:len(s)-1]
		}
	}
	return s, w.cut
}

// jsonText with the translated note that says the value was cut.
func (rq *req) jsonText(v any) string {
	s, truncated := jsonText(v)
	if truncated {
		s += "\n… " + rq.t("admin.json.truncated", map[string]any{"kib": maxJSONText >> 10, "depth": store.MaxJSONDepth})
	}
	return s
}

type jsonWriter struct {
	b   strings.Builder
	cut bool
}

func (w *jsonWriter) full() bool {
	if w.b.Len() > maxJSONText {
		w.cut = true
	}
	return w.cut
}

func (w *jsonWriter) value(v any, depth int) {
	if w.full() {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w.nested(depth, "{", "}", len(keys), func(i int) {
			k, _ := json.Marshal(keys[i])
			w.b.Write(k)
			w.b.WriteString(": ")
			w.value(x[keys[i]], depth+1)
		})
	case []any:
		w.nested(depth, "[", "]", len(x), func(i int) { w.value(x[i], depth+1) })
	default:
		b, err := json.Marshal(v)
		if err != nil {
			b = []byte("null")
		}
		w.b.Write(b)
	}
}

// nested writes an object or array of n items, one per line, or a mark
// in place of its items when it is nested too deep to show.
func (w *jsonWriter) nested(depth int, open, close string, n int, item func(int)) {
	switch {
	case n == 0:
		w.b.WriteString(open + close)
		return
	case depth >= store.MaxJSONDepth:
		w.b.WriteString(open + "…" + close)
		w.cut = true
		return
	}
	w.b.WriteString(open)
	for i := range n {
		if w.full() {
			return
		}
		w.b.WriteString("\n" + strings.Repeat("  ", depth+1))
		item(i)
		if i < n-1 {
			w.b.WriteByte(',')
		}
	}
	w.b.WriteString("\n" + strings.Repeat("  ", depth) + close)
}
