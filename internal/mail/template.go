package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
)

//go:embed templates
var templateFiles embed.FS

// Template names Render knows.
const (
	TemplateEmailVerification = "email_verification"
	TemplatePasswordReset     = "password_reset"
	TemplateInvitation        = "invitation"
	TemplateTest              = "test"
	// TemplateEventNotification carries a notification rule's message.
	TemplateEventNotification = "event_notification"
)

// Languages with templates; the first is the fallback.
var languages = []string{"en", "zh-Hans"}

// Data is what the templates read:
//
//   - email_verification, password_reset: Name (may be empty), Link, Expires
//   - invitation: Link, Expires, InvitedBy (may be empty)
//   - test: nothing
//   - event_notification: Title (the event's action), Body, Severity
//     (notice, warning or alert), Name (the recipient, may be empty) and
//     Link (may be empty)
//
// Render also takes a map[string]any or map[string]string with these keys,
// as flow stages build their data from configuration.
type Data struct {
	Name string
	// Link is the absolute URL the message asks the reader to open.
	Link      string
	InvitedBy string
	// Expires is a time.Duration (the link is valid for) or a time.Time
	// (valid until, shown in UTC); nil or zero leaves the sentence out.
	Expires any
	// Subject, when set, replaces the template's subject line, as the
	// subject setting of Authentik's email stage does.
	Subject string
	// Title, Body and Severity are a notification's.
	Title, Body, Severity string
}

// toData accepts the shapes of data Render documents. Unknown map keys are
// errors, so a misspelt "link" cannot silently send a message without one.
func toData(v any) (Data, error) {
	var d Data
	var m map[string]any
	switch v := v.(type) {
	case nil:
		return d, nil
	case Data:
		d = v
	case *Data:
		if v != nil {
			d = *v
		}
	case map[string]string:
		m = map[string]any{}
		for k, s := range v {
			m[k] = s
		}
	case map[string]any:
		m = v
	default:
		return d, fmt.Errorf("data must be mail.Data or a map, not %T", v)
	}
	for k, val := range m {
		var dst *string
		switch k {
		case "Name":
			dst = &d.Name
		case "Link":
			dst = &d.Link
		case "InvitedBy":
			dst = &d.InvitedBy
		case "Subject":
			dst = &d.Subject
		case "Title":
			dst = &d.Title
		case "Body":
			dst = &d.Body
		case "Severity":
			dst = &d.Severity
		case "Expires":
			d.Expires = val
			continue
		default:
			return d, fmt.Errorf("unknown data key %q (known: Name, Link, InvitedBy, Expires, Subject, Title, Body, Severity)", k)
		}
		s, ok := val.(string)
		if !ok && val != nil {
			return d, fmt.Errorf("data key %q must be a string, not %T", k, val)
		}
		*dst = s
	}
	switch e := d.Expires.(type) {
	case nil, time.Duration, time.Time:
	default:
		return d, fmt.Errorf("expires must be a time.Duration or a time.Time, not %T", e)
	}
	return d, nil
}

// view is what the templates execute on: the caller's data plus what the
// layout needs.
type view struct {
	Lang    string
	Subject string
	Data    Data
}

type templateSet struct {
	text *texttemplate.Template // defines "subject" and "text"
	html *htmltemplate.Template // defines "layout", which calls "body"
}

// templates is keyed by language, then template name. They are parsed at
// start-up, so a broken template fails the first test, not a user's reset.
var templates = mustParseTemplates()

func mustParseTemplates() map[string]map[string]templateSet {
	out := map[string]map[string]templateSet{}
	for _, lang := range languages {
		out[lang] = map[string]templateSet{}
		for _, name := range []string{TemplateEmailVerification, TemplatePasswordReset, TemplateInvitation, TemplateTest,
			TemplateEventNotification} {
			dir := "templates/" + lang + "/"
			funcs := templateFuncs(lang)
			text := texttemplate.Must(texttemplate.New(name).Funcs(funcs).Option("missingkey=error").
				ParseFS(templateFiles, dir+"common.txt", dir+name+".txt"))
			html := htmltemplate.Must(htmltemplate.New(name).Funcs(funcs).Option("missingkey=error").
				ParseFS(templateFiles, "templates/layout.html", dir+"common.html", dir+name+".html"))
			for _, def := range []string{"subject", "text"} {
				if text.Lookup(def) == nil {
					panic(fmt.Sprintf("mail: %s%s.txt does not define %q", dir, name, def))
				}
			}
			if html.Lookup("body") == nil {
				panic(fmt.Sprintf("mail: %s%s.html does not define \"body\"", dir, name))
			}
			out[lang][name] = templateSet{text: text, html: html}
		}
	}
	return out
}

// Render fills a template in the language closest to lang ("en",
// "zh-Hans"; "zh-CN" and "zh" mean Simplified Chinese; anything else falls
// back to English); data is a Data or a map with its field names as keys.
// The result has no recipients: set To, then Send or EnqueueTx it. Data is
// escaped in the HTML part; in the subject, line breaks and runs of spaces
// from data are folded into single spaces.
func Render(name, lang string, data any) (Message, error) {
	lang = MatchLanguage(lang)
	set, ok := templates[lang][name]
	if !ok {
		return Message{}, fmt.Errorf("mail: no template %q", name)
	}
	d, err := toData(data)
	if err != nil {
		return Message{}, fmt.Errorf("mail: render %s: %w", name, err)
	}
	// A notification is the point of its own message; the others exist
	// to carry a link.
	if name != TemplateTest && name != TemplateEventNotification && d.Link == "" {
		return Message{}, fmt.Errorf("mail: render %s: Link is empty, and it is the point of this message", name)
	}
	v := view{Lang: lang, Data: d}
	var buf bytes.Buffer
	if err := set.text.ExecuteTemplate(&buf, "subject", v); err != nil {
		return Message{}, fmt.Errorf("mail: render %s subject: %w", name, err)
	}
	if d.Subject != "" {
		buf.Reset()
		buf.WriteString(d.Subject)
	}
	v.Subject = strings.Join(strings.Fields(buf.String()), " ")
	buf.Reset()
	if err := set.text.ExecuteTemplate(&buf, "text", v); err != nil {
		return Message{}, fmt.Errorf("mail: render %s text: %w", name, err)
	}
	text := strings.TrimSpace(buf.String()) + "\n"
	buf.Reset()
	if err := set.html.ExecuteTemplate(&buf, "layout", v); err != nil {
		return Message{}, fmt.Errorf("mail: render %s HTML: %w", name, err)
	}
	return Message{Subject: v.Subject, Text: text, HTML: buf.String()}, nil
}

// MatchLanguage picks the template language for a BCP 47 tag. Traditional
// Chinese (zh-Hant, zh-TW, zh-HK, zh-MO) falls back to English rather than
// showing a Taiwanese or Hong Kong reader the simplified script.
func MatchLanguage(tag string) string {
	parts := strings.Split(strings.ToLower(strings.ReplaceAll(strings.TrimSpace(tag), "_", "-")), "-")
	if parts[0] != "zh" {
		return "en"
	}
	for _, p := range parts[1:] {
		switch p {
		case "hant", "tw", "hk", "mo":
			return "en"
		}
	}
	return "zh-Hans"
}

// cta is the data of the "cta" (call to action) template: one link.
type cta struct{ Link, Label string }

func templateFuncs(lang string) map[string]any {
	return map[string]any{
		"cta":      func(link, label string) cta { return cta{link, label} },
		"isTime":   func(v any) bool { _, ok := v.(time.Time); return ok },
		"duration": func(v any) string { return formatDuration(lang, v) },
		"date":     func(v any) string { return formatDate(lang, v) },
	}
}

// formatDuration writes a link's validity as a reader would say it:
// "30 minutes", "2 hours", "1 hour 30 minutes", "7 days". Seconds are
// dropped, never rounded up: the message must not promise more time than
// the link has.
func formatDuration(lang string, v any) string {
	d, _ := v.(time.Duration)
	days, hours := int(d/(24*time.Hour)), int(d/time.Hour)
	mins := int(d % time.Hour / time.Minute)
	unit := func(n int, one, many, zh string) string {
		if lang == "zh-Hans" {
			return fmt.Sprintf("%d %s", n, zh)
		}
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return unit(days, "day", "days", "天")
	case hours > 0 && mins == 0:
		return unit(hours, "hour", "hours", "小时")
	case hours > 0:
		return unit(hours, "hour", "hours", "小时") + " " + unit(mins, "minute", "minutes", "分钟")
	default:
		return unit(max(mins, 1), "minute", "minutes", "分钟")
	}
}

// formatDate writes an expiry instant in UTC: the server does not know the
// reader's time zone, so it says which one it uses.
func formatDate(lang string, v any) string {
	t, _ := v.(time.Time)
	t = t.UTC()
	if lang == "zh-Hans" {
		return t.Format("2006年1月2日 15:04") + "（UTC）"
	}
	return t.Format("2 January 2006 at 15:04") + " UTC"
}
