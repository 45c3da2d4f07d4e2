package admin

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestJSONText(t *testing.T) {
	typical := map[string]any{"b": []any{1.0, "x<y", map[string]any{}}, "a": map[string]any{"k": nil, "t": true}, "e": []any{}}
	want, _ := json.MarshalIndent(typical, "", "  ")
	if got, cut := jsonText(typical); got != string(want) || cut {
		t.Errorf("a typical value: got %q (cut %v), want MarshalIndent's %q", got, cut, want)
	}
	var deep any = "leaf"
	for range 40 {
		deep = []any{deep}
	}
	if got, cut := jsonText(deep); !cut || !strings.Contains(got, "[…]") || strings.Contains(got, "leaf") {
		t.Errorf("40 levels deep: want a cut below 32 levels, got cut %v, %q", cut, got)
	}
	big := map[string]any{"s": strings.Repeat("é", maxJSONText), "z": 1.0}
	if got, cut := jsonText(big); !cut || len(got) > maxJSONText || !utf8.ValidString(got) {
		t.Errorf("a large value: want at most %d bytes of valid text and a cut, got %d bytes, cut %v", maxJSONText, len(got), cut)
	}
	wide := make([]any, 100000)
	for i := range wide {
		wide[i] = 1.0
	}
	if got, cut := jsonText(wide); !cut || len(got) > maxJSONText {
		t.Errorf("a long list: want at most %d bytes and a cut, got %d bytes, cut %v", maxJSONText, len(got), cut)
	}
}
