package provider

import (
	"log/slog"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/session/sessionhttp"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// Env is what every provider kind is built with: the services all kinds
// use, shared by one value so that a kind's constructor takes it and what
// is its own (a key source, say). Its methods are the kind-neutral steps of
// answering for a user.
type Env struct {
	Store store.Store
	// Box seals and opens client secrets and other stored secrets.
	Box      *secretbox.Box
	Core     *core.Core
	Sessions *sessionhttp.Manager
	Policies *policy.Engine
	Web      *web.Renderer
	Events   flow.EventWriter
	Log      *slog.Logger
	Now      func() time.Time
	// Executor runs authorization flows. The composition root sets it once
	// the executor exists, which needs every kind's stages first.
	Executor *flow.Executor
}
