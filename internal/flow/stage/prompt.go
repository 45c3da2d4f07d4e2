package stage

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/policy/expression"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

type prompt struct {
	Fields             []string `json:"fields"`
	ValidationPolicies []string `json:"validation_policies"`
}

// promptDef is a stored prompt (Authentik's Prompt model).
type promptDef struct {
	FieldKey               string   `json:"field_key"`
	Label                  string   `json:"label"`
	Type                   string   `json:"type"`
	Required               bool     `json:"required"`
	Placeholder            string   `json:"placeholder"`
	InitialValue           string   `json:"initial_value"`
	Order                  int      `json:"order"`
	SubText                string   `json:"sub_text"`
	PlaceholderExpression  bool     `json:"placeholder_expression"`
	InitialValueExpression bool     `json:"initial_value_expression"`
	Choices                []string `json:"choices"`
}

var promptTypes = []string{"text", "text_area", "text_read_only", "text_area_read_only", "username", "email",
	"password", "number", "checkbox", "radio-button-group", "dropdown", "date", "date-time", "hidden", "static",
	"separator", "ak-locale"}

// maxFieldLen bounds any single prompt value.
const maxFieldLen = 4096

func newPrompt(cfg json.RawMessage) (flow.Stage, error) {
	p := &prompt{}
	if err := decode(cfg, p); err != nil {
		return nil, err
	}
	for _, id := range append(slices.Clone(p.Fields), p.ValidationPolicies...) {
		if _, err := uuid.Parse(id); err != nil {
			return nil, store.Invalid("fields", "%q is not an ID", id)
		}
	}
	return p, nil
}

// ValidatePrompt checks a stored prompt's settings (admin API, blueprints).
func ValidatePrompt(cfg json.RawMessage) error {
	var d promptDef
	if err := decode(cfg, &d); err != nil {
		return err
	}
	v := &store.ValidationError{}
	if d.FieldKey == "" || len(d.FieldKey) > 255 || strings.ContainsAny(d.FieldKey, " \t\n\"'<>") {
		v.Add("field_key", "must be 1 to 255 characters without spaces or quotes")
	}
	if !slices.Contains(promptTypes, d.Type) {
		v.Add("type", "must be one of %s", strings.Join(promptTypes, ", "))
	}
	if d.InitialValueExpression {
		if _, err := expression.Compile("initial_value", d.InitialValue); err != nil {
			v.Add("initial_value", "%v", err)
		}
	}
	return v.Err()
}

func (p *prompt) load(ctx context.Context, x *flow.Execution) ([]promptDef, error) {
	ids := make([]uuid.UUID, 0, len(p.Fields))
	for _, s := range p.Fields {
		ids = append(ids, uuid.MustParse(s))
	}
	objs, err := x.Scope.Prompts().GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	defs := make([]promptDef, 0, len(objs))
	for _, o := range objs {
		var d promptDef
		if err := decode(o.Config, &d); err != nil {
			return nil, err
		}
		if d.Type == "" {
			d.Type = o.Kind
		}
		defs = append(defs, d)
	}
	slices.SortStableFunc(defs, func(a, b promptDef) int { return a.Order - b.Order })
	return defs, nil
}

func (p *prompt) challenge(ctx context.Context, x *flow.Execution, defs []promptDef, sent flow.Response) (*flow.PromptChallenge, error) {
	c := &flow.PromptChallenge{Base: base(flow.ComponentPrompt)}
	data := x.Plan.Context.PromptData()
	for _, d := range defs {
		f := flow.PromptField{FieldKey: d.FieldKey, Label: d.Label, Type: d.Type, Required: d.Required,
			Placeholder: d.Placeholder, Order: d.Order, SubText: d.SubText, Choices: d.Choices}
		init, err := p.initial(ctx, x, d)
		if err != nil {
			return nil, err
		}
		f.InitialValue = init
		if v, ok := data[d.FieldKey]; ok && d.Type != "password" {
			f.InitialValue = stringify(v) // e.g. an invitation's fixed data
		}
		if sent != nil && d.Type != "password" {
			f.Value = sent.String(d.FieldKey)
		}
		c.Fields = append(c.Fields, f)
	}
	return c, nil
}

// initial evaluates initial_value_expression against the pending user
// (e.g. `return user.email` in the user-settings flow).
func (p *prompt) initial(ctx context.Context, x *flow.Execution, d promptDef) (string, error) {
	if !d.InitialValueExpression {
		return d.InitialValue, nil
	}
	prog, err := compiled(d.InitialValue)
	if err != nil {
		return "", err
	}
	u, err := x.PendingUser(ctx)
	if err != nil {
		return "", err
	}
	in, err := policy.ExpressionInput(x.Env.Policies.WithRecorder(ctx), x.PolicyRequest(u))
	if err != nil {
		return "", err
	}
	out, err := prog.Run(ctx, in, expression.DefaultLimits)
	if err != nil {
		x.Env.Log.Warn("prompt initial value expression failed", "field", d.FieldKey, "error", err)
		return "", nil
	}
	return stringify(out.Value), nil
}

func stringify(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(t, 10)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (p *prompt) Challenge(ctx context.Context, x *flow.Execution) flow.Outcome {
	defs, err := p.load(ctx, x)
	if err != nil {
		return flow.Fail(err)
	}
	c, err := p.challenge(ctx, x, defs, nil)
	if err != nil {
		return flow.Fail(err)
	}
	return flow.Show(c)
}

func (p *prompt) Respond(ctx context.Context, x *flow.Execution, r flow.Response) flow.Outcome {
	defs, err := p.load(ctx, x)
	if err != nil {
		return flow.Fail(err)
	}
	c, err := p.challenge(ctx, x, defs, r)
	if err != nil {
		return flow.Fail(err)
	}
	values := map[string]any{}
	for i, d := range defs {
		v, code, msg, err := p.value(ctx, x, d, c.Fields[i].InitialValue, r)
		if err != nil {
			return flow.Fail(err)
		}
		if code != "" {
			c.AddError(d.FieldKey, code, msg)
			continue
		}
		if v != nil {
			values[d.FieldKey] = v
		}
	}
	// Every password field must match its "_repeat" twin.
	for k, v := range values {
		if rep, ok := values[k+"_repeat"]; ok && rep != v {
			c.AddError(k+"_repeat", "prompt.passwords_mismatch", "Passwords don't match.")
		}
	}
	if c.HasErrors() {
		return flow.Invalid(c)
	}
	data := x.Plan.Context.PromptData()
	for k, v := range values {
		data[k] = v
	}
	if len(p.ValidationPolicies) > 0 {
		res, err := p.validate(ctx, x)
		if err != nil {
			return flow.Fail(err)
		}
		if !res.Passing {
			for k := range values {
				if isSecretKey(k) {
					delete(data, k)
				}
			}
			if len(res.Messages) == 0 {
				res.Messages = []policy.Message{{Text: "The values you entered are not allowed."}}
			}
			for _, m := range res.Messages {
				if m.Code == "" {
					m.Code = "prompt.policy_failed"
				}
				c.AddErrorArgs(flow.NonFieldErrors, m.Code, m.Text, m.Args)
			}
			return flow.Invalid(c)
		}
	}
	return flow.Next()
}

func isSecretKey(k string) bool { return strings.Contains(k, "password") }

// value checks one field and converts it to its stored type.
func (p *prompt) value(ctx context.Context, x *flow.Execution, d promptDef, initial string, r flow.Response) (any, string, string, error) {
	switch d.Type {
	case "static", "separator":
		return nil, "", "", nil
	case "hidden", "text_read_only", "text_area_read_only":
		return initial, "", "", nil // never taken from the user
	case "checkbox":
		b := r.Bool(d.FieldKey)
		if d.Required && !b {
			return nil, "prompt.field_required", "This field is required.", nil
		}
		return b, "", "", nil
	}
	v := r.String(d.FieldKey)
	if d.Type != "password" {
		v = strings.TrimSpace(v)
	}
	if v == "" {
		if d.Required {
			return nil, "prompt.field_required", "This field is required.", nil
		}
		return "", "", "", nil
	}
	if utf8.RuneCountInString(v) > maxFieldLen || !utf8.ValidString(v) {
		return nil, "prompt.too_long", "This value is too long.", nil
	}
	if d.FieldKey == "email" && store.ValidEmail(v) == "" {
		// user_write writes this field to the user, and the store would
		// refuse another user's address: say so here, beside the field.
		taken, err := emailTaken(ctx, x, v)
		if err != nil || taken {
			return nil, "prompt.email_taken", "This email address is already in use.", err
		}
	}
	switch d.Type {
	case "email":
		if store.ValidEmail(v) != "" {
			return nil, "prompt.invalid_email", "Enter a valid email address.", nil
		}
	case "username":
		if msg := store.ValidUsername(v); msg != "" {
			return nil, "prompt.invalid_username", "Enter a valid username: letters, digits and @ . + - _ only.", nil
		}
		pu, err := x.PendingUser(ctx)
		if err != nil {
			return nil, "", "", err
		}
		// The store's rule for new names; a name already held is kept.
		if (pu == nil || pu.Username != v) && store.MixesScripts(v) {
			return nil, "prompt.username_mixed_scripts",
				"Use the letters of one script: this username mixes scripts (such as Latin and Cyrillic).", nil
		}
		u, err := x.Scope.Users().GetByUsername(ctx, v)
		if taken, err := heldByOther(u, err, pu); err != nil || taken {
			return nil, "prompt.username_taken", "This username is already taken.", err
		}
	case "number":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, "prompt.invalid_number", "Enter a number.", nil
		}
		return f, "", "", nil
	case "date":
		if _, err := time.Parse("2006-01-02", v); err != nil {
			return nil, "prompt.invalid_date", "Enter a valid date.", nil
		}
	case "date-time":
		if _, err := time.Parse("2006-01-02T15:04", v); err != nil {
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				return nil, "prompt.invalid_date", "Enter a valid date.", nil
			}
		}
	case "dropdown", "radio-button-group":
		if len(d.Choices) > 0 && !slices.Contains(d.Choices, v) {
			return nil, "prompt.invalid_choice", "Select a valid choice.", nil
		}
	}
	return v, "", "", nil
}

// emailTaken reports whether another user than the one the flow acts for
// holds the address (by store.EmailKey). The user's own address is never
// taken, even one that several accounts shared before addresses were
// unique.
func emailTaken(ctx context.Context, x *flow.Execution, email string) (bool, error) {
	pu, err := x.PendingUser(ctx)
	if err != nil {
		return false, err
	}
	if pu != nil && store.EmailKey(pu.Email) == store.EmailKey(email) {
		return false, nil
	}
	u, err := x.Scope.Users().GetByEmail(ctx, email)
	return heldByOther(u, err, pu)
}

// heldByOther reads the lookup of a unique value (u, err): it is taken
// when it found a user other than pending, or several.
func heldByOther(u *store.User, err error, pending *store.User) (bool, error) {
	switch {
	case err == nil:
		return pending == nil || pending.ID != u.ID, nil
	case errors.Is(err, store.ErrConflict):
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	}
	return false, err
}

func (p *prompt) validate(ctx context.Context, x *flow.Execution) (policy.Result, error) {
	var binds []*store.PolicyBinding
	for i, id := range p.ValidationPolicies {
		binds = append(binds, &store.PolicyBinding{PolicyID: uuid.NullUUID{UUID: uuid.MustParse(id), Valid: true},
			Enabled: true, Order: i, Timeout: 30 * time.Second})
	}
	pols, err := policy.Load(ctx, x.Scope, binds)
	if err != nil {
		return policy.Result{}, err
	}
	u, err := x.PendingUser(ctx)
	if err != nil {
		return policy.Result{}, err
	}
	return x.Env.Policies.Evaluate(ctx, x.PolicyRequest(u), binds, pols, policy.Options{Mode: "all", EmptyResult: true}), nil
}

// programs caches compiled prompt expressions by source: they come from
// admin configuration, so the set is small, and compiling per render
// would repeat work on every page.
var programs = struct {
	sync.Mutex
	m map[string]*expression.Program
}{m: map[string]*expression.Program{}}

func compiled(src string) (*expression.Program, error) {
	programs.Lock()
	defer programs.Unlock()
	if p, ok := programs.m[src]; ok {
		return p, nil
	}
	p, err := expression.Compile("initial_value", src)
	if err != nil {
		return nil, err
	}
	if len(programs.m) >= 1024 {
		clear(programs.m)
	}
	programs.m[src] = p
	return p, nil
}
