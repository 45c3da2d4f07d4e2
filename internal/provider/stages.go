package provider

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// AuthorizationStages are the in-memory stages Authorize adds to a flow
// besides the kinds' own; the composition root gives them to the executor.
func (e *Env) AuthorizationStages() map[string]flow.Factory {
	return map[string]flow.Factory{
		consentCheckKind: func(cfg json.RawMessage) (flow.Stage, error) {
			k := &consentCheck{env: e}
			return k, json.Unmarshal(cfg, k)
		},
	}
}

// consentCheck is the consentCheckKind stage.
type consentCheck struct {
	env    *Env
	Target string `json:"target"`
	// Before is the ID of the consent remembered when the request came.
	Before string `json:"before,omitempty"`
}

func (k *consentCheck) Respond(ctx context.Context, x *flow.Execution, _ flow.Response) flow.Outcome {
	return k.Challenge(ctx, x)
}

func (k *consentCheck) Challenge(ctx context.Context, x *flow.Execution) flow.Outcome {
	u, err := x.PendingUser(ctx)
	if err != nil || u == nil {
		return flow.Next() // the consent stage that follows decides
	}
	cur, err := x.Scope.Consents().Get(ctx, u.ID, k.Target, k.env.Now())
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return flow.Fail(err)
	case cur.ID.String() != k.Before && len(x.Plan.Bindings) > 1 && x.Plan.Bindings[1].Kind == alwaysConsent.Kind:
		// A consent given during this request: do not ask twice.
		x.Plan.Bindings = slices.Delete(x.Plan.Bindings, 1, 2)
	}
	return flow.Next()
}

// Fulfiller is a kind's last stage of an authorization flow: it answers
// whoever asked (the client, the device, the service provider) for the
// flow's user, once the flow's own stages (consent) have passed.
type Fulfiller interface {
	// Fulfil answers for x.User, who is logged in.
	Fulfil(ctx context.Context, x *flow.Execution) flow.Outcome
	// Denied answers when the flow is denied before Fulfil runs: reason
	// is "consent" (the consent page's Deny) or "flow" (any other stage
	// that refuses). ok false leaves the user on the flow's own
	// access-denied page.
	Denied(ctx context.Context, x *flow.Execution, reason string) (out flow.Outcome, ok bool)
}

// FulfilStage makes f a flow stage that the executor also asks when the
// flow is denied before it (flow.DenialHandler): whoever asked is owed an
// answer either way, or they wait for nothing.
func FulfilStage(f Fulfiller) flow.Stage { return fulfilStage{f} }

type fulfilStage struct{ f Fulfiller }

func (s fulfilStage) Respond(ctx context.Context, x *flow.Execution, _ flow.Response) flow.Outcome {
	return s.Challenge(ctx, x)
}

func (s fulfilStage) Challenge(ctx context.Context, x *flow.Execution) flow.Outcome {
	if x.User == nil {
		return flow.Deny(i18n.FlowNotApplicable, "You are not logged in.")
	}
	return s.f.Fulfil(ctx, x)
}

func (s fulfilStage) Denied(ctx context.Context, x *flow.Execution, code, _ string) (flow.Outcome, bool) {
	reason := "flow"
	if code == i18n.ConsentDenied {
		reason = "consent"
	}
	return s.f.Denied(ctx, x, reason)
}
