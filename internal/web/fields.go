package web

import (
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// field is one form control as the "field" template draws it.
type field struct {
	Kind         string // one of the kind constants
	Type         string // the <input type>, for kindInput
	ID, Name     string
	Label        string
	Value        string
	Placeholder  string
	Help         string
	Autocomplete string
	InputMode    string
	Required     bool
	ReadOnly     bool
	Autofocus    bool
	Checked      bool
	// Verbatim marks identifiers (usernames, email addresses): no
	// autocapitalisation or spell-checking on phones.
	Verbatim bool
	Choices  []choice
	Errors   []string

	// Set by finish.
	IsInput         bool // a plain <input>, the case the template tests first
	Marked          bool // the label shows the "required" mark
	Step            bool // a number input: step="any"
	ErrorID, HelpID string
	DescribedBy     string // aria-describedby: errors, then help
}

type choice struct {
	ID, Value, Label string
	Selected         bool
}

const (
	kindInput     = "input"
	kindTextarea  = "textarea"
	kindCheckbox  = "checkbox"
	kindRadio     = "radio"
	kindSelect    = "select"
	kindHidden    = "hidden"
	kindStatic    = "static"
	kindSeparator = "separator"
)

// finish computes what the template would otherwise ask of methods:
// templates call methods through reflection, and a login page renders
// often enough for that to show.
func (f *field) finish() {
	f.IsInput = f.Kind == kindInput
	f.Marked = f.Required && !f.ReadOnly
	f.Step = f.Type == "number"
	f.ErrorID, f.HelpID = f.ID+"-error", f.ID+"-help"
	var ids []string
	// Errors first, so a screen reader says what is wrong before the help.
	if len(f.Errors) > 0 {
		ids = append(ids, f.ErrorID)
	}
	if f.Help != "" {
		ids = append(ids, f.HelpID)
	}
	f.DescribedBy = strings.Join(ids, " ")
}

// fieldID makes an element id from a field key: keys are admin-chosen,
// ids must not contain spaces.
func fieldID(key string) string {
	var b strings.Builder
	b.WriteString("id_")
	for _, r := range key {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// promptField turns a prompt stage's field into a control. Labels,
// placeholders and help texts are the admin's, translated only when they
// are the default blueprints' own.
func promptField(l i18n.Lang, p flow.PromptField) field {
	f := field{Kind: kindInput, Type: "text", ID: fieldID(p.FieldKey), Name: p.FieldKey,
		Label: i18n.Known(l, p.Label), Placeholder: i18n.Known(l, p.Placeholder), Help: i18n.Known(l, p.SubText),
		Required: p.Required, Value: p.Value}
	if f.Value == "" {
		f.Value = p.InitialValue
	}
	switch p.Type {
	case "text":
		if p.FieldKey == "name" {
			f.Autocomplete = "name"
		}
	case "text_area":
		f.Kind = kindTextarea
	case "text_read_only":
		f.ReadOnly, f.Value, f.Required = true, p.InitialValue, false
	case "text_area_read_only":
		f.Kind, f.ReadOnly, f.Value, f.Required = kindTextarea, true, p.InitialValue, false
	case "username":
		f.Autocomplete, f.Verbatim = "username", true
	case "email":
		f.Type, f.Autocomplete, f.Verbatim = "email", "email", true
	case "password":
		// A prompt asks for a password to set (enrollment, recovery,
		// settings); it is never echoed back.
		f.Type, f.Autocomplete, f.Value = "password", "new-password", ""
	case "number":
		f.Type, f.InputMode = "number", "decimal"
	case "checkbox":
		f.Kind, f.Checked = kindCheckbox, truthy(f.Value)
	case "radio-button-group":
		f.Kind, f.Choices = kindRadio, choices(f.ID, p.Choices, f.Value)
	case "dropdown":
		f.Kind, f.Choices = kindSelect, choices(f.ID, p.Choices, f.Value)
		if f.Placeholder == "" {
			f.Placeholder = i18n.T(l, i18n.FieldChoose, nil)
		}
	case "date":
		f.Type = "date"
	case "date-time":
		f.Type = "datetime-local"
	case "hidden":
		f.Kind, f.Value = kindHidden, p.InitialValue
	case "static":
		f.Kind, f.Value = kindStatic, i18n.Known(l, p.InitialValue)
	case "separator":
		f.Kind, f.Value = kindSeparator, i18n.Known(l, p.InitialValue)
	}
	// Any other type (a newer Authentik one) is a plain text input: the
	// user can still answer, and the stage validates.
	return f
}

func choices(id string, values []string, current string) []choice {
	out := make([]choice, len(values))
	for i, c := range values {
		out[i] = choice{ID: id + "-" + strconv.Itoa(i), Value: c, Label: c, Selected: c == current}
	}
	return out
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "on", "1", "yes":
		return true
	}
	return false
}

// uidLabel names the identification field after the accepted identifiers.
func uidLabel(l i18n.Lang, fields []string) string {
	has := map[string]bool{}
	var labels []string
	for _, f := range fields {
		if has[f] {
			continue
		}
		has[f] = true
		switch f {
		case "username":
			labels = append(labels, i18n.T(l, i18n.FieldUsername, nil))
		case "email":
			labels = append(labels, i18n.T(l, i18n.FieldEmail, nil))
		case "upn":
			labels = append(labels, i18n.T(l, i18n.FieldUPN, nil))
		}
	}
	switch {
	case len(labels) == 0:
		return i18n.T(l, i18n.FieldUsernameOrEmail, nil)
	case len(has) == 2 && has["username"] && has["email"]:
		return i18n.T(l, i18n.FieldUsernameOrEmail, nil)
	}
	s := labels[0]
	for _, next := range labels[1:] {
		s = i18n.T(l, i18n.FieldEither, map[string]any{"a": s, "b": next})
	}
	return s
}
