// Package policy decides whether a user may pass a flow, a stage, an
// application or a source: it evaluates the policy, group and user bindings
// attached to the target and combines them in "any" or "all" mode, as
// Authentik's policy engine does. Policy kinds (expression, password,
// reputation, password expiry, dummy, event matcher) register an evaluator; compiled
// evaluators are cached per policy version, so an expression is compiled
// once, not per request.
package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// HTTPRequest is what a policy may know of the request.
type HTTPRequest struct {
	Method, Path, Host, ClientIP, UserAgent string
	Headers                                 map[string]string
	Query                                   map[string]string
}

// Request is what a policy judges.
type Request struct {
	Scope store.Scope
	// User is the user being judged (the pending user during a login), or nil.
	User *store.User
	HTTP *HTTPRequest
	// Context is the flow plan context (prompt_data, pending_user, ...).
	Context map[string]any

	groupsOnce sync.Once
	groups     []*store.Group
	groupsErr  error
}

// Groups returns the user's effective groups, loaded once per request.
func (r *Request) Groups(ctx context.Context) ([]*store.Group, error) {
	r.groupsOnce.Do(func() {
		if r.User != nil {
			r.groups, r.groupsErr = r.Scope.Groups().ForUser(ctx, r.User.ID, true)
		}
	})
	return r.groups, r.groupsErr
}

// Result is a decision and the messages to show with it.
type Result struct {
	Passing  bool
	Messages []Message
}

// Message is one thing the user is told. Code is a stable message ID the
// UI translates by (empty for an admin's own words, e.g. ak_message);
// Text is the English, Args the values it was built from.
type Message struct {
	Code string         `json:"code,omitempty"`
	Text string         `json:"text"`
	Args map[string]any `json:"args,omitempty"`
}

// Texts returns the English texts, for logs and events.
func (r Result) Texts() []string {
	out := make([]string, len(r.Messages))
	for i, m := range r.Messages {
		out[i] = m.Text
	}
	return out
}

// Evaluator is a compiled policy.
type Evaluator interface {
	Evaluate(ctx context.Context, req *Request) (Result, error)
}

// Compiler turns a policy's stored configuration into an Evaluator, or
// explains what is wrong with it (shown on the admin form).
type Compiler func(config json.RawMessage) (Evaluator, error)

// Hooks lets the engine report without importing the event package.
type Hooks struct {
	// Exception records a policy_exception event.
	Exception func(ctx context.Context, req *Request, policy *store.Object, err error)
	// Executed records a policy_execution event when the policy asks for it.
	Executed func(ctx context.Context, req *Request, policy *store.Object, res Result)
	// Evaluated is told every evaluation of a policy object (for metrics):
	// its kind, the result (pass, fail or error) and how long it took.
	Evaluated func(kind, result string, d time.Duration)
	// Record stores the events expressions create (ak_create_event) the
	// way every other event is stored, so notification rules judge them,
	// and returns the store's error, which the expression raises (the
	// audit writer's RecordNow). Nil stores them without telling rules.
	Record func(ctx context.Context, sc store.Scope, e *store.Event) error
}

type recorderKey struct{}

type unrecordedKey struct{}

// Unrecorded returns ctx in which expressions' events are stored without
// the Record hook, so notification rules do not judge them. Rules judging
// an event use it: a rule's policy that creates an event would otherwise
// be asked about that event, create another, and so on forever.
func Unrecorded(ctx context.Context) context.Context {
	return context.WithValue(ctx, unrecordedKey{}, true)
}

// WithRecorder returns ctx carrying the engine's Record hook, which
// ExpressionInput's ak_create_event uses. Evaluate and Test add it
// themselves; other expression runners (property mappings) call this.
func (e *Engine) WithRecorder(ctx context.Context) context.Context {
	if e == nil || e.hooks.Record == nil || ctx.Value(unrecordedKey{}) != nil {
		return ctx
	}
	return context.WithValue(ctx, recorderKey{}, e.hooks.Record)
}

func recorderFrom(ctx context.Context) func(context.Context, store.Scope, *store.Event) error {
	r, _ := ctx.Value(recorderKey{}).(func(context.Context, store.Scope, *store.Event) error)
	return r
}

// Engine evaluates bindings. It is safe for concurrent use.
type Engine struct {
	kinds map[string]Compiler
	hooks Hooks
	log   *slog.Logger

	mu    sync.Mutex
	cache map[cacheKey]Evaluator
}

type cacheKey struct {
	id      uuid.UUID
	version int64
}

// maxCached bounds the compiled-policy cache; admins edit policies rarely,
// so when it fills, starting over is simpler than an LRU.
const maxCached = 4096

// NewEngine returns an engine with the given kinds.
func NewEngine(kinds map[string]Compiler, hooks Hooks, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{kinds: kinds, hooks: hooks, log: log, cache: map[cacheKey]Evaluator{}}
}

// Validate compiles a policy configuration without caching it: the admin
// API calls it before saving.
func (e *Engine) Validate(kind string, config json.RawMessage) error {
	c, ok := e.kinds[kind]
	if !ok {
		return store.Invalid("kind", "unknown policy kind %q", kind)
	}
	_, err := c(config)
	return err
}

func (e *Engine) compiled(p *store.Object) (Evaluator, error) {
	k := cacheKey{p.ID, p.Version}
	e.mu.Lock()
	ev, ok := e.cache[k]
	e.mu.Unlock()
	if ok {
		return ev, nil
	}
	c, ok := e.kinds[p.Kind]
	if !ok {
		return nil, fmt.Errorf("unknown policy kind %q", p.Kind)
	}
	ev, err := c(p.Config)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if len(e.cache) >= maxCached {
		clear(e.cache)
	}
	e.cache[k] = ev
	e.mu.Unlock()
	return ev, nil
}

// Options tune one evaluation.
type Options struct {
	// Mode is "any" (default) or "all".
	Mode string
	// EmptyResult is the decision when no binding is enabled (true, as
	// Authentik's engine; applications may choose otherwise).
	EmptyResult bool
}

// Evaluate judges req against bindings. policies must hold every policy
// the bindings name (load them together, see Load).
func (e *Engine) Evaluate(ctx context.Context, req *Request, bindings []*store.PolicyBinding,
	policies map[uuid.UUID]*store.Object, opt Options) Result {
	var results []bool
	var messages []Message
	for _, b := range bindings {
		if !b.Enabled {
			continue
		}
		ok, msgs := e.one(ctx, req, b, policies)
		if b.Negate {
			ok = !ok
		}
		results = append(results, ok)
		messages = append(messages, msgs...)
	}
	if len(results) == 0 {
		return Result{Passing: opt.EmptyResult}
	}
	passing := opt.Mode == "all"
	for _, r := range results {
		if opt.Mode == "all" {
			passing = passing && r
		} else {
			passing = passing || r
		}
	}
	return Result{Passing: passing, Messages: messages}
}

func (e *Engine) one(ctx context.Context, req *Request, b *store.PolicyBinding, policies map[uuid.UUID]*store.Object) (bool, []Message) {
	switch {
	case b.UserID.Valid:
		return req.User != nil && req.User.ID == b.UserID.UUID, nil
	case b.GroupID.Valid:
		groups, err := req.Groups(ctx)
		if err != nil {
			e.log.Warn("policy: loading groups failed", "error", err)
			return b.FailureResult, nil
		}
		for _, g := range groups {
			if g.ID == b.GroupID.UUID {
				return true, nil
			}
		}
		return false, nil
	}
	p := policies[b.PolicyID.UUID]
	if p == nil {
		return b.FailureResult, nil
	}
	ev, err := e.compiled(p)
	if err == nil {
		timeout := b.Timeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		tctx, cancel := context.WithTimeout(ctx, timeout)
		var res Result
		start := time.Now()
		res, err = safeEvaluate(e.WithRecorder(tctx), ev, req)
		cancel()
		if e.hooks.Evaluated != nil {
			result := "error"
			if err == nil {
				result = map[bool]string{true: "pass", false: "fail"}[res.Passing]
			}
			e.hooks.Evaluated(p.Kind, result, time.Since(start))
		}
		if err == nil {
			if e.hooks.Executed != nil && executionLogging(p) {
				e.hooks.Executed(ctx, req, p, res)
			}
			return res.Passing, res.Messages
		}
	}
	if e.hooks.Exception != nil {
		e.hooks.Exception(ctx, req, p, err)
	}
	e.log.Warn("policy raised an exception", "policy", p.Name, "error", err)
	return b.FailureResult, nil
}

// safeEvaluate turns a panic in a policy into an error: one broken policy
// must not take down the request, let alone the server.
func safeEvaluate(ctx context.Context, ev Evaluator, req *Request) (res Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("policy panicked: %v", v)
		}
	}()
	return ev.Evaluate(ctx, req)
}

func executionLogging(p *store.Object) bool {
	var c struct {
		ExecutionLogging bool `json:"execution_logging"`
	}
	json.Unmarshal(p.Config, &c)
	return c.ExecutionLogging
}

// Load fetches the policies bindings refer to, in one query.
func Load(ctx context.Context, sc store.Scope, bindings []*store.PolicyBinding) (map[uuid.UUID]*store.Object, error) {
	var ids []uuid.UUID
	for _, b := range bindings {
		if b.PolicyID.Valid {
			ids = append(ids, b.PolicyID.UUID)
		}
	}
	out := map[uuid.UUID]*store.Object{}
	if len(ids) == 0 {
		return out, nil
	}
	ps, err := sc.Policies().GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		out[p.ID] = p
	}
	return out, nil
}

// ErrConfig marks a policy whose stored configuration cannot be decoded.
var ErrConfig = errors.New("invalid policy configuration")

// decode reads config into v. Unknown fields are ignored: blueprints
// exported from Authentik carry settings we do not implement (HIBP checks,
// GeoIP), and refusing them would refuse the whole migration. Wrong types
// are errors.
func decode(config json.RawMessage, v any) error {
	if len(config) == 0 {
		return nil
	}
	if err := json.Unmarshal(config, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return store.Invalid("config", "%s must be %s, not %s", te.Field, te.Type, te.Value)
		}
		return store.Invalid("config", "is not valid JSON")
	}
	return nil
}
