package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/uuid"

	gapp "github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// app is a loaded configuration with an open, migrated store.
type app struct {
	cfg  *config.Config
	log  *slog.Logger
	db   *sqlstore.DB
	core *core.Core
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
	return &app{cfg: cfg, log: log, db: db, core: gapp.NewCore(db, log)}, nil
}

func (x *app) Close() { x.db.Close() }

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
