package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// allChallenges is one of each challenge type, as stages build them.
func allChallenges() map[string]flow.Challenge {
	pw := &flow.PasswordChallenge{Base: base(flow.ComponentPassword), AllowShowPassword: true, RecoveryURL: "/if/flow/default-recovery-flow/"}
	pw.PendingUser = "alice"
	consent := &flow.ConsentChallenge{Base: base(flow.ComponentConsent), HeaderText: "The application would like to access your account.",
		Token: "consent-tok", Permissions: []flow.ConsentPermission{{ID: "openid"}, {ID: "email", Name: "Email address"}},
		AdditionalPermissions: []flow.ConsentPermission{{ID: "offline_access"}, {ID: "goauthentik.io/api", Name: "API access"}}}
	consent.PendingUser = "alice"
	return map[string]flow.Challenge{
		"identification": &flow.IdentificationChallenge{Base: base(flow.ComponentIdentification),
			UserFields: []string{"email", "username"}, PasswordFields: true, PrimaryAction: "Log in",
			EnrollURL: "/if/flow/default-enrollment-flow/", RecoveryURL: "/if/flow/default-recovery-flow/"},
		"password": pw,
		"prompt": &flow.PromptChallenge{Base: base(flow.ComponentPrompt), Fields: []flow.PromptField{
			{FieldKey: "username", Label: "Username", Type: "username", Required: true, Placeholder: "Username"},
			{FieldKey: "email", Label: "Email", Type: "email", Required: true},
			{FieldKey: "password", Label: "Password", Type: "password", Required: true},
			{FieldKey: "password_repeat", Label: "Password (repeat)", Type: "password", Required: true},
		}},
		"email":       &flow.EmailChallenge{Base: base(flow.ComponentEmail), Address: "a***@example.com"},
		"consent":     consent,
		"user-login":  &flow.UserLoginChallenge{Base: base(flow.ComponentUserLogin)},
		"denied":      &flow.AccessDeniedChallenge{Base: base(flow.ComponentAccessDenied), ErrorMessage: "You are not allowed to use this flow.", MessageCode: i18n.FlowNotApplicable},
		"redirect":    &flow.RedirectChallenge{Base: flow.Base{Component: flow.ComponentRedirect}, To: "https://app.example/cb?code=1"},
		"autosubmit":  &flow.AutosubmitChallenge{Base: flow.Base{Component: flow.ComponentAutosubmit}, URL: "https://sp.example/saml/acs", Attrs: map[string]string{"SAMLResponse": "PHNhbWw+", "RelayState": "r1"}},
		"dummy":       &flow.DummyChallenge{Base: base(flow.ComponentDummy)},
		"flow-error":  &flow.FlowErrorChallenge{Base: flow.Base{Component: flow.ComponentFlowError}, RequestID: "req-123"},
		"denied-bare": &flow.AccessDeniedChallenge{Base: flow.Base{Component: flow.ComponentAccessDenied}, ErrorMessage: "Flow not found.", MessageCode: i18n.FlowNotFound},
	}
}

func TestEveryChallengeRendersInBothLanguages(t *testing.T) {
	r := newTestRenderer(t)
	for _, lang := range i18n.Supported() {
		for name, c := range allChallenges() {
			p := renderChallenge(t, r, lang, c)
			if p.status != http.StatusOK {
				t.Errorf("%s/%s: status %d", name, lang, p.status)
			}
			checkPage(t, name+"/"+string(lang), lang, p)
		}
	}
}

// A sample word of each page, per language: the page is really translated.
func TestChallengesAreTranslated(t *testing.T) {
	r := newTestRenderer(t)
	want := map[string][2]string{
		"identification": {"Username or email", "用户名或邮箱"},
		"password":       {"Forgot password?", "忘记密码？"},
		"prompt":         {"Repeat password", "确认密码"},
		"email":          {"we sent a link to a***@example.com", "我们已向 a***@example.com 发送了一个链接"},
		"consent":        {"Verify your identity", "验证您的身份"},
		"user-login":     {"Stay signed in?", "保持登录状态？"},
		"denied":         {"You are not allowed to use this flow.", "您无权使用此流程。"},
		"redirect":       {"Continue", "继续"},
		"autosubmit":     {"Continue", "继续"},
		"dummy":          {"Continue", "继续"},
		"flow-error":     {"Something went wrong", "出错了"},
		"denied-bare":    {"Flow not found.", "流程不存在。"},
	}
	cs := allChallenges()
	// The prompt's label "Password (repeat)" is the default blueprint's; its
	// English stays as the admin wrote it.
	want["prompt"] = [2]string{"Password (repeat)", "确认密码"}
	for name, w := range want {
		for i, lang := range i18n.Supported() {
			if p := renderChallenge(t, r, lang, cs[name]); !strings.Contains(p.body, w[i]) {
				t.Errorf("%s in %s: page lacks %q", name, lang, w[i])
			}
		}
	}
}

func TestIdentificationLinks(t *testing.T) {
	r := newTestRenderer(t)
	c := &flow.IdentificationChallenge{Base: base(flow.ComponentIdentification), UserFields: []string{"username"}}
	p := renderChallenge(t, r, i18n.EN, c)
	for _, s := range []string{"Sign up", "Forgot password?", "Not you?", `type="password"`} {
		if strings.Contains(p.body, s) {
			t.Errorf("without enroll/recovery URL, pending user or password field, the page shows %q", s)
		}
	}
	if !strings.Contains(p.body, `<label for="id_uid_field">Username<`) {
		t.Errorf("username-only identification is not labelled Username")
	}
	c.EnrollURL, c.RecoveryURL, c.PasswordlessURL = "/if/flow/enroll/", "/if/flow/recover/", "/if/flow/passkey/"
	c.PendingUser = "alice"
	c.ApplicationPre = "Grafana"
	p = renderChallenge(t, r, i18n.EN, c)
	for _, s := range []string{`<a href="/if/flow/enroll/">Sign up</a>`, `<a href="/if/flow/recover/">Forgot password?</a>`,
		`<a href="/if/flow/passkey/">Use a security key</a>`, `<a href="/flows/-/cancel/?flow=default-authentication-flow">Not you?</a>`,
		"Log in to continue to Grafana."} {
		if !strings.Contains(p.body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

func TestAutocomplete(t *testing.T) {
	r := newTestRenderer(t)
	cs := allChallenges()
	for name, want := range map[string][]string{
		"identification": {`name="uid_field" autocomplete="username"`, `name="password" autocomplete="current-password"`},
		"password":       {`name="password" autocomplete="current-password"`},
		"prompt": {`name="username" autocomplete="username"`, `type="email" id="id_email" name="email" autocomplete="email"`,
			`name="password" autocomplete="new-password"`, `name="password_repeat" autocomplete="new-password"`},
	} {
		p := renderChallenge(t, r, i18n.EN, cs[name])
		for _, w := range want {
			if !strings.Contains(p.body, w) {
				t.Errorf("%s: page lacks %q", name, w)
			}
		}
	}
}

func TestErrorsShownWithAria(t *testing.T) {
	r := newTestRenderer(t)
	c := &flow.PromptChallenge{Base: base(flow.ComponentPrompt), Fields: []flow.PromptField{
		{FieldKey: "username", Label: "Username", Type: "username", Required: true, Value: "taken"},
		{FieldKey: "password", Label: "Password", Type: "password", Required: true, Value: "secret-never-echoed"},
		{FieldKey: "password_repeat", Label: "Password (repeat)", Type: "password", Required: true},
	}}
	c.AddError("username", i18n.PromptUsernameTaken, "This username is already taken.")
	c.AddError("password_repeat", i18n.PromptPasswordsMismatch, "Passwords don't match.")
	c.AddError(flow.NonFieldErrors, i18n.PromptPolicyFailed, "The password must be at least 12 characters long.")
	c.AddError("nickname", i18n.PromptFieldRequired, "This field is required.") // no such field on the page

	p := renderChallenge(t, r, i18n.ZhHans, c)
	for _, w := range []string{
		`id="id_username" name="username" value="taken"`,
		`aria-invalid="true" aria-describedby="id_username-error"`,
		`<ul class="field-errors" id="id_username-error">` + "\n<li>该用户名已被占用。</li>",
		`<ul class="field-errors" id="id_password_repeat-error">` + "\n<li>两次输入的密码不一致。</li>",
		`<div class="alert" role="alert">`,
		// A policy's own message is shown as written.
		"<p>The password must be at least 12 characters long.</p>",
		// An error for a field not on the page is not lost.
		"<p>此项为必填项。</p>",
	} {
		if !strings.Contains(p.body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	if strings.Contains(p.body, "secret-never-echoed") {
		t.Error("a password was echoed back into the page")
	}
	// Focus goes to the first field with an error.
	if !strings.Contains(p.body, `name="username" value="taken" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus`) {
		t.Errorf("the first invalid field is not focused:\n%s", p.body)
	}
	if strings.Count(p.body, "autofocus") != 1 {
		t.Errorf("%d autofocus attributes, want 1", strings.Count(p.body, "autofocus"))
	}
}

func TestPromptFieldTypes(t *testing.T) {
	r := newTestRenderer(t)
	c := &flow.PromptChallenge{Base: base(flow.ComponentPrompt), Fields: []flow.PromptField{
		{FieldKey: "t", Label: "T", Type: "text", InitialValue: "init"},
		{FieldKey: "ta", Label: "TA", Type: "text_area", Value: "typed"},
		{FieldKey: "ro", Label: "RO", Type: "text_read_only", InitialValue: "fixed", Value: "ignored"},
		{FieldKey: "n", Label: "N", Type: "number"},
		{FieldKey: "cb", Label: "CB", Type: "checkbox", Value: "true"},
		{FieldKey: "rb", Label: "RB", Type: "radio-button-group", Choices: []string{"x", "y"}, Value: "y", Required: true},
		{FieldKey: "dd", Label: "DD", Type: "dropdown", Choices: []string{"a", "b"}, Value: "b"},
		{FieldKey: "d", Label: "D", Type: "date"},
		{FieldKey: "dt", Label: "DT", Type: "date-time"},
		{FieldKey: "h", Label: "H", Type: "hidden", InitialValue: "hv"},
		{FieldKey: "s", Label: "S", Type: "static", InitialValue: "Read <this> first"},
		{FieldKey: "sep", Label: "", Type: "separator"},
	}}
	p := renderChallenge(t, r, i18n.EN, c)
	checkPage(t, "prompt types", i18n.EN, p)
	for _, w := range []string{
		`<input type="text" id="id_t" name="t" value="init"`,
		`<textarea id="id_ta" name="ta" rows="4"`, `>typed</textarea>`,
		`name="ro" value="fixed" readonly`,
		`<input type="number" id="id_n" name="n" inputmode="decimal" step="any"`,
		`<input type="checkbox" id="id_cb" name="cb" value="true" checked`,
		`<fieldset class="field">`, `<legend>RB`,
		`<input type="radio" id="id_rb-1" name="rb" value="y" checked required>`,
		`<option value="b" selected>b</option>`,
		`<input type="date" id="id_d"`, `<input type="datetime-local" id="id_dt"`,
		`<input type="hidden" name="h" value="hv">`,
		`<p class="static" id="id_s">Read &lt;this&gt; first</p>`,
		`<div class="separator" role="separator">`,
	} {
		if !strings.Contains(p.body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func TestUserDataIsEscaped(t *testing.T) {
	r := newTestRenderer(t)
	const evil = `<script>alert(1)</script>`
	const escaped = `&lt;script&gt;alert(1)&lt;/script&gt;`
	id := &flow.IdentificationChallenge{Base: base(flow.ComponentIdentification), UserFields: []string{"username"},
		UID: evil, ApplicationPre: evil}
	id.PendingUser = evil
	id.AddError(flow.NonFieldErrors, "unknown.code", evil)
	id.FlowInfo.Title = evil
	prompt := &flow.PromptChallenge{Base: base(flow.ComponentPrompt), Fields: []flow.PromptField{
		{FieldKey: `"><script>`, Label: evil, Type: "text", Value: evil, SubText: evil, Placeholder: evil},
		{FieldKey: "s", Type: "static", InitialValue: evil},
		{FieldKey: "d", Label: evil, Type: "dropdown", Choices: []string{evil}}}}
	for name, c := range map[string]flow.Challenge{
		"identification": id,
		"prompt":         prompt,
		"consent": &flow.ConsentChallenge{Base: base(flow.ComponentConsent), HeaderText: evil,
			Permissions: []flow.ConsentPermission{{ID: "x", Name: evil}}},
		"denied":     &flow.AccessDeniedChallenge{Base: base(flow.ComponentAccessDenied), ErrorMessage: evil},
		"autosubmit": &flow.AutosubmitChallenge{Base: base(flow.ComponentAutosubmit), URL: "https://sp.example/", Title: evil, Attrs: map[string]string{"RelayState": evil}},
		"email":      &flow.EmailChallenge{Base: base(flow.ComponentEmail), Address: evil},
	} {
		p := renderChallenge(t, r, i18n.EN, c)
		if strings.Contains(p.body, "<script>alert") {
			t.Errorf("%s: user data reached the page unescaped", name)
		}
		if !strings.Contains(p.body, escaped) && !strings.Contains(p.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the escaped text is missing", name)
		}
	}
}

func TestUnsafeURLsAreNeutralised(t *testing.T) {
	r := newTestRenderer(t)
	for name, c := range map[string]flow.Challenge{
		"redirect":   &flow.RedirectChallenge{Base: flow.Base{Component: flow.ComponentRedirect}, To: "javascript:alert(1)"},
		"autosubmit": &flow.AutosubmitChallenge{Base: flow.Base{Component: flow.ComponentAutosubmit}, URL: "javascript:alert(1)"},
		"identification": &flow.IdentificationChallenge{Base: base(flow.ComponentIdentification),
			EnrollURL: "javascript:alert(1)"},
	} {
		p := renderChallenge(t, r, i18n.EN, c)
		if strings.Contains(p.body, "javascript:") {
			t.Errorf("%s: a javascript: URL reached the page", name)
		}
	}
}

func TestAutosubmit(t *testing.T) {
	r := newTestRenderer(t)
	p := renderChallenge(t, r, i18n.EN, allChallenges()["autosubmit"])
	csp := p.header.Get("Content-Security-Policy")
	nonce := nonceRe.FindStringSubmatch(csp)
	if nonce == nil {
		t.Fatalf("no nonce in CSP %q", csp)
	}
	if !strings.Contains(p.body, `<script nonce="`+nonce[1]+`">`) {
		t.Errorf("the inline script does not carry the CSP nonce %q", nonce[1])
	}
	for _, w := range []string{`<form method="post" action="https://sp.example/saml/acs" class="form" id="autosubmit">`,
		`<input type="hidden" name="RelayState" value="r1">`, `<input type="hidden" name="SAMLResponse" value="PHNhbWw&#43;">`,
		`<button type="submit" class="button primary">Continue</button>`} {
		if !strings.Contains(p.body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	// Each response has its own nonce.
	p2 := renderChallenge(t, r, i18n.EN, allChallenges()["autosubmit"])
	if p2.header.Get("Content-Security-Policy") == csp {
		t.Error("two responses share a nonce")
	}
}

// TestCSPFormAction: forms post only to this server, pages without a form
// post nowhere, and the autosubmit page, whose form goes to the
// application (which may redirect onwards anywhere it likes), is not
// restricted. The redirect page navigates by itself (meta refresh), so a
// flow ending after a form is not an HTTP redirect of that form.
func TestCSPFormAction(t *testing.T) {
	r := newTestRenderer(t)
	formAction := func(p page) string {
		for d := range strings.SplitSeq(p.header.Get("Content-Security-Policy"), ";") {
			if d = strings.TrimSpace(d); strings.HasPrefix(d, "form-action") {
				return d
			}
		}
		return ""
	}
	for name, want := range map[string]string{"password": "form-action 'self'", "autosubmit": "", "redirect": "form-action 'none'"} {
		if got := formAction(renderChallenge(t, r, i18n.EN, allChallenges()[name])); got != want {
			t.Errorf("%s: want %q, got %q", name, want, got)
		}
	}
	if got := formAction(renderPage(t, r, i18n.EN, http.StatusForbidden, PageForbidden, nil)); got != "form-action 'none'" {
		t.Errorf("a page without forms should forbid them, got %q", got)
	}
	p := renderChallenge(t, r, i18n.EN, &flow.RedirectChallenge{Base: flow.Base{Component: flow.ComponentRedirect},
		To: "https://app.example/cb?code=a&state=b"})
	if !strings.Contains(p.body, `<meta http-equiv="refresh" content="0; url=https://app.example/cb?code=a&amp;state=b">`) {
		t.Errorf("the redirect page must navigate by itself:\n%s", p.body)
	}
}

func TestFormActionKeepsQueryButNotFlowToken(t *testing.T) {
	r := newTestRenderer(t)
	req := request("/if/flow/default-recovery-flow/?flow_token=once&next=%2Fapp%3Fx%3D1&locale=zh-Hans")
	p := renderChallengeAt(t, r, req, i18n.ZhHans, allChallenges()["prompt"])
	if !strings.Contains(p.body, `action="/if/flow/default-recovery-flow/?next=%2Fapp%3Fx%3D1&amp;locale=zh-Hans"`) {
		t.Errorf("form action should keep next and drop flow_token:\n%s", p.body)
	}
	if strings.Contains(p.body, "once") {
		t.Error("the single-use flow_token appears in the page")
	}
	for _, w := range []string{
		`<a href="/if/flow/default-recovery-flow/?locale=en&amp;next=%2Fapp%3Fx%3D1" hreflang="en" lang="en">English</a>`,
		`<a href="/if/flow/default-recovery-flow/?locale=zh-Hans&amp;next=%2Fapp%3Fx%3D1" hreflang="zh-Hans" lang="zh-Hans" aria-current="true">简体中文</a>`,
	} {
		if !strings.Contains(p.body, w) {
			t.Errorf("language switcher lacks %q", w)
		}
	}
	// ?locale= is remembered.
	var found bool
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == i18n.CookieName && c.Value == "zh-Hans" && c.HttpOnly && c.Path == "/" && c.SameSite == http.SameSiteLaxMode {
			found = true
		}
	}
	if !found {
		t.Errorf("no %s cookie set for ?locale=zh-Hans: %v", i18n.CookieName, p.header["Set-Cookie"])
	}
	// Without ?locale= nothing is set.
	if p := renderChallenge(t, r, i18n.ZhHans, allChallenges()["prompt"]); p.header.Get("Set-Cookie") != "" {
		t.Errorf("cookie set without a choice: %q", p.header.Get("Set-Cookie"))
	}
}

func TestNilAndUnknownChallenges(t *testing.T) {
	r := newTestRenderer(t)
	p := renderChallenge(t, r, i18n.EN, nil)
	if p.status != http.StatusInternalServerError || !strings.Contains(p.body, "req-123") {
		t.Errorf("nil challenge: status %d, want 500 with the request ID", p.status)
	}
	p = renderChallenge(t, r, i18n.EN, &flow.DummyChallenge{Base: flow.Base{Component: "ak-stage-new-thing"}})
	if p.status != http.StatusInternalServerError {
		t.Errorf("unknown component: status %d, want 500", p.status)
	}
	// An unsupported language falls back to English.
	p = renderChallenge(t, r, "fr", allChallenges()["dummy"])
	checkPage(t, "fr", i18n.EN, p)
}
