package mail

import (
	"strings"
	"testing"
	"time"
)

func TestRenderEveryTemplateInEveryLanguage(t *testing.T) {
	data := Data{Name: "Alice", Link: "https://id.example.com/link?t=1", InvitedBy: "Bob", Expires: 30 * time.Minute,
		Title: "login_failed", Body: "Failed login for alice", Severity: "alert"}
	for _, lang := range languages {
		for _, name := range []string{TemplateEmailVerification, TemplatePasswordReset, TemplateInvitation, TemplateTest,
			TemplateEventNotification} {
			t.Run(lang+"/"+name, func(t *testing.T) {
				m, err := Render(name, lang, data)
				if err != nil {
					t.Fatal(err)
				}
				if m.Subject == "" || m.Text == "" || m.HTML == "" || len(m.To) != 0 {
					t.Fatalf("Render = %+v, want subject, text and HTML and no recipients", m)
				}
				if !strings.Contains(m.HTML, `<html lang="`+lang+`">`) {
					t.Errorf("HTML does not declare lang %q", lang)
				}
				if name == TemplateTest {
					return
				}
				if strings.Count(m.Text, data.Link) != 1 {
					t.Errorf("text part has the link %d times, want once:\n%s", strings.Count(m.Text, data.Link), m.Text)
				}
				// The one call to action: the button and the written-out link.
				if n := strings.Count(m.HTML, "<a "); n != 2 || strings.Count(m.HTML, `href="`+data.Link+`"`) != 2 {
					t.Errorf("HTML has %d links, want the button and its written-out form, both to %s:\n%s", n, data.Link, m.HTML)
				}
				if strings.Contains(m.Text+m.HTML, "<no value>") || strings.Contains(m.Text, "{{") {
					t.Errorf("unfilled placeholder in:\n%s\n%s", m.Text, m.HTML)
				}
				if err := (Message{To: []string{"a@example.com"}, Subject: m.Subject, Text: m.Text}).Validate(); err != nil {
					t.Errorf("the rendered message does not validate: %v", err)
				}
			})
		}
	}
}

func TestRenderChinese(t *testing.T) {
	m, err := Render(TemplatePasswordReset, "zh-CN", Data{Name: "王小明", Link: "https://id.example.com/r", Expires: 90 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"王小明，您好：", "重置您账户密码", "此链接将在 1 小时 30 分钟后失效。", "https://id.example.com/r"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("Chinese text lacks %q:\n%s", want, m.Text)
		}
	}
	if m.Subject != "重置您的密码" || !strings.Contains(m.HTML, "设置新密码") {
		t.Errorf("Chinese subject %q / HTML button wrong:\n%s", m.Subject, m.HTML)
	}

	inv, err := Render(TemplateInvitation, "zh-Hans", Data{Link: "https://id.example.com/i",
		Expires: time.Date(2026, 3, 2, 12, 0, 0, 0, time.FixedZone("CST", 8*3600))})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Subject != "您收到了创建账户的邀请" || !strings.Contains(inv.Text, "此链接将于 2026年3月2日 04:00（UTC） 失效。") {
		t.Errorf("Chinese invitation: subject %q, text:\n%s", inv.Subject, inv.Text)
	}
}

func TestMatchLanguage(t *testing.T) {
	for tag, want := range map[string]string{
		"": "en", "en": "en", "en-GB": "en", "de": "en", "zh-Hans": "zh-Hans", "zh": "zh-Hans",
		"zh-CN": "zh-Hans", "zh_CN": "zh-Hans", "zh-Hans-SG": "zh-Hans", "ZH-HANS": "zh-Hans",
		"zh-Hant": "en", "zh-TW": "en", "zh-HK": "en", "zh-Hant-TW": "en",
	} {
		if got := MatchLanguage(tag); got != want {
			t.Errorf("MatchLanguage(%q) = %q, want %q", tag, got, want)
		}
	}
}

func TestRenderEscapesData(t *testing.T) {
	m, err := Render(TemplateInvitation, "en", Data{
		Link:      "https://id.example.com/i?a=1&b=<2>",
		InvitedBy: "<script>alert(1)</script>\r\nBcc: mallory@evil.example",
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "&lt;script&gt;") {
		t.Errorf("HTML does not escape the inviter's name:\n%s", m.HTML)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Errorf("subject kept a line break from data: %q", m.Subject)
	}
	if m.Subject != "<script>alert(1)</script> Bcc: mallory@evil.example invited you to create an account" {
		t.Errorf("subject = %q, want the data folded onto one line", m.Subject)
	}

	js, err := Render(TemplatePasswordReset, "en", Data{Link: "javascript:alert(1)"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(js.HTML, `href="javascript:`) {
		t.Errorf("a javascript: link became a clickable href:\n%s", js.HTML)
	}
}

func TestRenderExpiryWording(t *testing.T) {
	for _, tc := range []struct {
		expires any
		want    string
	}{
		{30 * time.Minute, "This link expires in 30 minutes."},
		{time.Minute + 59*time.Second, "This link expires in 1 minute."},
		{time.Hour, "This link expires in 1 hour."},
		{150 * time.Minute, "This link expires in 2 hours 30 minutes."},
		{7 * 24 * time.Hour, "This link expires in 7 days."},
		{time.Date(2026, 3, 2, 12, 5, 0, 0, time.UTC), "This link expires on 2 March 2026 at 12:05 UTC."},
		{nil, ""},
		{time.Duration(0), ""},
	} {
		m, err := Render(TemplateEmailVerification, "en", Data{Link: "https://id.example.com/v", Expires: tc.expires})
		if err != nil {
			t.Fatal(err)
		}
		if tc.want == "" {
			if strings.Contains(m.Text, "expires") || strings.Contains(m.Text, "\n\n\n") {
				t.Errorf("Expires %v: text mentions expiry or has a gap:\n%s", tc.expires, m.Text)
			}
			continue
		}
		if !strings.Contains(m.Text, tc.want) || !strings.Contains(m.HTML, tc.want) {
			t.Errorf("Expires %v: want %q in both parts:\n%s", tc.expires, tc.want, m.Text)
		}
	}
}

func TestRenderUnknownTemplate(t *testing.T) {
	if _, err := Render("pasword_reset", "en", Data{}); err == nil {
		t.Error("Render of an unknown template returned no error")
	}
}

// Flow stages pass a map built from the stage's settings, as
// internal/flow/stage/email.go does.
func TestRenderTakesAMap(t *testing.T) {
	expires := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	m, err := Render(TemplateEmailVerification, "en", map[string]any{
		"Name": "alice", "Link": "https://id.example.com/v", "Expires": expires, "Subject": "Welcome\nto Example"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Welcome to Example" || !strings.Contains(m.HTML, "<title>Welcome to Example</title>") {
		t.Errorf("subject = %q, want the Subject from data, on one line, also in the HTML title", m.Subject)
	}
	if !strings.Contains(m.Text, "Hello alice,") || !strings.Contains(m.Text, "This link expires on 1 March 2026 at 12:30 UTC.") {
		t.Errorf("text does not use the map's values:\n%s", m.Text)
	}
	if m, err := Render(TemplateInvitation, "en", map[string]string{"Link": "https://id.example.com/i"}); err != nil ||
		m.Subject != "You are invited to create an account" {
		t.Errorf("invitation from a map without InvitedBy = %q, %v; want the default subject", m.Subject, err)
	}

	for _, tc := range []struct {
		name string
		data any
		want string
	}{
		{"misspelt key", map[string]any{"link": "https://id.example.com/v"}, `unknown data key "link"`},
		{"no link", Data{Name: "alice"}, "Link is empty"},
		{"wrong type", map[string]any{"Link": 42}, `"Link" must be a string`},
		{"wrong expiry", Data{Link: "https://id.example.com/v", Expires: "30m"}, "expires must be"},
		{"not data", struct{ Link string }{"https://id.example.com/v"}, "must be mail.Data or a map"},
	} {
		if _, err := Render(TemplatePasswordReset, "en", tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Render = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestRenderEventNotification(t *testing.T) {
	body := "login_failed: <b>alice</b>"
	m, err := Render(TemplateEventNotification, "zh-CN", Data{Title: "login_failed", Body: body, Severity: "warning"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Gatehouse 通知：login_failed" || !strings.Contains(m.Text, "级别：警告") || !strings.Contains(m.Text, body) {
		t.Errorf("Chinese notification: subject %q, text:\n%s", m.Subject, m.Text)
	}
	if strings.Contains(m.HTML, "<b>alice") || !strings.Contains(m.HTML, "&lt;b&gt;alice") || strings.Contains(m.HTML, "<a ") {
		t.Errorf("HTML must escape the body and, without a link, have none:\n%s", m.HTML)
	}
	m, err = Render(TemplateEventNotification, "en", Data{Title: "model_created", Body: "x", Severity: "notice", Subject: "[IdP] model_created"})
	if err != nil || m.Subject != "[IdP] model_created" || !strings.Contains(m.Text, "Severity: notice") {
		t.Errorf("English notification with a subject: %+v, %v", m, err)
	}
}
