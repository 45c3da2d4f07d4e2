package main

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// record stores an event about what a command did (via: cli), before the
// command ends: the CLI's writer is never started, so it writes at once.
func (x *app) record(ctx context.Context, sc store.Scope, e *store.Event) {
	if e.Context == nil {
		e.Context = map[string]any{}
	}
	e.Context["via"] = "cli"
	(&audit.Writer{Store: x.db, Log: x.log}).Record(ctx, sc, e)
}

// modelEvent records a write as the API records its own: model_created,
// model_updated or model_deleted with Authentik's context shape (and the
// changed fields for an update), so the CLI's writes read the same in the
// event log.
func (x *app) modelEvent(ctx context.Context, sc store.Scope, action, model string, id uuid.UUID, name string, changes map[string]any) {
	app, modelName, _ := strings.Cut(model, ".")
	data := map[string]any{"model": map[string]any{"app": app, "model_name": modelName, "pk": id.String(), "name": name}}
	if changes != nil {
		data["changes"] = changes
	}
	x.record(ctx, sc, &store.Event{Action: action, Context: data})
}
