package web

import (
	"net/http"
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// challengeView builds the view of one challenge: the typed value decides
// which texts and fields the page shows.
func (r *Renderer) challengeView(req *http.Request, lang i18n.Lang, c flow.Challenge) *view {
	v := r.newView(req, lang)
	b := flow.BaseOf(c)
	v.C, v.CSRF, v.User = c, b.CSRFToken, b.PendingUser
	if b.FlowInfo != nil {
		v.NotYouURL = b.FlowInfo.CancelURL
	}
	v.BackURL = v.NotYouURL
	if v.BackURL == "" {
		v.BackURL = "/"
	}
	v.Submit = v.t(i18n.ActionContinue, nil)
	v.hasForm = true
	switch c := c.(type) {
	case *flow.IdentificationChallenge:
		v.identification(c)
	case *flow.PasswordChallenge:
		v.Heading = v.flowTitle(c, i18n.FlowPasswordTitle)
		v.Fields = []field{{Kind: kindInput, Type: "password", ID: "id_password", Name: "password",
			Label: v.t(i18n.FieldPassword, nil), Autocomplete: "current-password", Required: true, Autofocus: true}}
	case *flow.PromptChallenge:
		v.Heading = v.flowTitle(c, i18n.FlowPromptTitle)
		for _, p := range c.Fields {
			v.Fields = append(v.Fields, promptField(lang, p))
		}
		for i := range v.Fields {
			if k := v.Fields[i].Kind; k != kindHidden && k != kindStatic && k != kindSeparator && !v.Fields[i].ReadOnly {
				v.Fields[i].Autofocus = true
				break
			}
		}
	case *flow.EmailChallenge:
		v.Heading = v.flowTitle(c, i18n.FlowEmailTitle)
		v.Lead = v.t(i18n.FlowEmailTitle, nil)
		if c.Address != "" {
			v.Body = v.t(i18n.FlowEmailSent, map[string]any{"address": c.Address})
		} else {
			// No address to show (an unknown user in recovery): the same
			// page, so it does not tell whether the account exists.
			v.Body = v.t(i18n.FlowEmailSentGeneric, nil)
		}
		v.Hint = v.t(i18n.FlowEmailHint, nil)
	case *flow.ConsentChallenge:
		v.consent(c)
	case *flow.UserLoginChallenge:
		v.Heading = v.flowTitle(c, i18n.FlowUserLoginTitle)
		v.Lead = v.t(i18n.FlowUserLoginTitle, nil)
		v.Body = v.t(i18n.FlowUserLoginBody, nil)
	case *flow.LogoutChallenge:
		v.Heading = v.t(i18n.FlowLogoutTitle, nil)
		v.Body = v.t(i18n.FlowLogoutBody, nil)
		v.Submit = v.t(i18n.ActionLogOut, nil)
	case *flow.AccessDeniedChallenge:
		v.Heading = v.t(i18n.UIAccessDenied, nil)
		v.Body = i18n.Message(lang, c.MessageCode, c.ErrorMessage, nil)
		if v.Body == "" {
			v.Body = v.t(i18n.FlowAccessDeniedBody, nil)
		}
		v.hasForm = false
	case *flow.RedirectChallenge:
		v.Heading = v.t(i18n.UIRedirecting, nil)
		v.Body = v.t(i18n.FlowRedirectBody, nil)
		v.Refresh = c.To
		v.hasForm = false
	case *flow.AutosubmitChallenge:
		v.Heading = v.t(i18n.UIRedirecting, nil)
		if c.Title != "" {
			v.Heading = i18n.Known(lang, c.Title)
		}
		v.Body = v.t(i18n.FlowAutosubmitBody, nil)
		v.formsLeave = true
		for k, val := range c.Attrs {
			v.Attrs = append(v.Attrs, attr{Name: k, Value: val})
		}
		sort.Slice(v.Attrs, func(i, j int) bool { return v.Attrs[i].Name < v.Attrs[j].Name })
	case *flow.DummyChallenge:
		v.Heading = v.flowTitle(c, i18n.FlowPromptTitle)
		v.Body = v.t(i18n.FlowDummyBody, nil)
	case *flow.FlowErrorChallenge:
		v.Heading = v.t(i18n.FlowErrorTitle, nil)
		v.Body = v.t(i18n.FlowErrorBody, nil)
		if c.RequestID != "" {
			v.RequestID = c.RequestID
		}
		if v.NotYouURL == "" {
			v.BackURL = req.URL.EscapedPath()
		}
		v.hasForm = false
	default:
		v.Heading = v.flowTitle(c, i18n.FlowPromptTitle)
	}
	if v.Lead == v.Heading {
		v.Lead = ""
	}
	v.errors(b)
	v.ShowAlert = len(v.Alerts) > 0 || v.HasFieldErrors
	for i := range v.Fields {
		v.Fields[i].finish()
	}
	return v
}

func (v *view) identification(c *flow.IdentificationChallenge) {
	v.Heading = v.flowTitle(c, i18n.FlowIdentificationTitle)
	if c.ApplicationPre != "" {
		v.Body = v.t(i18n.FlowIdentificationAppPre, map[string]any{"app": c.ApplicationPre})
	}
	uid := field{Kind: kindInput, Type: "text", ID: "id_uid_field", Name: "uid_field",
		Label: uidLabel(v.Lang, c.UserFields), Value: c.UID, Autocomplete: "username",
		Required: true, Autofocus: true, Verbatim: true}
	if len(c.UserFields) == 1 && c.UserFields[0] == "email" {
		uid.Type = "email"
	}
	v.Fields = append(v.Fields, uid)
	if c.PasswordFields {
		v.Fields = append(v.Fields, field{Kind: kindInput, Type: "password", ID: "id_password", Name: "password",
			Label: v.t(i18n.FieldPassword, nil), Autocomplete: "current-password", Required: true})
	}
	v.Submit = v.t(primaryAction(c.PrimaryAction), nil)
	if !i18n.Has(primaryAction(c.PrimaryAction)) {
		v.Submit = c.PrimaryAction
	}
}

// primaryAction maps the stage's English button label to its message ID.
func primaryAction(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "log in", "login":
		return i18n.ActionLogIn
	case "continue":
		return i18n.ActionContinue
	case "sign up":
		return i18n.ActionSignUp
	}
	return s
}

// scopeIDs names the standard scopes' descriptions; other permissions show
// the description the provider's scope mapping gives.
var scopeIDs = map[string]string{
	"openid":         i18n.ScopeOpenID,
	"profile":        i18n.ScopeProfile,
	"email":          i18n.ScopeEmail,
	"offline_access": i18n.ScopeOfflineAccess,
}

func (v *view) consent(c *flow.ConsentChallenge) {
	v.Heading = v.flowTitle(c, i18n.FlowConsentTitle)
	switch h := strings.TrimSpace(c.HeaderText); h {
	case "", i18n.T(i18n.EN, i18n.FlowConsentHeaderDefault, nil):
		v.Body = v.t(i18n.FlowConsentHeaderDefault, nil)
	default:
		v.Body = i18n.Known(v.Lang, h)
	}
	v.Perms = v.permissions(c.Permissions)
	v.Additional = v.permissions(c.AdditionalPermissions)
}

func (v *view) permissions(ps []flow.ConsentPermission) []string {
	var out []string
	for _, p := range ps {
		switch id, ok := scopeIDs[p.ID]; {
		case ok:
			out = append(out, v.t(id, nil))
		case p.Name != "":
			out = append(out, p.Name)
		case p.ID != "":
			out = append(out, p.ID)
		}
	}
	return out
}

// sampleChallenges reach every branch of every challenge template; New
// renders them once (see selfCheck).
func sampleChallenges() []flow.Challenge {
	fi := &flow.FlowInfo{Title: "Welcome to gatehouse!", Slug: "check", CancelURL: "/flows/-/cancel/?flow=check"}
	base := func(component string) flow.Base {
		b := flow.Base{Component: component, FlowInfo: fi, PendingUser: "u", CSRFToken: "t"}
		b.AddError(flow.NonFieldErrors, i18n.FlowSessionExpired, "")
		b.AddError("field", i18n.PromptFieldRequired, "")
		return b
	}
	var fields []flow.PromptField
	for _, typ := range []string{"text", "text_area", "text_read_only", "text_area_read_only", "username", "email",
		"password", "number", "checkbox", "radio-button-group", "dropdown", "date", "date-time", "hidden", "static",
		"separator", "unknown"} {
		fields = append(fields, flow.PromptField{FieldKey: "field_" + typ, Label: typ, Type: typ, Required: true,
			Placeholder: "p", SubText: "s", InitialValue: "v", Choices: []string{"a", "v"}})
	}
	fields = append(fields, flow.PromptField{FieldKey: "field", Label: "f", Type: "text"})
	return []flow.Challenge{
		&flow.IdentificationChallenge{Base: base(flow.ComponentIdentification), UserFields: []string{"email", "username"},
			PasswordFields: true, EnrollURL: "/e", RecoveryURL: "/r", PasswordlessURL: "/p", ApplicationPre: "a", UID: "u"},
		&flow.PasswordChallenge{Base: base(flow.ComponentPassword), AllowShowPassword: true, RecoveryURL: "/r"},
		&flow.PromptChallenge{Base: base(flow.ComponentPrompt), Fields: fields},
		&flow.EmailChallenge{Base: base(flow.ComponentEmail), Address: "a***@example.com"},
		&flow.ConsentChallenge{Base: base(flow.ComponentConsent), HeaderText: "h", Token: "t",
			Permissions: []flow.ConsentPermission{{ID: "openid"}}, AdditionalPermissions: []flow.ConsentPermission{{ID: "x", Name: "X"}}},
		&flow.UserLoginChallenge{Base: base(flow.ComponentUserLogin)},
		&flow.AccessDeniedChallenge{Base: base(flow.ComponentAccessDenied), ErrorMessage: "m", MessageCode: i18n.FlowNotApplicable},
		&flow.RedirectChallenge{Base: base(flow.ComponentRedirect), To: "/next"},
		&flow.AutosubmitChallenge{Base: base(flow.ComponentAutosubmit), URL: "https://sp.example/acs",
			Attrs: map[string]string{"SAMLResponse": "x", "RelayState": "y"}, Title: "t"},
		&flow.DummyChallenge{Base: base(flow.ComponentDummy)},
		&flow.LogoutChallenge{Base: base(flow.ComponentUserLogout)},
		&flow.FlowErrorChallenge{Base: base(flow.ComponentFlowError), RequestID: "r"},
	}
}
