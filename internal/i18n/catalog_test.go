package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gatehouse-id/gatehouse/internal/policy/pwpolicy"
)

// idConstants reads the string constants of ids.go: the typed list of IDs.
func idConstants(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "ids.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, _ := strconv.Unquote(lit.Value)
				out[v] = name.Name
			}
		}
		return true
	})
	return out
}

func TestEveryIDHasEveryLanguage(t *testing.T) {
	consts := idConstants(t)
	for id, name := range consts {
		if !Has(id) {
			t.Errorf("%s (%q) has no catalog entry", name, id)
		}
	}
	for _, id := range IDs() {
		if _, ok := consts[id]; !ok {
			t.Errorf("catalog entry %q has no constant in ids.go", id)
		}
	}
	for _, l := range Supported() {
		for part, m := range map[string]map[string]message{"messages": get(l).Messages, "admin": get(l).Admin} {
			for id, msg := range m {
				if strings.TrimSpace(msg.Other) == "" {
					t.Errorf("locales/%s.json %s: %q is empty", l, part, id)
				}
			}
		}
	}
}

// A language file missing an ID, or having one English lacks, does not
// load: the error names the file and the ID.
func TestLoadRefusesIncompleteLanguages(t *testing.T) {
	en := `{"language":{"name":"English","tags":["en"]},"messages":{"a":"A","b":"B"},"admin":{}}`
	for _, tc := range []struct{ name, fr, want string }{
		{"missing", `{"language":{"name":"Français","tags":["fr"]},"messages":{"a":"A"},"admin":{}}`, `lacks "b"`},
		{"extra", `{"language":{"name":"Français","tags":["fr"]},"messages":{"a":"A","b":"B","c":"C"},"admin":{}}`, `has "c"`},
		{"no name", `{"language":{"tags":["fr"]},"messages":{"a":"A","b":"B"},"admin":{}}`, "needs a name"},
		{"unknown key", `{"language":{"name":"Français","tags":["fr"]},"messages":{"a":"A","b":"B"},"admin":{},"extra":1}`, "unknown field"},
		{"half a plural", `{"language":{"name":"Français","tags":["fr"]},"messages":{"a":{"other":"A"},"b":"B"},"admin":{}}`, "plural"},
	} {
		fsys := fstest.MapFS{"locales/en.json": {Data: []byte(en)}, "locales/fr.json": {Data: []byte(tc.fr)}}
		if _, _, err := load(fsys); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want an error saying %q, got %v", tc.name, tc.want, err)
		}
	}
	fsys := fstest.MapFS{"locales/en.json": {Data: []byte(en)},
		"locales/fr.json": {Data: []byte(`{"language":{"name":"Français","tags":["fr"]},"messages":{"a":"À","b":"B"},"admin":{}}`)}}
	locs, order, err := load(fsys)
	if err != nil || len(order) != 2 || order[0] != EN || locs["fr"].Messages["a"].Other != "À" {
		t.Errorf("a complete third language: got %v %v %v", order, locs, err)
	}
}

func TestPlaceholdersAgree(t *testing.T) {
	en := get(Default)
	for _, l := range Supported() {
		for part, m := range map[string]map[string]message{"messages": get(l).Messages, "admin": get(l).Admin} {
			all := en.Messages
			if part == "admin" {
				all = en.Admin
			}
			for id, msg := range m {
				want := placeholders(all[id].Other)
				if got := placeholders(msg.Other); !slices.Equal(got, want) {
					t.Errorf("locales/%s.json %q: placeholders %v, English %v", l, id, got, want)
				}
				if msg.One != "" {
					if got := placeholders(msg.One); !slices.Equal(got, want) {
						t.Errorf("locales/%s.json %q: singular placeholders %v, plural %v", l, id, got, want)
					}
					if !slices.Contains(want, msg.Count) {
						t.Errorf("locales/%s.json %q: plural chosen by {%s}, which the text does not use", l, id, msg.Count)
					}
				}
			}
		}
	}
}

// The Chinese should read like Chinese: full-width sentence punctuation,
// no leftover English sentence.
func TestChineseLooksChinese(t *testing.T) {
	zh := get(ZhHans)
	if zh == nil {
		t.Fatal("no Simplified Chinese")
	}
	for part, m := range map[string]map[string]message{"messages": zh.Messages, "admin": zh.Admin} {
		for id, msg := range m {
			text := msg.Other
			if id == UIBrand || slices.Contains([]string{"ID", "UID", "{model}：{name}"}, text) {
				continue
			}
			if !strings.ContainsFunc(text, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
				t.Errorf("%s %q: %q has no Chinese characters", part, id, text)
			}
			for _, p := range []string{"? ", "! ", ", "} {
				if strings.Contains(text, p) {
					t.Errorf("%s %q: %q uses ASCII punctuation %q", part, id, text, p)
				}
			}
			if strings.HasSuffix(text, ".") || strings.HasSuffix(text, "?") {
				t.Errorf("%s %q: %q ends with ASCII punctuation", part, id, text)
			}
		}
	}
}

// Every code the password policy emits must be translatable.
func TestPasswordPolicyCodes(t *testing.T) {
	for _, code := range pwpolicy.AllCodes() {
		if !Has(code) {
			t.Errorf("password policy code %q is not in the catalog", code)
		}
	}
}

func TestT(t *testing.T) {
	for _, tc := range []struct {
		lang Lang
		id   string
		args map[string]any
		want string
	}{
		{EN, ActionLogIn, nil, "Log in"},
		{ZhHans, ActionLogIn, nil, "登录"},
		{EN, FlowEmailSent, map[string]any{"address": "a***@example.com"}, "Check your email: we sent a link to a***@example.com."},
		{ZhHans, FlowEmailSent, map[string]any{"address": "a***@example.com"}, "请查收邮件：我们已向 a***@example.com 发送了一个链接。"},
		{EN, PasswordTooFewDigits, map[string]any{"min": 1}, "The password must contain at least 1 digit."},
		{EN, PasswordTooFewDigits, map[string]any{"min": 2}, "The password must contain at least 2 digits."},
		{EN, PasswordTooFewDigits, map[string]any{"min": float64(1)}, "The password must contain at least 1 digit."},
		{ZhHans, PasswordTooShort, map[string]any{"min": float64(12)}, "密码长度至少为 12 个字符。"},
		// Arguments are not scanned again.
		{EN, UILoggedInAs, map[string]any{"user": "{user}<b>"}, "Logged in as {user}<b>"},
		// A missing argument leaves the placeholder visible.
		{EN, UILoggedInAs, nil, "Logged in as {user}"},
		{EN, "no.such.id", nil, "no.such.id"},
		{"fr", ActionLogIn, nil, "Log in"},
	} {
		if got := T(tc.lang, tc.id, tc.args); got != tc.want {
			t.Errorf("T(%q, %q, %v) = %q, want %q", tc.lang, tc.id, tc.args, got, tc.want)
		}
	}
}

func TestMessage(t *testing.T) {
	for _, tc := range []struct {
		name          string
		lang          Lang
		code, english string
		args          map[string]any
		want          string
	}{
		{"stock text translated", ZhHans, PasswordInvalid, "Invalid username or password.", nil, "用户名或密码错误。"},
		{"English keeps the stage's text", EN, UserWriteConflict, "Failed to save the user: that email is already in use.", nil,
			"Failed to save the user: that email is already in use."},
		{"no text: the catalog's", EN, PromptFieldRequired, "", nil, "This field is required."},
		{"unknown code: the text", ZhHans, "stage.new.thing", "Something new.", nil, "Something new."},
		{"unknown code, no text: the code", ZhHans, "stage.new.thing", "", nil, "stage.new.thing"},
		{"policy's own message shown as written", ZhHans, FlowNotApplicable, "Only staff may enroll.", nil, "Only staff may enroll."},
		{"free code with stock text translated", ZhHans, FlowNotApplicable, "You are not allowed to use this flow.", nil, "您无权使用此流程。"},
		{"shipped default error_message translated", ZhHans, PromptPolicyFailed, "The password must be at least 8 characters long.", nil,
			"密码长度至少为 8 个字符。"},
		{"arguments", ZhHans, PasswordTooFewSymbols, "The password must contain at least 2 symbols from: !@",
			map[string]any{"min": 2, "charset": "!@"}, "密码至少需要包含 2 个以下符号：!@"},
	} {
		if got := Message(tc.lang, tc.code, tc.english, tc.args); got != tc.want {
			t.Errorf("%s: Message(%q, %q, %q) = %q, want %q", tc.name, tc.lang, tc.code, tc.english, got, tc.want)
		}
	}
}

func TestKnown(t *testing.T) {
	if got := Known(ZhHans, "Welcome to gatehouse!"); got != "欢迎使用 gatehouse！" {
		t.Errorf("default flow title: got %q", got)
	}
	if got := Known(EN, "Welcome to gatehouse!"); got != "Welcome to gatehouse!" {
		t.Errorf("English: got %q", got)
	}
	if got := Known(ZhHans, "Welcome to ACME!"); got != "Welcome to ACME!" {
		t.Errorf("an admin's own title must stay as written, got %q", got)
	}
}

func BenchmarkT(b *testing.B) {
	args := map[string]any{"address": "a***@example.com"}
	for b.Loop() {
		T(ZhHans, FlowEmailSent, args)
	}
}
