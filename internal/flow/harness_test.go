package flow_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/crypto/password"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/stage"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
)

// engine is the flow engine over a fresh SQLite store with the default
// blueprints, run as a front end without HTTP would run it: a client
// description in, a result out.
type engine struct {
	t    *testing.T
	sc   store.Scope
	env  *flow.Env
	exec *flow.Executor

	mu     sync.Mutex
	events []*store.Event
}

// fastHashing keeps password checks cheap in tests (argon2id's minimums).
var fastHashing = password.Params{Memory: 8, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func newEngine(t *testing.T) *engine {
	t.Helper()
	db, sc := sqlitetest.Default(t)
	if _, err := blueprint.ApplyDefaults(t.Context(), sc, blueprint.Options{}); err != nil {
		t.Fatalf("default blueprints: %v", err)
	}
	e := &engine{t: t, sc: sc}
	e.env = &flow.Env{
		Core:     core.New(db, password.NewHasher(fastHashing, 0), nil),
		Policies: policy.NewEngine(policy.Kinds(time.Now), policy.Hooks{}, nil),
		Sessions: session.NewManager(0, ""),
		Events: func(_ context.Context, _ store.Scope, ev *store.Event) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.events = append(e.events, ev)
		},
		Log: slog.New(slog.DiscardHandler),
		Now: time.Now,
	}
	e.exec = flow.NewExecutor(e.env, stage.Kinds())
	return e
}

// client is a caller that is not a browser: an address, a name, a
// request ID; no host, no cookies, no link base.
var client = flow.Client{RequestID: "req-test", IP: "192.0.2.10", UserAgent: "flow-test", Lang: "en"}

// visit is one client's session with the engine.
type visit struct {
	e      *engine
	sess   *session.Session
	client flow.Client
	user   *store.User
}

// visitor opens a new session for c, without HTTP.
func (e *engine) visitor(c flow.Client) *visit {
	e.t.Helper()
	s, err := e.env.Sessions.Open(e.t.Context(), e.sc, "", session.Client{IP: c.IP, UserAgent: c.UserAgent})
	if err != nil {
		e.t.Fatal(err)
	}
	return &visit{e: e, sess: s, client: c}
}

// get shows the current stage of slug; post answers it.
func (v *visit) get(slug string) flow.Result { return v.run(&flow.Request{Slug: slug}) }

func (v *visit) post(slug string, answer flow.Response) flow.Result {
	return v.run(&flow.Request{Slug: slug, Post: true, Response: answer})
}

func (v *visit) run(req *flow.Request) flow.Result {
	req.Client, req.Scope, req.Session, req.User = v.client, v.e.sc, v.sess, v.user
	return v.e.exec.Run(v.e.t.Context(), req)
}

// user creates an active internal user with a password.
func (e *engine) user(name, plain string) *store.User {
	e.t.Helper()
	u := &store.User{Username: name, Email: name + "@example.com", Type: store.UserInternal, IsActive: true}
	if err := e.env.Core.CreateUser(e.t.Context(), e.sc, u, plain); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// eventsOf returns the events recorded with action.
func (e *engine) eventsOf(action string) []*store.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*store.Event
	for _, ev := range e.events {
		if ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

// flowOf creates a flow whose stages are bound in the order given.
func (e *engine) flowOf(slug, designation string, stages ...*store.Object) (*store.Flow, []*store.FlowStageBinding) {
	e.t.Helper()
	ctx := e.t.Context()
	f := &store.Flow{Slug: slug, Name: slug, Title: slug, Designation: designation}
	f.Normalize()
	if err := e.sc.Flows().Create(ctx, f); err != nil {
		e.t.Fatal(err)
	}
	var binds []*store.FlowStageBinding
	for i, st := range stages {
		b := &store.FlowStageBinding{FlowID: f.ID, StageID: st.ID, Order: (i + 1) * 10, PolicyEngineMode: "any",
			InvalidResponseAction: "retry"}
		if err := e.sc.FlowStageBindings().Create(ctx, b); err != nil {
			e.t.Fatal(err)
		}
		binds = append(binds, b)
	}
	return f, binds
}

// stage creates a stage of kind with its settings.
func (e *engine) stage(kind string, settings map[string]any) *store.Object {
	e.t.Helper()
	return e.object(e.sc.Stages(), kind, settings)
}

// expression creates an expression policy.
func (e *engine) expression(body string) *store.Object {
	e.t.Helper()
	return e.object(e.sc.Policies(), "expression", map[string]any{"expression": body})
}

func (e *engine) object(objs store.Objects, kind string, cfg map[string]any) *store.Object {
	e.t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	o := &store.Object{Name: kind + "-" + uuid.NewString()[:8], Kind: kind, Config: raw}
	if err := objs.Create(e.t.Context(), o); err != nil {
		e.t.Fatal(err)
	}
	return o
}

// bind attaches policy p to target (a flow or a stage binding).
func (e *engine) bind(target uuid.UUID, p *store.Object) {
	e.t.Helper()
	b := &store.PolicyBinding{TargetID: target, PolicyID: uuid.NullUUID{UUID: p.ID, Valid: true}, Enabled: true,
		Timeout: 30 * time.Second}
	if err := e.sc.PolicyBindings().Create(e.t.Context(), b); err != nil {
		e.t.Fatal(err)
	}
	// The definition is cached; an edit reaches it as an admin's would.
	e.exec.Invalidate(uuid.Nil)
}

// component names what a result shows.
func component(r flow.Result) string { return flow.BaseOf(r.Challenge).Component }

// redirectTo is where a result sends the client, or "".
func redirectTo(r flow.Result) string {
	if rc, ok := r.Challenge.(*flow.RedirectChallenge); ok {
		return rc.To
	}
	return ""
}

// denial is the message of an access-denied result, or "".
func denial(r flow.Result) string {
	if d, ok := r.Challenge.(*flow.AccessDeniedChallenge); ok {
		return d.ErrorMessage
	}
	return ""
}
