package app

import (
	"context"
	"log/slog"
	"maps"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/admin"
	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/crypto/keys"
	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/stage"
	"github.com/gatehouse-id/gatehouse/internal/flowhttp"
	"github.com/gatehouse-id/gatehouse/internal/invalidate"
	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/notification"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/provider"
	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/session/sessionhttp"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// services is the running product's parts.
type services struct {
	handlers []server.Handler
	queue    *job.Queue
	executor *flow.Executor
	policies *policy.Engine
	box      *secretbox.Box
	keys     *keys.Manager
	oidc     *oauth2.Service
	// providers are the provider kinds served (oidc among them).
	providers []provider.Kind
	metrics   *productMetrics
	events    *audit.Writer
	// blueprints are the models blueprints may name: the built-in ones,
	// the provider kinds' and notification rules'.
	blueprints *blueprint.Registry
	// bus announces admin writes to the caches of every replica.
	bus *invalidate.Bus
	log *slog.Logger
}

func wire(x *App, o Options) (*services, error) {
	pm := newProductMetrics()
	writer := &audit.Writer{Store: x.db, Log: x.log, Recorded: pm.event}
	events := writer.Record
	if o.noEvents {
		events = func(context.Context, store.Scope, *store.Event) {}
	}
	policies := policy.NewEngine(policy.Kinds(time.Now), policy.Hooks{
		Exception: func(ctx context.Context, req *policy.Request, p *store.Object, err error) {
			events(ctx, req.Scope, &store.Event{Action: "policy_exception",
				Context: map[string]any{"policy": p.Name, "policy_id": p.ID.String(), "message": err.Error()}})
		},
		Executed: func(ctx context.Context, req *policy.Request, p *store.Object, res policy.Result) {
			events(ctx, req.Scope, &store.Event{Action: "policy_execution",
				Context: map[string]any{"policy": p.Name, "passing": res.Passing, "messages": res.Texts()}})
		},
		Evaluated: pm.policy,
		Record:    writer.RecordNow,
	}, x.log)

	q := job.New(x.db.SQL(), x.db.Driver(), x.log, o.jobOptions...)
	sender := o.Mail
	if sender == nil {
		sender = mail.NewSMTP(x.cfg.Email)
	}
	mail.RegisterJob(q, sender)
	scheduleCleanup(x, q)
	q.Schedule(audit.RetentionSchedule, time.Hour, audit.Retention(x.db, time.Now, x.log))

	box, err := secretbox.New(x.cfg.SecretKey, x.cfg.SecretKeyPrevious...)
	if err != nil {
		return nil, err
	}
	sessions := session.NewManager(x.cfg.Sessions.UnauthenticatedAge, x.cfg.CookieDomain)
	// The HTTP front ends read and write the session cookie; the flow
	// engine uses the same manager without HTTP.
	cookies := sessionhttp.New(sessions)
	env := &flow.Env{
		Core:             x.core,
		Policies:         policies,
		Sessions:         sessions,
		Events:           events,
		Mail:             mailer{q},
		Jobs:             q,
		Login:            loginThrottle(x.cfg.Throttle, box),
		EmailAccount:     perHour(x.cfg.Throttle.EmailAccountPerHour),
		EmailIP:          perHour(x.cfg.Throttle.EmailIPPerHour),
		ReputationLower:  -5,
		ReputationUpper:  5,
		ReputationExpiry: 24 * time.Hour,
		Log:              x.log,
		Now:              time.Now,
		Observer:         pm,
	}
	stage.RegisterEmailJob(q, x.db, env.Mail, events)
	renderer, err := web.New()
	if err != nil {
		return nil, err
	}
	bus := invalidate.New(x.db, x.log)
	km := keys.NewManager(x.db, box, time.Now)
	km.Bus = bus
	notifier := notification.New(x.db, q, policies, box, x.log,
		notification.DeniedNetworks(x.cfg.Notifications.DeniedPrefixes()))
	writer.Notify = notifier.Event
	penv := &provider.Env{Store: x.db, Box: box, Core: x.core, Sessions: cookies, Policies: policies, Web: renderer,
		Events: events, Log: x.log, Now: time.Now}
	oidc := oauth2.New(penv, oauth2.ManagedKeys(km))
	oidc.Issued = pm.issued
	// The provider kinds this server offers. Adding one (SAML, say) is its
	// package and one line here: the loops below plug each kind into the
	// flow engine, the HTTP server, the API, blueprints and the caches.
	providers := []provider.Kind{oidc}
	if o.providerKinds != nil {
		providers = append(providers, o.providerKinds(penv)...)
	}
	kinds := stage.Kinds()
	maps.Copy(kinds, penv.AuthorizationStages())
	for _, k := range providers {
		maps.Copy(kinds, k.StageKinds())
	}
	exec := flow.NewExecutor(env, kinds)
	penv.Executor = exec
	env.Sessions.Ended = oidc.EnableBackchannelLogout(q)
	// A password change ends sessions outside any request that could
	// name them: the issuer comes from the context (the request that
	// changes the password).
	x.core.SessionEnded = func(ctx context.Context, tx store.Scope, ended store.Session) {
		env.Sessions.Ended(ctx, tx, ended)
	}
	fh := &flowhttp.Handler{Store: x.db, Core: x.core, Executor: exec, Sessions: cookies, Web: renderer, Log: x.log}
	// The API and console read the event log through the writer, so that
	// what was just recorded in the background shows.
	reading := writer.Reading(x.db)
	// Each cache listens for the topics it holds (the tenant resolver's
	// subscription is made in build, once the server exists).
	for _, k := range providers {
		bus.Subscribe(invalidate.Providers, k.Invalidate)
	}
	bus.Subscribe(invalidate.Flows, exec.Invalidate)
	bus.Subscribe(invalidate.Keys, km.Invalidate)
	bus.Subscribe(invalidate.NotificationRules, notifier.Invalidate)
	s := &services{queue: q, executor: exec, policies: policies, box: box, keys: km, oidc: oidc, providers: providers,
		metrics: pm, events: writer, bus: bus, log: x.log, blueprints: blueprint.NewRegistry()}
	notification.RegisterBlueprint(s.blueprints)
	// The domain layer records the events of admin writes and announces
	// them to every replica's caches.
	x.core.Events, x.core.Bus = events, bus
	rest := &api.API{Store: reading, JobWorkers: jobWorkers, Core: x.core, Sessions: cookies, Events: events, Log: x.log, Now: time.Now, UID: oauth2.UID,
		Policies: policies}
	rest.Init()
	s.handlers = []server.Handler{renderer, fh}
	// The API checks settings with the same code as blueprints.
	rest.ValidateConfig = s.validateConfig
	api.RegisterCrypto(rest, km)
	for _, k := range providers {
		s.handlers = append(s.handlers, k)
		k.RegisterAPI(rest)
		k.RegisterBlueprint(s.blueprints)
	}
	s.handlers = append(s.handlers, rest)
	// A new tenant or domain works at once, not at the next start or
	// tenant reload; applying defaults is idempotent, so every tenant is
	// passed again.
	api.RegisterTenants(rest, func(ctx context.Context) error {
		if err := applyDefaults(ctx, x, s); err != nil {
			return err
		}
		// The resolver reloads every tenant, whichever is named.
		return bus.Publish(ctx, invalidate.Tenants, uuid.Nil)
	})
	api.RegisterSystem(rest, x.db.Driver(), q.Stats)
	// Every endpoint is registered: the rule of who may act on whom can
	// now read a role's short permission names as the API does.
	x.core.Catalog = rest.Permissions
	console, err := admin.New(admin.Options{API: rest, Web: renderer, Store: reading, Log: x.log})
	if err != nil {
		return nil, err
	}
	s.handlers = append(s.handlers, console)
	return s, nil
}

// loginThrottle builds the password-attempt budgets from the
// configuration. A known browser's budget is the account's, since it
// stands in for the account's owner.
func loginThrottle(t config.Throttle, box *secretbox.Box) *flow.LoginThrottle {
	perMinute := func(n int) float64 { return float64(n) / 60 }
	return &flow.LoginThrottle{
		IP:        ratelimit.New(perMinute(t.LoginIPPerMinute), t.LoginIPBurst, 100_000),
		Account:   ratelimit.New(perMinute(t.LoginUserPerMinute), t.LoginUserBurst, 100_000),
		Global:    ratelimit.New(perMinute(t.LoginGlobalPerMinute), t.LoginGlobalBurst, 1_000),
		Device:    ratelimit.New(perMinute(t.LoginUserPerMinute), t.LoginUserBurst, 100_000),
		Box:       box,
		DeviceAge: knownDeviceAge,
	}
}

// knownDeviceAge is how long a browser stays known to an account after
// its last login: Authentik's remember_device default, 30 days.
const knownDeviceAge = 30 * 24 * time.Hour

// perHour is a throttle of n events an hour, all of which may come at
// once.
func perHour(n int) *ratelimit.Limiter { return ratelimit.New(float64(n)/3600, n, 100_000) }

// applyDefaults creates the default flows, stages and policies in every
// tenant; objects that exist (perhaps edited by an admin) are left alone.
func applyDefaults(ctx context.Context, x *App, s *services) error {
	tenants, err := x.db.Tenants().List(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if _, err := s.keys.EnsureDefault(ctx, x.db.Scope(t.ID)); err != nil {
			return err
		}
		// A default that cannot be applied (an admin reused one of its
		// names for something else) is logged; the others still apply.
		if _, err := blueprint.ApplyDefaults(ctx, x.db.Scope(t.ID), blueprint.Options{Box: s.box, Models: s.blueprints,
			ValidateConfig: s.validateConfig, HashPassword: func(p string) (string, error) {
				return x.core.Hasher.Hash(ctx, p)
			}, Changed: s.blueprintChanged}); err != nil {
			if ctx.Err() != nil {
				return err
			}
			x.log.Error("default blueprints not fully applied", "tenant", t.ID, "error", err)
		}
	}
	return nil
}

// blueprintChanged announces, in a blueprint's transaction, every cache a
// blueprint can make stale (its models write flows, stages, policies,
// applications, providers, mappings, users and notification rules; key
// pairs it only looks up).
func (s *services) blueprintChanged(ctx context.Context, tx store.Scope) error {
	for _, topic := range []invalidate.Topic{invalidate.Providers, invalidate.Flows, invalidate.NotificationRules} {
		if err := s.bus.PublishTx(ctx, tx, topic); err != nil {
			return err
		}
	}
	return nil
}

// validateConfig checks stage, policy and prompt settings with the code
// that will run them, so a blueprint cannot store what a flow cannot use;
// a provider kind checks what it owns (OAuth2's scope mappings).
func (s *services) validateConfig(model, kind string, config []byte) error {
	switch model {
	case "stage":
		return s.executor.ValidateStage(kind, config)
	case "policy":
		return s.policies.Validate(kind, config)
	case "prompt":
		return stage.ValidatePrompt(config)
	}
	for _, k := range s.providers {
		if known, err := k.ValidateConfig(model, kind, config); known {
			return err
		}
	}
	return nil
}

// mailer renders a template and queues the message.
type mailer struct{ q *job.Queue }

func (m mailer) SendTemplate(ctx context.Context, sc store.Scope, to, template, lang string, data map[string]any) error {
	msg, err := mail.Render(template, lang, data)
	if err != nil {
		return err
	}
	msg.To = []string{to}
	return mail.EnqueueTx(ctx, m.q, sc, msg)
}

// scheduleCleanup deletes expired rows of every tenant, as Authentik's
// clean_expired_models task does every five minutes; events have their own
// schedule (audit.RetentionSchedule).
func scheduleCleanup(x *App, q *job.Queue) {
	q.Schedule("clean_expired_models", 5*time.Minute, func(ctx context.Context) error {
		tenants, err := x.db.Tenants().List(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		for _, t := range tenants {
			sc := x.db.Scope(t.ID)
			for _, del := range []func(context.Context, time.Time) (int, error){
				sc.Sessions().DeleteExpired, sc.Tokens().DeleteExpired, sc.FlowTokens().DeleteExpired,
				sc.Reputation().DeleteExpired, sc.Artifacts().DeleteExpired,
			} {
				if _, err := del(ctx, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
