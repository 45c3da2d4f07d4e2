package flow

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Executor plans flows and walks their stages. One executor serves both
// renderings: the HTML pages and the JSON executor API call Run.
type Executor struct {
	env       *Env
	factories map[string]Factory
	ttl       time.Duration

	mu    sync.Mutex
	cache map[defKey]*definition
}

// NewExecutor returns an executor with the given stage kinds.
func NewExecutor(env *Env, factories map[string]Factory) *Executor {
	if env.Now == nil {
		env.Now = time.Now
	}
	return &Executor{env: env, factories: factories, ttl: 5 * time.Second, cache: map[defKey]*definition{}}
}

// ValidateStage checks a stage configuration (admin API, blueprints):
// the kind's factory judges the values, and a setting the kind does not
// know is refused, naming it.
func (e *Executor) ValidateStage(kind string, config []byte) error {
	f, ok := e.factories[kind]
	if !ok {
		return store.Invalid("kind", "unknown stage kind %q", kind)
	}
	s, err := f(config)
	if err != nil {
		return err
	}
	return checkSettingNames(kind, s, config)
}

// Request is one call to a flow.
type Request struct {
	Slug string
	// Client is who calls, as the front end describes them.
	Client  Client
	Scope   store.Scope
	Session *session.Session
	// User is the session's logged-in user, or nil.
	User *store.User
	// Post carries a response to the current stage.
	Post     bool
	Response Response
	// PRG makes a completed POST answer with a redirect back to the flow
	// (HTML: the browser then GETs the next page, so reload is harmless).
	PRG bool
	// Query is the flow's own query (next, flow_token, itoken,
	// login_hint); nil for none.
	Query url.Values
	// Context seeds a new plan (e.g. an OAuth authorization request).
	Context Context
	// Fresh discards any plan in progress and plans the flow anew; Extra
	// stages (in memory, e.g. OAuth fulfillment) run after the flow's own.
	Fresh bool
	Extra []Binding
}

// Result is what to show. It says nothing of a transport: the front end
// translates it (flowhttp: the HTTP status from Failure, a redirect or a
// page from the challenge, Set-Cookie from Cookies).
type Result struct {
	Challenge Challenge
	// Failure is why the flow could not run, if it could not; the
	// challenge then tells the user.
	Failure Failure
	// Cookies are the cookies stages set for the client (the known-device
	// cookie), to send with the answer.
	Cookies []session.Cookie
	// AfterForm is set on a redirect that ends the flow in answer to a
	// form the user submitted, directly or through the post-redirect-get.
	// Browsers judge every redirect of that navigation by the form page's
	// CSP form-action, so the HTML pages show the redirect page instead,
	// which navigates anew.
	AfterForm bool
}

// Failure is why a flow could not run.
type Failure int

const (
	// NoFailure: the flow ran; a denial or a redirect is its answer, not a
	// failure.
	NoFailure Failure = iota
	// NotFound: no flow of the tenant has the slug.
	NotFound
	// InternalError: something broke; it is logged under the request ID,
	// which the challenge shows.
	InternalError
)

// maxSteps bounds stages run in one request (a misconfigured flow of
// redirect stages must not loop forever).
const maxSteps = 64

// Run plans the flow if needed and advances it as far as it can without
// the user, returning the next thing to show.
func (e *Executor) Run(ctx context.Context, req *Request) Result {
	def, err := e.definition(ctx, req.Scope, req.Slug)
	if errors.Is(err, store.ErrNotFound) {
		res := deny(nil, "flow.not_found", "Flow not found.")
		res.Failure = NotFound
		return res
	}
	if err != nil {
		return e.fail(ctx, req, err)
	}
	x := &Execution{Env: e.env, Scope: req.Scope, Flow: def.flow, Session: req.Session, Client: req.Client,
		User: req.User, def: def}
	if def.flow.Designation == store.DesignationAuthentication && req.Session != nil && req.Session.Data.NeedsLogin {
		// An application asked for a new login: authenticate as for a
		// visitor; the login replaces the session (session.Manager.Login).
		x.User = nil
	}
	res := e.run(ctx, x, req)
	res.Cookies = x.cookies
	return res
}

// run plans x's flow if needed and advances it.
func (e *Executor) run(ctx context.Context, x *Execution, req *Request) Result {
	def := x.def
	q := req.Query
	if q == nil {
		q = url.Values{}
	}
	if !req.Fresh {
		x.Plan = e.currentPlan(ctx, req, q)
	}
	afterForm := req.Post
	if x.Plan != nil && x.Plan.Submitted {
		afterForm, x.Plan.Submitted = true, false
	}
	if x.Plan == nil {
		// A response without a plan (first request of a native client, or
		// a session that expired) answers the first stage of a new plan,
		// as Authentik's executor does.
		if res, done := e.plan(ctx, x, req, q); done {
			e.savePlan(req.Session, nil)
			return res
		}
		x.Plan.Bindings = append(x.Plan.Bindings, req.Extra...)
	}
	posted := req.Post
	for range maxSteps {
		b := x.Plan.Current()
		if b == nil {
			return leaving(e.finish(x, req), afterForm)
		}
		x.Binding = b
		if b.ReEvaluate && !b.Checked {
			ok, err := e.reevaluate(ctx, x, b)
			if err != nil {
				return e.fail(ctx, req, err)
			}
			if !ok {
				x.Plan.Pop()
				continue
			}
			b.Checked = true
		}
		st, err := e.stage(def, b)
		if err != nil {
			return e.fail(ctx, req, fmt.Errorf("stage %s: %w", b.StageID, err))
		}
		var out Outcome
		start := time.Now()
		if posted {
			out = st.Respond(ctx, x, req.Response)
			posted = false
		} else {
			out = st.Challenge(ctx, x)
		}
		e.observe(def, b, out, time.Since(start))
		if out.kind == outDeny {
			out = e.denied(ctx, def, x, out)
		}
		switch out.kind {
		case outShow:
			return e.show(x, out.challenge)
		case outInvalid:
			switch b.InvalidResponseAction {
			case "restart", "restart_with_context":
				keep := b.InvalidResponseAction == "restart_with_context"
				if res, done := e.restart(ctx, x, req, q, keep); done {
					return res
				}
				continue
			}
			return e.show(x, out.challenge)
		case outNext:
			x.Plan.Pop()
			if req.PRG && req.Post && len(x.Plan.Bindings) > 0 {
				x.Plan.Submitted = true
				e.savePlan(req.Session, x.Plan)
				return redirect(x.flowSelfURL(q))
			}
		case outDeny:
			e.savePlan(req.Session, nil)
			return deny(x, out.code, out.msg)
		case outRedirect:
			e.savePlan(req.Session, nil)
			return leaving(redirect(out.url), afterForm)
		case outFinal:
			e.savePlan(req.Session, nil)
			return Result{Challenge: out.challenge}
		case outFail:
			e.savePlan(req.Session, nil)
			return e.fail(ctx, req, out.err)
		}
	}
	e.savePlan(req.Session, nil)
	return e.fail(ctx, req, errors.New("flow ran too many stages in one request"))
}

// denied gives the stages planned after the current one the chance to
// answer a denial (DenialHandler); out is kept when none does.
func (e *Executor) denied(ctx context.Context, def *definition, x *Execution, out Outcome) Outcome {
	for i := 1; i < len(x.Plan.Bindings); i++ {
		st, err := e.stage(def, &x.Plan.Bindings[i])
		if err != nil {
			continue
		}
		if h, ok := st.(DenialHandler); ok {
			if o, ok := h.Denied(ctx, x, out.code, out.msg); ok {
				return o
			}
		}
	}
	return out
}

// currentPlan finds the plan to continue: one resumed from an emailed link
// (flow_token, single use), else the session's plan for this flow.
func (e *Executor) currentPlan(ctx context.Context, req *Request, q url.Values) *Plan {
	if tok := q.Get("flow_token"); tok != "" && len(tok) <= 256 {
		ft, err := req.Scope.FlowTokens().GetByKeyHash(ctx, crypto.HashToken(tok))
		if err == nil && ft.FlowSlug == req.Slug && e.env.Now().Before(ft.Expires) {
			if err := req.Scope.FlowTokens().Delete(ctx, ft.ID); err == nil {
				if p := DecodePlan(ft.Plan); p != nil {
					e.savePlan(req.Session, p)
					return p
				}
			}
		}
		// An invalid, used or expired link starts the flow over.
		return nil
	}
	p := DecodePlan(req.Session.Data.Plan)
	if p == nil || p.FlowSlug != req.Slug {
		return nil
	}
	return p
}

func (e *Executor) savePlan(s *session.Session, p *Plan) {
	if p == nil {
		if s.Data.Plan != nil {
			s.Data.Plan = nil
			s.MarkDirty()
		}
		return
	}
	b, err := p.Encode()
	if err != nil {
		return
	}
	s.Data.Plan = b
	s.MarkDirty()
}

func (e *Executor) show(x *Execution, c Challenge) Result {
	base := BaseOf(c)
	base.FlowInfo = &FlowInfo{Title: x.Title(), Slug: x.Flow.Slug, Background: x.Flow.Background,
		Layout: x.Flow.Layout, CancelURL: "/flows/-/cancel/?flow=" + url.QueryEscape(x.Flow.Slug)}
	if base.PendingUser == "" && base.Component != ComponentIdentification {
		base.PendingUser, _ = x.Shown(context.Background())
	}
	base.CSRFToken = x.Session.CSRFToken()
	e.savePlan(x.Session, x.Plan)
	return Result{Challenge: c}
}

// finish ends the flow: to the plan's redirect, else ?next=, else "/".
func (e *Executor) finish(x *Execution, req *Request) Result {
	if o := e.env.Observer; o != nil {
		o.Flow(x.Flow.Slug, "completed")
	}
	e.savePlan(req.Session, nil)
	to := x.Plan.Context.String(KeyRedirect)
	if to == "" {
		to = x.Plan.Next
	}
	if to == "" {
		to = "/"
	}
	return redirect(to)
}

func (x *Execution) flowSelfURL(q url.Values) string {
	q = cloneValues(q)
	q.Del("flow_token")
	u := FlowURL(x.Flow.Slug)
	if s := q.Encode(); s != "" {
		u += "?" + s
	}
	return u
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// leaving marks a redirect that ends the flow.
func leaving(r Result, afterForm bool) Result {
	r.AfterForm = afterForm
	return r
}

func redirect(to string) Result {
	return Result{Challenge: &RedirectChallenge{Base: Base{Component: ComponentRedirect}, To: to}}
}

func deny(x *Execution, code, msg string) Result {
	c := &AccessDeniedChallenge{Base: Base{Component: ComponentAccessDenied}, ErrorMessage: msg, MessageCode: code}
	if x != nil {
		c.FlowInfo = &FlowInfo{Title: x.Title(), Slug: x.Flow.Slug, Layout: x.Flow.Layout,
			CancelURL: "/flows/-/cancel/?flow=" + url.QueryEscape(x.Flow.Slug)}
		c.CSRFToken = x.Session.CSRFToken()
	}
	return Result{Challenge: c}
}

// outcomeNames label stage outcomes in metrics.
var outcomeNames = map[outcomeKind]string{outShow: "challenge", outInvalid: "invalid", outNext: "next",
	outDeny: "denied", outRedirect: "redirect", outFinal: "final", outFail: "error"}

// observe reports a stage step, and the flow's end when the step ended it
// other than by completing (finish reports that).
func (e *Executor) observe(def *definition, b *Binding, out Outcome, d time.Duration) {
	o := e.env.Observer
	if o == nil {
		return
	}
	kind := b.Kind
	if st := def.stages[b.StageID]; st != nil {
		kind = st.Kind
	}
	name := outcomeNames[out.kind]
	o.Stage(def.flow.Slug, kind, name, d)
	switch out.kind {
	case outDeny:
		o.Flow(def.flow.Slug, "denied")
	case outFail:
		o.Flow(def.flow.Slug, "error")
	}
}

// fail logs err with the request ID and shows only the ID.
func (e *Executor) fail(ctx context.Context, req *Request, err error) Result {
	id := req.Client.RequestID
	e.env.Log.Error("flow error", "request_id", id, "error", err)
	return Result{Challenge: &FlowErrorChallenge{Base: Base{Component: ComponentFlowError}, RequestID: id},
		Failure: InternalError}
}

// reevaluate runs a stage binding's policies just before the stage.
func (e *Executor) reevaluate(ctx context.Context, x *Execution, b *Binding) (bool, error) {
	if b.ID == uuid.Nil {
		return true, nil
	}
	binds, pols, err := x.def.policiesFor(ctx, x.Scope, b.ID)
	if err != nil {
		return false, err
	}
	u, err := x.PendingUser(ctx)
	if err != nil {
		return false, err
	}
	mode := "any"
	if fsb := x.def.binding(b.ID); fsb != nil {
		mode = fsb.PolicyEngineMode
	}
	res := e.env.Policies.Evaluate(ctx, x.PolicyRequest(u), binds, pols, policy.Options{Mode: mode, EmptyResult: true})
	return res.Passing, nil
}

func (e *Executor) stage(def *definition, b *Binding) (Stage, error) {
	if b.StageID == uuid.Nil {
		f, ok := e.factories[b.Kind]
		if !ok {
			return nil, fmt.Errorf("unknown stage kind %q", b.Kind)
		}
		return f(b.Config)
	}
	return def.stage(b.StageID, e.factories)
}

// Invalidate drops cached flow definitions of a tenant (of every tenant
// for uuid.Nil) after an admin edit; the composition root subscribes it to
// invalidate.Flows.
func (e *Executor) Invalidate(tenant uuid.UUID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k := range e.cache {
		if k.tenant == tenant || tenant == uuid.Nil {
			delete(e.cache, k)
		}
	}
}
