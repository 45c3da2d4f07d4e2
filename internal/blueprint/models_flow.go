package blueprint

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func registerFlowModels(r *Registry) {
	r.Register("authentik_flows.flow", flowModel{})
	r.Register("authentik_flows.flowstagebinding", stageBindingModel{})
	r.Register("authentik_policies.policybinding", policyBindingModel{})
}

// found turns a store lookup into (value, found, error): not-found is not
// an error for a lookup.
func found[T any](v T, err error) (T, bool, error) {
	if errors.Is(err, store.ErrNotFound) {
		var zero T
		return zero, false, nil
	}
	return v, err == nil, err
}

// lookupID reads a reference used as a lookup key: a null (a !Find that
// matched nothing) finds nothing, anything else must be an ID.
func lookupID(by Values, key string) (uuid.UUID, bool, error) {
	id, _, err := by.UUID(key)
	return id.UUID, id.Valid, err
}

// matchAll checks the remaining lookup fields against an object's values,
// comparing them as JSON so that 10 and 10.0, or an ID and its string, agree.
func matchAll(by Values, have map[string]any) bool {
	for k, want := range by {
		if !sameJSON(want, have[k]) {
			return false
		}
	}
	return true
}

// flowModel is authentik_flows.flow.
type flowModel struct{}

var flowFields = []string{"slug", "name", "title", "designation", "authentication", "denied_action", "layout",
	"background", "policy_engine_mode"}

func (flowModel) Find(ctx context.Context, tx *Tx, by Values) (uuid.UUID, bool, error) {
	if err := by.Check(append([]string{"pk"}, flowFields...)...); err != nil {
		return uuid.Nil, false, err
	}
	var f *store.Flow
	var ok bool
	var err error
	if _, has := by["pk"]; has {
		id, valid, perr := lookupID(by, "pk")
		if !valid {
			return uuid.Nil, false, perr
		}
		f, ok, err = found(tx.Scope.Flows().Get(ctx, id))
	} else if _, has := by["slug"]; has {
		slug, _, serr := by.String("slug")
		if serr != nil || slug == "" {
			return uuid.Nil, false, serr
		}
		f, ok, err = found(tx.Scope.Flows().GetBySlug(ctx, slug))
	} else {
		return uuid.Nil, false, errors.New("flows are looked up by slug or pk")
	}
	if !ok || err != nil {
		return uuid.Nil, false, err
	}
	have := map[string]any{"pk": f.ID, "slug": f.Slug, "name": f.Name, "title": f.Title,
		"designation": f.Designation, "authentication": f.Authentication, "denied_action": f.DeniedAction,
		"layout": f.Layout, "background": f.Background, "policy_engine_mode": f.PolicyEngineMode}
	return f.ID, matchAll(by, have), nil
}

func applyFlow(f *store.Flow, v Values) error {
	// compatibility_mode is a switch of Authentik's web UI: accepted, ignored.
	if err := v.Check(slices.Concat(flowFields, []string{"compatibility_mode"})...); err != nil {
		return err
	}
	fl := fields{v: v}
	fl.str("slug", &f.Slug)
	fl.str("name", &f.Name)
	fl.str("title", &f.Title)
	fl.str("designation", &f.Designation)
	fl.str("authentication", &f.Authentication)
	fl.str("denied_action", &f.DeniedAction)
	fl.str("layout", &f.Layout)
	fl.str("background", &f.Background)
	fl.str("policy_engine_mode", &f.PolicyEngineMode)
	return fl.err()
}

func (flowModel) Create(ctx context.Context, tx *Tx, v Values) (uuid.UUID, error) {
	f := &store.Flow{}
	if err := applyFlow(f, v); err != nil {
		return uuid.Nil, err
	}
	err := tx.Scope.Flows().Create(ctx, f)
	return f.ID, err
}

func (flowModel) Update(ctx context.Context, tx *Tx, id uuid.UUID, v Values) (bool, error) {
	cur, err := tx.Scope.Flows().Get(ctx, id)
	if err != nil {
		return false, err
	}
	next := *cur
	if err := applyFlow(&next, v); err != nil {
		return false, err
	}
	next.Normalize()
	if next == *cur {
		return false, nil
	}
	_, err = tx.Scope.Flows().Update(ctx, id, func(f *store.Flow) error { return applyFlow(f, v) })
	return err == nil, err
}

func (flowModel) Delete(ctx context.Context, tx *Tx, id uuid.UUID) error {
	return tx.Scope.Flows().Delete(ctx, id)
}

func (flowModel) Exists(ctx context.Context, tx *Tx, id uuid.UUID) (bool, error) {
	_, ok, err := found(tx.Scope.Flows().Get(ctx, id))
	return ok, err
}

// stageBindingModel is authentik_flows.flowstagebinding.
type stageBindingModel struct{}

var stageBindingFields = []string{"target", "stage", "order", "evaluate_on_plan", "re_evaluate_policies",
	"policy_engine_mode", "invalid_response_action"}

func stageBindingValues(b *store.FlowStageBinding) map[string]any {
	return map[string]any{"pk": b.ID, "target": b.FlowID, "stage": b.StageID, "order": b.Order,
		"evaluate_on_plan": b.EvaluateOnPlan, "re_evaluate_policies": b.ReEvaluatePolicies,
		"policy_engine_mode": b.PolicyEngineMode, "invalid_response_action": b.InvalidResponseAction}
}

func (stageBindingModel) Find(ctx context.Context, tx *Tx, by Values) (uuid.UUID, bool, error) {
	if err := by.Check(append([]string{"pk"}, stageBindingFields...)...); err != nil {
		return uuid.Nil, false, err
	}
	bindings := tx.Scope.FlowStageBindings()
	cands, err := candidates(by, "flow stage bindings are looked up by target (with stage and order) or pk",
		func(id uuid.UUID) (*store.FlowStageBinding, error) { return bindings.Get(ctx, id) },
		func(flow uuid.UUID) ([]*store.FlowStageBinding, error) { return bindings.ListForFlow(ctx, flow) })
	if err != nil || len(cands) == 0 {
		return uuid.Nil, false, err
	}
	return onlyMatch(by, cands, stageBindingValues, "flow stage bindings")
}

// candidates loads the bindings a lookup may mean: the one with its pk, or
// those of its target. A null pk or target (a !Find that matched nothing)
// finds nothing.
func candidates[T any](by Values, usage string, get func(uuid.UUID) (*T, error),
	list func(uuid.UUID) ([]*T, error)) ([]*T, error) {
	key := "target"
	if _, has := by["pk"]; has {
		key = "pk"
	} else if _, has := by["target"]; !has {
		return nil, errors.New(usage)
	}
	id, valid, err := lookupID(by, key)
	if !valid {
		return nil, err
	}
	if key == "target" {
		return list(id)
	}
	one, ok, err := found(get(id))
	if !ok {
		return nil, err
	}
	return []*T{one}, nil
}

// onlyMatch returns the one candidate whose values match by; several are
// an error, since the entry would not say which one it means.
func onlyMatch[T any](by Values, cands []*T, values func(*T) map[string]any, what string) (uuid.UUID, bool, error) {
	var hit uuid.UUID
	n := 0
	for _, c := range cands {
		have := values(c)
		if matchAll(by, have) {
			hit = have["pk"].(uuid.UUID)
			n++
		}
	}
	switch {
	case n > 1:
		return uuid.Nil, false, fmt.Errorf("the identifiers match %d %s; add order to tell them apart", n, what)
	case n == 0:
		return uuid.Nil, false, nil
	}
	return hit, true, nil
}

func applyStageBinding(b *store.FlowStageBinding, v Values) error {
	if err := v.Check(stageBindingFields...); err != nil {
		return err
	}
	fl := fields{v: v}
	fl.id("target", &b.FlowID)
	fl.id("stage", &b.StageID)
	fl.integer("order", &b.Order)
	fl.boolean("evaluate_on_plan", &b.EvaluateOnPlan)
	fl.boolean("re_evaluate_policies", &b.ReEvaluatePolicies)
	fl.str("policy_engine_mode", &b.PolicyEngineMode)
	fl.str("invalid_response_action", &b.InvalidResponseAction)
	if b.PolicyEngineMode == "" {
		b.PolicyEngineMode = "any"
	}
	if b.InvalidResponseAction == "" {
		b.InvalidResponseAction = "retry"
	}
	return fl.err()
}

// checkStageBinding gives a clear error for a flow or stage that is not
// in this tenant, instead of a foreign-key failure.
func checkStageBinding(ctx context.Context, tx *Tx, b *store.FlowStageBinding) error {
	if b.FlowID != uuid.Nil {
		if _, ok, err := found(tx.Scope.Flows().Get(ctx, b.FlowID)); !ok {
			return errors.Join(err, notFoundField("target", "flow", b.FlowID))
		}
	}
	if b.StageID != uuid.Nil {
		if _, ok, err := found(tx.Scope.Stages().Get(ctx, b.StageID)); !ok {
			return errors.Join(err, notFoundField("stage", "stage", b.StageID))
		}
	}
	return b.Validate()
}

func (stageBindingModel) Create(ctx context.Context, tx *Tx, v Values) (uuid.UUID, error) {
	b := NewStageBinding()
	if _, ok := v["order"]; !ok {
		return uuid.Nil, store.Invalid("order", "is required")
	}
	if err := applyStageBinding(b, v); err != nil {
		return uuid.Nil, err
	}
	if err := checkStageBinding(ctx, tx, b); err != nil {
		return uuid.Nil, err
	}
	err := tx.Scope.FlowStageBindings().Create(ctx, b)
	return b.ID, err
}

func (stageBindingModel) Update(ctx context.Context, tx *Tx, id uuid.UUID, v Values) (bool, error) {
	cur, err := tx.Scope.FlowStageBindings().Get(ctx, id)
	if err != nil {
		return false, err
	}
	next := *cur
	if err := applyStageBinding(&next, v); err != nil {
		return false, err
	}
	if next == *cur {
		return false, nil
	}
	if err := checkStageBinding(ctx, tx, &next); err != nil {
		return false, err
	}
	_, err = tx.Scope.FlowStageBindings().Update(ctx, id, func(b *store.FlowStageBinding) error {
		return applyStageBinding(b, v)
	})
	return err == nil, err
}

func (stageBindingModel) Delete(ctx context.Context, tx *Tx, id uuid.UUID) error {
	return tx.Scope.FlowStageBindings().Delete(ctx, id)
}

func (stageBindingModel) Exists(ctx context.Context, tx *Tx, id uuid.UUID) (bool, error) {
	_, ok, err := found(tx.Scope.FlowStageBindings().Get(ctx, id))
	return ok, err
}

// policyBindingModel is authentik_policies.policybinding.
type policyBindingModel struct{}

var policyBindingFields = []string{"target", "policy", "group", "user", "order", "enabled", "negate", "timeout",
	"failure_result"}

func policyBindingValues(b *store.PolicyBinding) map[string]any {
	opt := func(id uuid.NullUUID) any {
		if id.Valid {
			return id.UUID
		}
		return nil
	}
	return map[string]any{"pk": b.ID, "target": b.TargetID, "policy": opt(b.PolicyID), "group": opt(b.GroupID),
		"user": opt(b.UserID), "order": b.Order, "enabled": b.Enabled, "negate": b.Negate,
		"timeout": int(b.Timeout / time.Second), "failure_result": b.FailureResult}
}

func (policyBindingModel) Find(ctx context.Context, tx *Tx, by Values) (uuid.UUID, bool, error) {
	if err := by.Check(append([]string{"pk"}, policyBindingFields...)...); err != nil {
		return uuid.Nil, false, err
	}
	bindings := tx.Scope.PolicyBindings()
	cands, err := candidates(by, "policy bindings are looked up by target (with policy, group or user, and order) or pk",
		func(id uuid.UUID) (*store.PolicyBinding, error) { return bindings.Get(ctx, id) },
		func(target uuid.UUID) ([]*store.PolicyBinding, error) { return bindings.ListForTargets(ctx, target) })
	if err != nil || len(cands) == 0 {
		return uuid.Nil, false, err
	}
	return onlyMatch(by, cands, policyBindingValues, "policy bindings")
}

func applyPolicyBinding(b *store.PolicyBinding, v Values) error {
	if err := v.Check(policyBindingFields...); err != nil {
		return err
	}
	fl := fields{v: v}
	fl.id("target", &b.TargetID)
	fl.ref("policy", &b.PolicyID)
	fl.ref("group", &b.GroupID)
	fl.ref("user", &b.UserID)
	fl.integer("order", &b.Order)
	fl.boolean("enabled", &b.Enabled)
	fl.boolean("negate", &b.Negate)
	fl.boolean("failure_result", &b.FailureResult)
	if _, ok := v["timeout"]; ok {
		secs := 0
		fl.integer("timeout", &secs)
		b.Timeout = time.Duration(secs) * time.Second
	}
	return fl.err()
}

// checkPolicyBinding resolves the target among the models that accept
// policy bindings and checks the bound policy, group or user exists here.
func checkPolicyBinding(ctx context.Context, tx *Tx, b *store.PolicyBinding) error {
	if err := b.Validate(); err != nil {
		return err
	}
	ok := false
	for _, t := range tx.models().policyTargets() {
		exists, err := t.Exists(ctx, tx, b.TargetID)
		if err != nil {
			return err
		}
		if ok = exists; ok {
			break
		}
	}
	if !ok {
		return store.Invalid("target", "no flow, flow stage binding or application with ID %s exists", b.TargetID)
	}
	var err error
	switch {
	case b.PolicyID.Valid:
		_, ok, err = found(tx.Scope.Policies().Get(ctx, b.PolicyID.UUID))
		if !ok && err == nil {
			err = notFoundField("policy", "policy", b.PolicyID.UUID)
		}
	case b.GroupID.Valid:
		_, ok, err = found(tx.Scope.Groups().Get(ctx, b.GroupID.UUID))
		if !ok && err == nil {
			err = notFoundField("group", "group", b.GroupID.UUID)
		}
	case b.UserID.Valid:
		_, ok, err = found(tx.Scope.Users().Get(ctx, b.UserID.UUID))
		if !ok && err == nil {
			err = notFoundField("user", "user", b.UserID.UUID)
		}
	}
	return err
}

func (policyBindingModel) Create(ctx context.Context, tx *Tx, v Values) (uuid.UUID, error) {
	b := NewPolicyBinding()
	if err := applyPolicyBinding(b, v); err != nil {
		return uuid.Nil, err
	}
	if err := checkPolicyBinding(ctx, tx, b); err != nil {
		return uuid.Nil, err
	}
	err := tx.Scope.PolicyBindings().Create(ctx, b)
	return b.ID, err
}

func (policyBindingModel) Update(ctx context.Context, tx *Tx, id uuid.UUID, v Values) (bool, error) {
	cur, err := tx.Scope.PolicyBindings().Get(ctx, id)
	if err != nil {
		return false, err
	}
	next := *cur
	if err := applyPolicyBinding(&next, v); err != nil {
		return false, err
	}
	if next == *cur {
		return false, nil
	}
	if err := checkPolicyBinding(ctx, tx, &next); err != nil {
		return false, err
	}
	_, err = tx.Scope.PolicyBindings().Update(ctx, id, func(b *store.PolicyBinding) error {
		return applyPolicyBinding(b, v)
	})
	return err == nil, err
}

func (policyBindingModel) Delete(ctx context.Context, tx *Tx, id uuid.UUID) error {
	return tx.Scope.PolicyBindings().Delete(ctx, id)
}
