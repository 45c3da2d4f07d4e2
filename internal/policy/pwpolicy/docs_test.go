package pwpolicy

import (
	"os"
	"strings"
	"testing"
)

// TestEveryCodeIsTranslated keeps docs/password-policy.md, the table the
// UI's translations come from, in step with the codes the package emits:
// every code has a row with English and Simplified Chinese text, the
// fixed English texts are the ones sent, and the table has no stale codes.
func TestEveryCodeIsTranslated(t *testing.T) {
	raw, err := os.ReadFile("../../../docs/password-policy.md")
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ en, zh string }
	rows := map[string]row{}
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "| `password.") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) != 3 {
			t.Errorf("row %q: want 3 cells (code, English, 简体中文)", line)
			continue
		}
		code := strings.Trim(strings.TrimSpace(cells[0]), "`")
		rows[code] = row{strings.TrimSpace(cells[1]), strings.TrimSpace(cells[2])}
	}
	known := map[string]bool{}
	for _, code := range AllCodes() {
		known[code] = true
		r, ok := rows[code]
		switch {
		case !ok:
			t.Errorf("%s: no row in docs/password-policy.md", code)
		case r.en == "" || r.zh == "":
			t.Errorf("%s: empty English or Chinese text", code)
		case fixedTexts[code] != "" && r.en != fixedTexts[code]:
			t.Errorf("%s: docs say %q, the server sends %q", code, r.en, fixedTexts[code])
		}
	}
	for code := range rows {
		if !known[code] {
			t.Errorf("%s: documented but never emitted", code)
		}
	}
}
