package blueprint

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// This file offers the models' field mapping to the REST API
// (internal/api), which takes the same objects as JSON under the same
// Authentik names: with one mapping, an object means the same whether it
// came from YAML or from a PATCH, and the two cannot drift apart.

// ApplyFlow sets the fields v gives on f; the others keep their value.
func ApplyFlow(f *store.Flow, v Values) error { return applyFlow(f, v) }

// NewStageBinding is a flow stage binding with Authentik's defaults:
// policies run when the stage is reached.
func NewStageBinding() *store.FlowStageBinding {
	return &store.FlowStageBinding{ReEvaluatePolicies: true}
}

// ApplyStageBinding sets the fields v gives on b.
func ApplyStageBinding(b *store.FlowStageBinding, v Values) error { return applyStageBinding(b, v) }

// CheckStageBinding validates b and reports a flow or stage that is not in
// sc's tenant as a field error rather than a foreign-key failure.
func CheckStageBinding(ctx context.Context, sc store.Scope, b *store.FlowStageBinding) error {
	return checkStageBinding(ctx, &Tx{Scope: sc}, b)
}

// NewPolicyBinding is a policy binding with Authentik's defaults.
func NewPolicyBinding() *store.PolicyBinding {
	return &store.PolicyBinding{Enabled: true, Timeout: 30 * time.Second}
}

// ApplyPolicyBinding sets the fields v gives on b (timeout in seconds).
func ApplyPolicyBinding(b *store.PolicyBinding, v Values) error { return applyPolicyBinding(b, v) }

// CheckPolicyBinding validates b, finds its target among every registered
// model that takes policy bindings, and checks that the bound policy,
// group or user exists in sc's tenant.
func CheckPolicyBinding(ctx context.Context, sc store.Scope, b *store.PolicyBinding) error {
	return checkPolicyBinding(ctx, &Tx{Scope: sc}, b)
}

// ObjectModel returns the Authentik model under which blueprints create
// the stages, policies, prompts or property mappings of family and kind
// ("identification" stages: "authentik_stages_identification.identificationstage").
// Prompts have the kind "".
func ObjectModel(family, kind string) (string, bool) {
	for name, m := range builtinRegistry().models {
		if om, ok := m.(objectModel); ok && om.family == family && om.kind == kind {
			return name, true
		}
	}
	return "", false
}
