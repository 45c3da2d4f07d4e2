package flow

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Stage is one step of a flow. Challenge is called when the stage becomes
// current or is shown again; Respond with the user's answer. Stages with
// nothing to ask (user_write, user_login) do their work in Challenge and
// return Next.
type Stage interface {
	Challenge(ctx context.Context, x *Execution) Outcome
	Respond(ctx context.Context, x *Execution, r Response) Outcome
}

// DenialHandler is implemented by a stage that owes someone an answer
// even when the flow is denied before it runs: the OAuth fulfillment at
// the end of an authorization flow sends access_denied to the client
// (RFC 6749 §4.1.2.1) instead of leaving the user on the access-denied
// page. When a stage denies, the executor asks the stages still planned
// after it, in order; the first that handles the denial (ok) ends the
// flow with its outcome (a redirect, a final page or a failure). code and
// msg are the denial's.
type DenialHandler interface {
	Denied(ctx context.Context, x *Execution, code, msg string) (out Outcome, ok bool)
}

// Factory builds a stage from its stored configuration; an error explains
// what is wrong with it (the admin API validates with the same factory).
type Factory func(config json.RawMessage) (Stage, error)

type outcomeKind int

const (
	outShow outcomeKind = iota
	outInvalid
	outNext
	outDeny
	outRedirect
	outFail
	outFinal
)

// Outcome is what a stage decided.
type Outcome struct {
	kind      outcomeKind
	challenge Challenge
	code, msg string
	url       string
	err       error
}

// Show asks the user c.
func Show(c Challenge) Outcome { return Outcome{kind: outShow, challenge: c} }

// Invalid shows c (carrying response errors); the binding's
// invalid_response_action decides whether to retry or restart.
func Invalid(c Challenge) Outcome { return Outcome{kind: outInvalid, challenge: c} }

// Next finishes the stage.
func Next() Outcome { return Outcome{kind: outNext} }

// Deny ends the flow with a message (code is its stable ID).
func Deny(code, msg string) Outcome { return Outcome{kind: outDeny, code: code, msg: msg} }

// RedirectTo ends the flow by sending the browser to url.
func RedirectTo(url string) Outcome { return Outcome{kind: outRedirect, url: url} }

// Final ends the flow by showing c, which leaves this site (an autosubmit
// form posting the result to another one).
func Final(c Challenge) Outcome { return Outcome{kind: outFinal, challenge: c} }

// Fail ends the request with an internal error (logged, not shown).
func Fail(err error) Outcome { return Outcome{kind: outFail, err: err} }

// Response is the user's answer: form values or a JSON object.
type Response map[string]any

// String returns a field as a string ("" if absent); numbers and booleans
// sent by JSON clients are formatted.
func (r Response) String(key string) string {
	switch v := r[key].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	}
	return ""
}

// Bool reads a checkbox: true, "true", "on", "1", "yes".
func (r Response) Bool(key string) bool {
	switch v := r[key].(type) {
	case bool:
		return v
	case string:
		switch strings.ToLower(v) {
		case "true", "on", "1", "yes":
			return true
		}
	}
	return false
}

// EventWriter records audit events.
type EventWriter func(ctx context.Context, sc store.Scope, e *store.Event)

// Mailer sends a templated email through the job queue, queued in sc's
// transaction: the write that causes the mail commits with it.
type Mailer interface {
	SendTemplate(ctx context.Context, sc store.Scope, to, template, lang string, data map[string]any) error
}

// Env is what stages may use besides the request.
type Env struct {
	Core     *core.Core
	Policies *policy.Engine
	Sessions *session.Manager
	Events   EventWriter
	Mail     Mailer
	// Jobs queues work a stage hands off (the email stage's links).
	Jobs *job.Queue
	// Login throttles password attempts; nil allows all.
	Login *LoginThrottle
	// EmailAccount and EmailIP throttle the links the email stage sends
	// (recovery, address verification) per account and per client IP.
	EmailAccount, EmailIP *ratelimit.Limiter
	// ReputationLower/Upper clamp scores (Authentik: -5 / +5).
	ReputationLower, ReputationUpper int
	ReputationExpiry                 time.Duration
	Log                              *slog.Logger
	Now                              func() time.Time
	// Observer receives timings and outcomes for metrics; nil is fine.
	Observer Observer
}

// Observer is told what flows and stages do, for metrics. Labels are
// bounded: flow slugs and stage kinds are admin-defined, outcomes fixed.
type Observer interface {
	// Stage reports one stage step: kind (e.g. "password"), outcome
	// (challenge, invalid, next, denied, redirect, final, error).
	Stage(flow, kind, outcome string, d time.Duration)
	// Flow reports how a flow ended: completed, denied or error.
	Flow(flow, result string)
}

// Execution is one request's view of a running flow.
type Execution struct {
	Env     *Env
	Scope   store.Scope
	Flow    *store.Flow
	Plan    *Plan
	Session *session.Session
	// Client is who runs the flow (Request.Client).
	Client Client
	// User is the session's logged-in user, or nil.
	User *store.User
	// Binding is the stage running now.
	Binding *Binding

	pending *store.User
	def     *definition
	// cookies are the ones stages set (SetCookie), for Result.Cookies.
	cookies []session.Cookie
}

// PendingUser is the user the flow acts for: identified by an earlier stage,
// or the logged-in user. Nil when nobody is known yet.
func (x *Execution) PendingUser(ctx context.Context) (*store.User, error) {
	if x.pending != nil {
		return x.pending, nil
	}
	if s := x.Plan.Context.String(KeyPendingUser); s != "" {
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, nil
		}
		u, err := x.Scope.Users().Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		x.pending = u
		return u, nil
	}
	return x.User, nil
}

// Shown is what pages may show of the pending user: the name behind
// "not you?" and a title's %(user)s, and the address an emailed link went
// to. It is the one place that decides, so that no page tells a visitor
// more about an account than what they typed:
//
//   - once an identification stage matched what a visitor typed, the
//     address is never shown, and the name is what was typed unless the
//     stage's show_matched_user is on and an account matched (Authentik's
//     rule: then its username is shown, which reveals the match);
//   - otherwise (a logged-in user, a user a flow created) the account's
//     own username and address.
func (x *Execution) Shown(ctx context.Context) (name, email string) {
	if x.Plan == nil {
		return "", ""
	}
	u, _ := x.PendingUser(ctx)
	if typed := x.Plan.Context.String(KeyPendingUserIdentifier); typed != "" {
		if u == nil || x.Plan.Context.Bool(KeyHideMatchedUser) {
			return typed, ""
		}
		return u.Username, ""
	}
	if u == nil {
		return "", ""
	}
	return u.Username, u.Email
}

// SetPendingUser records who the flow acts for.
func (x *Execution) SetPendingUser(u *store.User) {
	x.pending = u
	if u == nil {
		delete(x.Plan.Context, KeyPendingUser)
		return
	}
	x.Plan.Context[KeyPendingUser] = u.ID.String()
}

// Event records an audit event for this request.
func (x *Execution) Event(ctx context.Context, action string, u *store.User, data map[string]any) {
	if x.Env.Events == nil {
		return
	}
	e := &store.Event{Action: action, ClientIP: x.Client.IP, Context: data}
	if u != nil {
		e.UserID = uuid.NullUUID{UUID: u.ID, Valid: true}
		e.Username = u.Username
	}
	if e.Context == nil {
		e.Context = map[string]any{}
	}
	e.Context["flow"] = x.Flow.Slug
	x.Env.Events(ctx, x.Scope, e)
}

// PolicyRequest builds the policy request for this execution; its view
// of the request is the client's description.
func (x *Execution) PolicyRequest(u *store.User) *policy.Request {
	c := x.Client
	return &policy.Request{Scope: x.Scope, User: u, Context: x.Plan.Context, HTTP: &policy.HTTPRequest{
		Method: c.Method, Path: c.Path, Host: c.Host, ClientIP: c.IP, UserAgent: c.UserAgent,
		Headers: map[string]string{"User-Agent": c.UserAgent, "Accept-Language": c.AcceptLanguage},
	}}
}

// EvaluatePolicies runs the policies bound to target (a stage, by its ID)
// against the pending user; used by stages with validation policies.
func (x *Execution) EvaluatePolicies(ctx context.Context, target uuid.UUID) (policy.Result, error) {
	binds, err := x.Scope.PolicyBindings().ListForTargets(ctx, target)
	if err != nil {
		return policy.Result{}, err
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

// FlowStages returns the stored settings of the stages of kind bound to
// this flow, in binding order (each stage once).
func (x *Execution) FlowStages(kind string) []json.RawMessage {
	if x.def == nil {
		return nil
	}
	var out []json.RawMessage
	seen := map[uuid.UUID]bool{}
	for _, b := range x.def.bindings {
		if o := x.def.stages[b.StageID]; o != nil && o.Kind == kind && !seen[o.ID] {
			seen[o.ID] = true
			out = append(out, o.Config)
		}
	}
	return out
}

// FlowURL is the HTML address of a flow of this tenant.
func FlowURL(slug string) string { return "/if/flow/" + slug + "/" }

// FlowSlugByID returns the slug of a flow referenced by a stage's settings
// ("" if it no longer exists), for links such as "Sign up".
func (x *Execution) FlowSlugByID(ctx context.Context, id string) string {
	fid, err := uuid.Parse(id)
	if err != nil {
		return ""
	}
	f, err := x.Scope.Flows().Get(ctx, fid)
	if err != nil {
		return ""
	}
	return f.Slug
}
