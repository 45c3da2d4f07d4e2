package flow

// A challenge is what a stage asks of the user now. One typed Go value
// serves both renderings: internal/web turns it into an HTML page (template
// named after Component), the JSON executor marshals it flat, in the shape
// Authentik's executor API uses: {"component": "...", "flow_info": {...},
// "response_errors": {...}, ...stage fields}.
type Challenge interface {
	challengeBase() *Base
}

// Base holds what every challenge carries.
type Base struct {
	Component      string                   `json:"component"`
	FlowInfo       *FlowInfo                `json:"flow_info,omitempty"`
	ResponseErrors map[string][]ErrorDetail `json:"response_errors,omitempty"`
	// PendingUser is shown as "logged in as ..." once identification matched.
	PendingUser string `json:"pending_user,omitempty"`
	// CSRFToken goes into every HTML form; JSON clients send it as the
	// X-Gatehouse-CSRF header (X-authentik-CSRF is accepted too).
	CSRFToken string `json:"-"`
}

func (b *Base) challengeBase() *Base { return b }

// BaseOf returns the shared part of any challenge.
func BaseOf(c Challenge) *Base { return c.challengeBase() }

// FlowInfo describes the flow around the challenge.
type FlowInfo struct {
	Title      string `json:"title"`
	Slug       string `json:"slug"`
	Background string `json:"background,omitempty"`
	CancelURL  string `json:"cancel_url"`
	Layout     string `json:"layout"`
}

// ErrorDetail is one problem with a response. Code is a stable message ID
// (translated by the UI, see internal/i18n); String is the English text.
type ErrorDetail struct {
	String string         `json:"string"`
	Code   string         `json:"code"`
	Args   map[string]any `json:"args,omitempty"`
}

// AddError records a problem with field ("non_field_errors" for the form as
// a whole, as Django REST framework names it).
func (b *Base) AddError(field, code, text string) {
	if b.ResponseErrors == nil {
		b.ResponseErrors = map[string][]ErrorDetail{}
	}
	b.ResponseErrors[field] = append(b.ResponseErrors[field], ErrorDetail{String: text, Code: code})
}

// AddErrorArgs is AddError with the values the message was built from,
// so the UI can translate it with them.
func (b *Base) AddErrorArgs(field, code, text string, args map[string]any) {
	b.AddError(field, code, text)
	errs := b.ResponseErrors[field]
	errs[len(errs)-1].Args = args
}

// HasErrors reports whether any problem was recorded.
func (b *Base) HasErrors() bool { return len(b.ResponseErrors) > 0 }

// NonFieldErrors is the form-wide field name.
const NonFieldErrors = "non_field_errors"

// Components, as Authentik names them.
const (
	ComponentIdentification = "ak-stage-identification"
	ComponentPassword       = "ak-stage-password"
	ComponentPrompt         = "ak-stage-prompt"
	ComponentEmail          = "ak-stage-email"
	ComponentConsent        = "ak-stage-consent"
	ComponentUserLogin      = "ak-stage-user-login"
	ComponentAccessDenied   = "ak-stage-access-denied"
	ComponentDummy          = "ak-stage-dummy"
	ComponentAutosubmit     = "ak-stage-autosubmit"
	ComponentRedirect       = "xak-flow-redirect"
	ComponentFlowError      = "ak-stage-flow-error"
	// ComponentUserLogout is ours: Authentik's user_logout stage asks
	// nothing.
	ComponentUserLogout = "ak-stage-user-logout"
)

// IdentificationChallenge asks who the user is.
type IdentificationChallenge struct {
	Base
	UserFields       []string `json:"user_fields"`     // "username", "email", "upn"
	PasswordFields   bool     `json:"password_fields"` // password on the same page
	FlowDesignation  string   `json:"flow_designation"`
	EnrollURL        string   `json:"enroll_url,omitempty"`
	RecoveryURL      string   `json:"recovery_url,omitempty"`
	PasswordlessURL  string   `json:"passwordless_url,omitempty"`
	PrimaryAction    string   `json:"primary_action"`
	ApplicationPre   string   `json:"application_pre,omitempty"` // "Log in to continue to <app>"
	EnableRememberMe bool     `json:"enable_remember_me"`
	// UID is the identifier to prefill: what the user typed (echoed back
	// after an error) or the application's login_hint (Authentik's
	// pending_user_identifier).
	UID string `json:"pending_user_identifier,omitempty"`
}

// PasswordChallenge asks for the pending user's password.
type PasswordChallenge struct {
	Base
	AllowShowPassword bool   `json:"allow_show_password"`
	RecoveryURL       string `json:"recovery_url,omitempty"`
}

// PromptField is one input of a prompt stage.
type PromptField struct {
	FieldKey     string   `json:"field_key"`
	Label        string   `json:"label"`
	Type         string   `json:"type"` // text, text_area, text_read_only, username, email, password, number, checkbox, radio-button-group, dropdown, date, date-time, hidden, static, separator
	Required     bool     `json:"required"`
	Placeholder  string   `json:"placeholder"`
	InitialValue string   `json:"initial_value"`
	Order        int      `json:"order"`
	SubText      string   `json:"sub_text"`
	Choices      []string `json:"choices,omitempty"`
	// Value is what the user sent last time (re-shown after an error,
	// never for passwords).
	Value string `json:"-"`
}

// PromptChallenge asks for a set of fields.
type PromptChallenge struct {
	Base
	Fields []PromptField `json:"fields"`
}

// EmailChallenge says a link was sent; the user continues from the link.
type EmailChallenge struct {
	Base
	// Address is partly masked (a***@example.com).
	Address string `json:"address,omitempty"`
}

// ConsentPermission is one scope shown on a consent page.
type ConsentPermission struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ConsentChallenge asks the user to allow an application access.
type ConsentChallenge struct {
	Base
	// Application is the name shown as "{app} would like to access:".
	Application           string              `json:"-"`
	HeaderText            string              `json:"header_text"`
	Permissions           []ConsentPermission `json:"permissions"`
	AdditionalPermissions []ConsentPermission `json:"additional_permissions"`
	Token                 string              `json:"token"`
}

// UserLoginChallenge asks "stay signed in?" when the stage offers it.
type UserLoginChallenge struct {
	Base
}

// LogoutChallenge asks the user to confirm a logout that another site
// started; the answer is a POST (CSRF-checked) with no fields.
type LogoutChallenge struct {
	Base
}

// AccessDeniedChallenge ends the flow with a message.
type AccessDeniedChallenge struct {
	Base
	ErrorMessage string `json:"error_message,omitempty"`
	// MessageCode is the stable ID of ErrorMessage when it is one of ours.
	MessageCode string `json:"-"`
}

// RedirectChallenge sends the browser elsewhere (end of flow, redirect stage).
type RedirectChallenge struct {
	Base
	To string `json:"to"`
}

// AutosubmitChallenge posts a form to another site (SAML POST binding,
// OIDC form_post).
type AutosubmitChallenge struct {
	Base
	URL   string            `json:"url"`
	Attrs map[string]string `json:"attrs"`
	Title string            `json:"title,omitempty"`
}

// DummyChallenge is a stage with only a continue button.
type DummyChallenge struct {
	Base
}

// FlowErrorChallenge reports an unexpected error without internals.
type FlowErrorChallenge struct {
	Base
	RequestID string `json:"request_id"`
}
