package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"

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

func TestEveryIDHasBothLanguages(t *testing.T) {
	consts := idConstants(t)
	for id, name := range consts {
		e, ok := catalog[id]
		switch {
		case !ok:
			t.Errorf("%s (%q) has no catalog entry", name, id)
		case strings.TrimSpace(e.en) == "":
			t.Errorf("%q has no English text", id)
		case strings.TrimSpace(e.zh) == "":
			t.Errorf("%q has no Simplified Chinese text", id)
		}
	}
	for id := range catalog {
		if _, ok := consts[id]; !ok {
			t.Errorf("catalog entry %q has no constant in ids.go", id)
		}
	}
}

func TestPlaceholdersAgree(t *testing.T) {
	for id, e := range catalog {
		want := placeholders(e.en)
		if got := placeholders(e.zh); !slices.Equal(got, want) {
			t.Errorf("%q: Chinese placeholders %v, English %v", id, got, want)
		}
		if e.enOne != "" {
			if got := placeholders(e.enOne); !slices.Equal(got, want) {
				t.Errorf("%q: English singular placeholders %v, plural %v", id, got, want)
			}
			if !slices.Contains(want, e.count) {
				t.Errorf("%q: plural chosen by {%s}, which the text does not use", id, e.count)
			}
		}
	}
}

// The Chinese should read like Chinese: full-width sentence punctuation,
// no leftover English sentence.
func TestChineseLooksChinese(t *testing.T) {
	for id, e := range catalog {
		zh := e.zh
		if id == UIBrand {
			continue
		}
		if !strings.ContainsFunc(zh, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
			t.Errorf("%q: %q has no Chinese characters", id, zh)
		}
		for _, p := range []string{"? ", "! ", ", "} {
			if strings.Contains(zh, p) {
				t.Errorf("%q: %q uses ASCII punctuation %q", id, zh, p)
			}
		}
		if strings.HasSuffix(zh, ".") || strings.HasSuffix(zh, "?") {
			t.Errorf("%q: %q ends with ASCII punctuation", id, zh)
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
