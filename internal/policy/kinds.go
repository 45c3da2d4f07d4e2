package policy

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/policy/expression"
	"github.com/gatehouse-id/gatehouse/internal/policy/pwpolicy"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Kinds returns the built-in policy kinds. now is the clock (tests pass a fake).
func Kinds(now func() time.Time) map[string]Compiler {
	return map[string]Compiler{
		"expression":      compileExpression,
		"password":        compilePassword,
		"reputation":      compileReputation,
		"password_expiry": func(c json.RawMessage) (Evaluator, error) { return compileExpiry(c, now) },
		"dummy":           compileDummy,
		"event_matcher":   compileEventMatcher,
	}
}

// expressionPolicy runs an admin's Starlark (Python-syntax) body.
type expressionPolicy struct{ prog *expression.Program }

func compileExpression(c json.RawMessage) (Evaluator, error) {
	var cfg struct {
		Expression string `json:"expression"`
	}
	if err := decode(c, &cfg); err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.Expression) == "" {
		return nil, store.Invalid("expression", "must not be empty")
	}
	prog, err := expression.Compile("policy", cfg.Expression)
	if err != nil {
		return nil, store.Invalid("expression", "%v", err)
	}
	return expressionPolicy{prog}, nil
}

func (p expressionPolicy) Evaluate(ctx context.Context, req *Request) (Result, error) {
	in, err := ExpressionInput(ctx, req)
	if err != nil {
		return Result{}, err
	}
	// The binding's timeout (30 s unless set, as in Authentik) bounds the
	// whole policy; the expression itself gets the expression time limit,
	// or what is left of the binding's when that is shorter (Run takes
	// the earlier deadline).
	out, err := p.prog.Run(ctx, in, expression.DefaultLimits)
	if err != nil {
		return Result{}, err
	}
	res := Result{Passing: expression.Truthy(out.Value)}
	for _, m := range out.Messages {
		res.Messages = append(res.Messages, Message{Text: m})
	}
	return res, nil
}

// ExpressionInput exposes the request to an expression the way Authentik
// names things (request.user, request.context, ...). Property mappings use
// it too.
func ExpressionInput(ctx context.Context, req *Request) (expression.Input, error) {
	in := expression.Input{Context: req.Context, Helpers: helpers{req.Scope, recorderFrom(ctx)}}
	if req.User != nil {
		u, err := expressionUser(ctx, req.Scope, req.User, req)
		if err != nil {
			return in, err
		}
		in.User = u
	}
	if h := req.HTTP; h != nil {
		in.HTTP = &expression.HTTPRequest{Method: h.Method, Path: h.Path, Host: h.Host, ClientIP: h.ClientIP,
			UserAgent: h.UserAgent, Headers: h.Headers, Query: h.Query}
	}
	return in, nil
}

func expressionUser(ctx context.Context, sc store.Scope, u *store.User, req *Request) (*expression.User, error) {
	var groups []*store.Group
	var err error
	if req != nil && req.User == u {
		groups, err = req.Groups(ctx)
	} else {
		groups, err = sc.Groups().ForUser(ctx, u.ID, true)
	}
	if err != nil {
		return nil, err
	}
	eu := &expression.User{ID: u.ID.String(), Username: u.Username, Name: u.Name, Email: u.Email,
		Type: string(u.Type), IsActive: u.IsActive, Attributes: u.Attributes}
	for _, g := range groups {
		eu.GroupNames = append(eu.GroupNames, g.Name)
		eu.IsSuperuser = eu.IsSuperuser || g.IsSuperuser
	}
	return eu, nil
}

// helpers gives expressions read access to the directory of their tenant
// only, and records their events through record (Hooks.Record) when set.
type helpers struct {
	sc     store.Scope
	record func(context.Context, store.Scope, *store.Event) error
}

func (h helpers) IsGroupMember(ctx context.Context, userID, name string) (bool, error) {
	id, err := uuid.Parse(userID)
	if err != nil {
		return false, nil
	}
	gs, err := h.sc.Groups().ForUser(ctx, id, true)
	if err != nil {
		return false, err
	}
	for _, g := range gs {
		if strings.EqualFold(g.Name, name) {
			return true, nil
		}
	}
	return false, nil
}

func (h helpers) UserBy(ctx context.Context, field, value string) (*expression.User, error) {
	var u *store.User
	var err error
	switch field {
	case "username":
		u, err = h.sc.Users().GetByUsername(ctx, value)
	case "email":
		u, err = h.sc.Users().GetByEmail(ctx, value)
	case "id", "pk", "uuid":
		id, perr := uuid.Parse(value)
		if perr != nil {
			return nil, nil
		}
		u, err = h.sc.Users().Get(ctx, id)
	default:
		return nil, errors.New("ak_user_by: filter by username, email or pk")
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return expressionUser(ctx, h.sc, u, nil)
}

func (h helpers) CreateEvent(ctx context.Context, action string, data map[string]any) error {
	e := &store.Event{Action: "custom_" + action, Context: data}
	if h.record != nil {
		return h.record(ctx, h.sc, e)
	}
	// No engine hook (unit tests, tools): stored, masked, unjudged by rules.
	return (&audit.Writer{}).RecordNow(ctx, h.sc, e)
}

// passwordPolicy checks the password a prompt collected.
type passwordPolicy struct{ cfg pwpolicy.Config }

func compilePassword(c json.RawMessage) (Evaluator, error) {
	cfg := pwpolicy.DefaultConfig()
	if err := decode(c, &cfg); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return passwordPolicy{cfg}, nil
}

func (p passwordPolicy) Evaluate(ctx context.Context, req *Request) (Result, error) {
	prompt, _ := req.Context["prompt_data"].(map[string]any)
	pw, ok := prompt[p.cfg.PasswordField].(string)
	if !ok {
		// Authentik: no password in the request → the policy fails with a message.
		return Result{Passing: false, Messages: []Message{{Code: "password.not_set", Text: "Password not set in context"}}}, nil
	}
	var inputs []string
	for _, k := range []string{"username", "name", "email"} {
		if s, ok := prompt[k].(string); ok {
			inputs = append(inputs, s)
		}
	}
	if req.User != nil {
		inputs = append(inputs, req.User.Username, req.User.Name, req.User.Email)
	}
	res := pwpolicy.Check(p.cfg, pw, inputs)
	out := Result{Passing: res.Passing}
	for _, m := range res.Messages {
		out.Messages = append(out.Messages, Message{Code: m.Code, Text: m.Text, Args: m.Args})
	}
	return out, nil
}

// expiryPolicy fails when the password is older than Days. Unless DenyOnly,
// it also makes the password unusable so the user must recover it.
type expiryPolicy struct {
	Days     int  `json:"days"`
	DenyOnly bool `json:"deny_only"`
	now      func() time.Time
}

func compileExpiry(c json.RawMessage, now func() time.Time) (Evaluator, error) {
	p := expiryPolicy{Days: 90, now: now}
	if err := decode(c, &p); err != nil {
		return nil, err
	}
	if p.Days < 1 {
		return nil, store.Invalid("days", "must be at least 1")
	}
	return p, nil
}

func (p expiryPolicy) Evaluate(ctx context.Context, req *Request) (Result, error) {
	u := req.User
	if u == nil || !u.HasUsablePassword() || u.PasswordChangeDate.IsZero() {
		return Result{Passing: true}, nil
	}
	if p.now().Sub(u.PasswordChangeDate) < time.Duration(p.Days)*24*time.Hour {
		return Result{Passing: true}, nil
	}
	if !p.DenyOnly {
		if _, err := req.Scope.Users().Update(ctx, u.ID, func(x *store.User) error {
			if !strings.HasPrefix(x.PasswordHash, "!") {
				x.PasswordHash = "!" + x.PasswordHash
			}
			return nil
		}); err != nil {
			return Result{}, err
		}
	}
	return Result{Passing: false, Messages: []Message{{Code: "password.expired", Text: "Password has expired."}}}, nil
}

// dummyPolicy is for testing flows: a fixed result after a random wait.
type dummyPolicy struct {
	Result  bool `json:"result"`
	WaitMin int  `json:"wait_min"`
	WaitMax int  `json:"wait_max"`
}

func compileDummy(c json.RawMessage) (Evaluator, error) {
	p := dummyPolicy{}
	if err := decode(c, &p); err != nil {
		return nil, err
	}
	if p.WaitMin < 0 || p.WaitMax < p.WaitMin || p.WaitMax > 600 {
		return nil, store.Invalid("wait_max", "waits must satisfy 0 <= wait_min <= wait_max <= 600")
	}
	return p, nil
}

func (p dummyPolicy) Evaluate(ctx context.Context, _ *Request) (Result, error) {
	if p.WaitMax > 0 {
		wait := time.Duration(p.WaitMin)*time.Second + rand.N(time.Duration(p.WaitMax-p.WaitMin+1)*time.Second)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	return Result{Passing: p.Result}, nil
}
