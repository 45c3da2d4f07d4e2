package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/uuid"

	gapp "github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/invalidate"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// app is a loaded configuration with an open, migrated store; full is
// the whole product when the command opened it (see openFull).
type app struct {
	cfg  *config.Config
	log  *slog.Logger
	db   *sqlstore.DB
	core *core.Core
	full *gapp.App
}

// loadConfig loads and validates the configuration; every problem is
// reported, one line each, and warnings go to the log.
func (a *cli) loadConfig() (*config.Config, *slog.Logger, error) {
	cfg, warnings, err := config.Load(a.configPath, a.env)
	level := slog.LevelInfo
	if cfg != nil {
		level = cfg.SlogLevel()
	}
	log := slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	for _, w := range warnings {
		log.Warn(w)
	}
	if err != nil {
		return nil, log, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, log, nil
}

// open loads the configuration, connects to the database and applies
// pending migrations, so every command works on a fresh data directory.
func (a *cli) open(ctx context.Context) (*app, error) {
	cfg, log, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	db, err := gapp.OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	c := gapp.NewCore(db, cfg, log)
	// The writer is never started: each event is stored before the
	// command ends. Running servers hear of the command's writes on
	// PostgreSQL at once; a server on SQLite, another process, sees them
	// within its caches' TTLs.
	c.Events, c.Bus = (&audit.Writer{Store: db, Log: log}).Record, invalidate.New(db, log)
	return &app{cfg: cfg, log: log, db: db, core: c}, nil
}

// openFull builds the whole product (default flows, keys, providers)
// without listening, for commands that create what the server serves.
func (a *cli) openFull(ctx context.Context) (*app, error) {
	cfg, log, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	full, err := gapp.New(ctx, cfg, log, gapp.Options{})
	if err != nil {
		return nil, err
	}
	return &app{cfg: cfg, log: log, db: full.DB(), core: full.Core(), full: full}, nil
}

// bus announces the command's writes to the caches of running servers:
// on PostgreSQL they hear it at once; a server on SQLite, another
// process, sees the change within its caches' TTLs. The domain writes
// announce theirs through it too.
func (x *app) bus() *invalidate.Bus { return x.core.Bus }

// Close releases the store; the whole product, when open, first stores
// the events still queued.
func (x *app) Close() {
	if x.full != nil {
		x.full.Close()
		return
	}
	x.db.Close()
}

// withScope is the preamble of every command that works in a tenant: it
// opens the store (see open), resolves --tenant and runs fn, and closes
// the store when fn returns.
func (a *cli) withScope(ctx context.Context, tenant string, fn func(x *app, sc store.Scope) error) error {
	return a.scoped(ctx, a.open, tenant, fn)
}

// withFullScope is withScope over the whole product (see openFull): fn
// finds it in x.full.
func (a *cli) withFullScope(ctx context.Context, tenant string, fn func(x *app, sc store.Scope) error) error {
	return a.scoped(ctx, a.openFull, tenant, fn)
}

func (a *cli) scoped(ctx context.Context, open func(context.Context) (*app, error), tenant string,
	fn func(x *app, sc store.Scope) error) error {
	x, err := open(ctx)
	if err != nil {
		return err
	}
	defer x.Close()
	sc, err := x.scope(ctx, tenant)
	if err != nil {
		return err
	}
	return fn(x, sc)
}

// tenantFlag defines --tenant, which every command that works in a
// tenant takes; withScope resolves it.
func tenantFlag(fs *flag.FlagSet) *string {
	return fs.String("tenant", "", "tenant domain or ID (default: the default tenant)")
}

// scope resolves --tenant (a domain or tenant ID; empty for the default).
func (x *app) scope(ctx context.Context, tenant string) (store.Scope, error) {
	if tenant == "" {
		t, err := x.db.Tenants().EnsureDefault(ctx)
		if err != nil {
			return nil, err
		}
		return x.db.Scope(t.ID), nil
	}
	if id, err := uuid.Parse(tenant); err == nil {
		t, err := x.db.Tenants().Get(ctx, id)
		if err != nil {
			return nil, usagef("--tenant: no tenant with ID %s", tenant)
		}
		return x.db.Scope(t.ID), nil
	}
	t, err := x.db.Tenants().ByDomain(ctx, strings.ToLower(tenant))
	if errors.Is(err, store.ErrNotFound) {
		return nil, usagef("--tenant: no tenant with domain %q", tenant)
	}
	if err != nil {
		return nil, err
	}
	return x.db.Scope(t.ID), nil
}

// describe turns store errors into messages that name the flag at fault.
func describe(err error, flagFor map[string]string) error {
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		parts := make([]string, len(ve.Fields))
		for i, f := range ve.Fields {
			name := f.Field
			if fl, ok := flagFor[f.Field]; ok {
				name = fl
			}
			parts[i] = name + ": " + f.Message
		}
		return usagef("%s", strings.Join(parts, "; "))
	}
	var ce *store.ConflictError
	if errors.As(err, &ce) {
		name := ce.Field
		if fl, ok := flagFor[ce.Field]; ok {
			name = fl
		}
		return usagef("%s: already exists", name)
	}
	return err
}
