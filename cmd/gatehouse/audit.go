package main

import (
	"context"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// cliActor is who the commands act as: the system (whoever can run them
// can already read and write every row), named in events via "cli".
var cliActor = core.System("cli")

// as is the domain write path as the CLI: every command that writes a
// user, group, token, application or provider goes through it, and it
// records the command's events.
func (x *app) as() core.Writer { return x.core.As(cliActor) }

// record stores an event about what a command did (via: cli), before the
// command ends, through the same writer as the domain writes.
func (x *app) record(ctx context.Context, sc store.Scope, e *store.Event) {
	x.as().Record(ctx, sc, e)
}

// modelEvent records the model event of a write the domain layer does not
// make itself (key pairs, tenant settings), in the shape of every model
// event (core.ModelEvent).
func (x *app) modelEvent(ctx context.Context, sc store.Scope, action, model string, id uuid.UUID, name string, changes map[string]any) {
	x.record(ctx, sc, core.ModelEvent(action, model, id, name, changes))
}
