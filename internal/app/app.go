// Package app assembles Gatehouse from its parts: it opens and migrates the
// store, bootstraps the default tenant, wires the flow engine, policies,
// job queue and HTTP handlers, and runs them. The CLI's serve command and
// the end-to-end tests both build the product here, so what is tested is
// what runs.
//
// Dependencies, and why: github.com/prometheus/client_golang (metrics.go),
// the reference implementation of the format every monitoring stack
// scrapes; the server package already uses it for HTTP metrics.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/crypto/password"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/invalidate"
	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/provider"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// OpenStore connects to the configured database and applies pending
// migrations, so every command works on a fresh data directory.
func OpenStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (*sqlstore.DB, error) {
	opts := sqlstore.Options{Driver: "sqlite", DSN: cfg.SQLitePath(), Logger: log}
	if cfg.UsesPostgreSQL() {
		opts = sqlstore.Options{Driver: "postgres", DSN: cfg.PostgresDSN(), MaxConns: cfg.PostgreSQL.MaxConns, Logger: log}
	} else if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		// With a configured secret key nothing else has created it yet,
		// and SQLite would only say "unable to open database file".
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	db, err := sqlstore.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// NewCore returns the identity rules over db with the default hasher and
// the configuration's choices.
func NewCore(db *sqlstore.DB, cfg *config.Config, log *slog.Logger) *core.Core {
	c := core.New(db, password.NewHasher(password.DefaultParams, 0), log)
	c.KeepSessionsOnPasswordChange = !cfg.Sessions.EndOnPasswordChange
	return c
}

// Options change how the product is built, for tests.
type Options struct {
	// Mail replaces SMTP delivery (tests capture messages).
	Mail mail.Sender
	// noEvents drops every event instead of recording it, so a benchmark
	// can measure what the audit log costs the login path.
	noEvents bool
	// jobOptions tune the job queue (tests shorten the retry backoff).
	jobOptions []job.Option
	// providerKinds adds provider kinds beside the product's own (a test
	// proves the seam with a kind of its own).
	providerKinds func(*provider.Env) []provider.Kind
}

// App is the assembled product.
type App struct {
	cfg  *config.Config
	log  *slog.Logger
	db   *sqlstore.DB
	core *core.Core
	svc  *services

	Server *server.Server
	// NeedsSetup is true while akadmin has no password: the operator
	// finishes setup at /if/flow/initial-setup/.
	NeedsSetup bool
}

// New builds the product on a fresh or existing database.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options) (*App, error) {
	db, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, db: db, core: NewCore(db, cfg, log)}
	if err := a.build(ctx, o); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context, o Options) error {
	def, err := a.db.Tenants().EnsureDefault(ctx)
	if err != nil {
		return err
	}
	boot, err := a.core.Bootstrap(ctx, a.db.Scope(def.ID), core.BootstrapOptions{
		Password: a.cfg.BootstrapPassword, Email: a.cfg.BootstrapEmail, Token: a.cfg.BootstrapToken})
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	a.NeedsSetup = boot.NeedsSetup
	if a.svc, err = wire(a, o); err != nil {
		return err
	}
	if err := applyDefaults(ctx, a, a.svc); err != nil {
		return fmt.Errorf("default blueprints: %w", err)
	}
	a.Server, err = server.New(ctx, server.Options{Config: a.cfg, Store: a.db, Logger: a.log, Handlers: a.svc.handlers})
	if err != nil {
		return err
	}
	a.svc.bus.Subscribe(invalidate.Tenants, func(uuid.UUID) {
		// One small table: reloaded at once rather than dropped, so that
		// no request pays for it.
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.Server.ReloadTenants(rctx); err != nil {
			a.log.Warn("tenants not reloaded after a change; the periodic reload catches up", "error", err)
		}
	})
	a.svc.metrics.register(a.Server.Registry(), a.db, a.svc.queue, a.svc.bus)
	a.svc.events.Start()
	return nil
}

// DB is the store, for tests and administrative commands.
func (a *App) DB() *sqlstore.DB { return a.db }

// Core is the identity rules.
func (a *App) Core() *core.Core { return a.core }

// Executor is the flow engine.
func (a *App) Executor() *flow.Executor { return a.svc.executor }

// Queue is the job queue.
func (a *App) Queue() *job.Queue { return a.svc.queue }

// Handler is the HTTP application (for httptest servers).
func (a *App) Handler() http.Handler { return a.Server.Handler() }

// jobWorkers is how many jobs a server runs at once: email, webhooks and
// retention are I/O-bound and few.
const jobWorkers = 2

// RunJobs works the job queue until ctx ends.
func (a *App) RunJobs(ctx context.Context) error { return a.svc.queue.Run(ctx, jobWorkers) }

// Run serves on ls, works the job queue and, on PostgreSQL, listens for
// other replicas' changes until ctx ends; it returns after all have
// stopped, so the caller may close the database.
func (a *App) Run(ctx context.Context, ls *server.Listeners, grace time.Duration) error {
	var wg sync.WaitGroup
	jobsCtx, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	wg.Go(func() {
		if err := a.RunJobs(jobsCtx); err != nil && jobsCtx.Err() == nil {
			a.log.Error("job queue stopped", "error", err)
		}
	})
	if a.cfg.UsesPostgreSQL() {
		wg.Go(func() {
			if err := a.svc.bus.Listen(jobsCtx, a.cfg.PostgresDSN()); err != nil {
				a.log.Error("not listening to other replicas' changes", "error", err)
			}
		})
	}
	err := a.Server.Run(ctx, ls, grace)
	stopJobs()
	wg.Wait()
	return err
}

// FlushEvents waits until every event recorded so far is stored.
func (a *App) FlushEvents(ctx context.Context) { a.svc.events.Flush(ctx) }

// Close stores the events still queued and releases the database.
func (a *App) Close() error {
	if a.svc != nil {
		a.svc.events.Stop()
	}
	return a.db.Close()
}
