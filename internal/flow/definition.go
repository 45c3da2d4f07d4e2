package flow

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// definition is a flow with everything needed to plan and run it, loaded in
// five queries and cached briefly: every step of every login reads it, and
// admins change it rarely (their edits reach Invalidate on every replica
// through internal/invalidate).
type definition struct {
	flow     *store.Flow
	bindings []*store.FlowStageBinding
	stages   map[uuid.UUID]*store.Object
	// byTarget holds the policy bindings of the flow and of each stage binding.
	byTarget map[uuid.UUID][]*store.PolicyBinding
	policies map[uuid.UUID]*store.Object
	loaded   time.Time

	mu    sync.Mutex
	built map[uuid.UUID]Stage
}

type defKey struct {
	tenant uuid.UUID
	slug   string
}

func (e *Executor) definition(ctx context.Context, sc store.Scope, slug string) (*definition, error) {
	k := defKey{sc.TenantID(), slug}
	e.mu.Lock()
	d := e.cache[k]
	e.mu.Unlock()
	if d != nil && e.env.Now().Sub(d.loaded) < e.ttl {
		return d, nil
	}
	d, err := loadDefinition(ctx, sc, slug)
	if err != nil {
		return nil, err
	}
	d.loaded = e.env.Now()
	e.mu.Lock()
	if len(e.cache) > 10_000 { // slugs come from URLs; bound the map
		clear(e.cache)
	}
	e.cache[k] = d
	e.mu.Unlock()
	return d, nil
}

func loadDefinition(ctx context.Context, sc store.Scope, slug string) (*definition, error) {
	f, err := sc.Flows().GetBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	binds, err := sc.FlowStageBindings().ListForFlow(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	d := &definition{flow: f, bindings: binds, stages: map[uuid.UUID]*store.Object{},
		byTarget: map[uuid.UUID][]*store.PolicyBinding{}, policies: map[uuid.UUID]*store.Object{}, built: map[uuid.UUID]Stage{}}
	stageIDs := make([]uuid.UUID, 0, len(binds))
	targets := []uuid.UUID{f.ID}
	for _, b := range binds {
		stageIDs = append(stageIDs, b.StageID)
		targets = append(targets, b.ID)
	}
	stages, err := sc.Stages().GetMany(ctx, stageIDs)
	if err != nil {
		return nil, err
	}
	for _, s := range stages {
		d.stages[s.ID] = s
	}
	pbs, err := sc.PolicyBindings().ListForTargets(ctx, targets...)
	if err != nil {
		return nil, err
	}
	var policyIDs []uuid.UUID
	for _, pb := range pbs {
		d.byTarget[pb.TargetID] = append(d.byTarget[pb.TargetID], pb)
		if pb.PolicyID.Valid {
			policyIDs = append(policyIDs, pb.PolicyID.UUID)
		}
	}
	pols, err := sc.Policies().GetMany(ctx, policyIDs)
	if err != nil {
		return nil, err
	}
	for _, p := range pols {
		d.policies[p.ID] = p
	}
	return d, nil
}

func (d *definition) flowBindings() []*store.PolicyBinding { return d.byTarget[d.flow.ID] }

func (d *definition) binding(id uuid.UUID) *store.FlowStageBinding {
	for _, b := range d.bindings {
		if b.ID == id {
			return b
		}
	}
	return nil
}

// policiesFor returns a stage binding's policy bindings. A plan restored
// from a link may name a binding the cached definition no longer has;
// then the store is asked directly.
func (d *definition) policiesFor(ctx context.Context, sc store.Scope, target uuid.UUID) ([]*store.PolicyBinding, map[uuid.UUID]*store.Object, error) {
	if d.binding(target) != nil {
		return d.byTarget[target], d.policies, nil
	}
	binds, err := sc.PolicyBindings().ListForTargets(ctx, target)
	if err != nil {
		return nil, nil, err
	}
	pols := map[uuid.UUID]*store.Object{}
	var ids []uuid.UUID
	for _, b := range binds {
		if b.PolicyID.Valid {
			ids = append(ids, b.PolicyID.UUID)
		}
	}
	ps, err := sc.Policies().GetMany(ctx, ids)
	for _, p := range ps {
		pols[p.ID] = p
	}
	return binds, pols, err
}

// stage builds (once per definition) the stage with id.
func (d *definition) stage(id uuid.UUID, factories map[string]Factory) (Stage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.built[id]; ok {
		return s, nil
	}
	obj, ok := d.stages[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	f, ok := factories[obj.Kind]
	if !ok {
		return nil, store.Invalid("kind", "unknown stage kind %q", obj.Kind)
	}
	s, err := f(obj.Config)
	if err != nil {
		return nil, err
	}
	d.built[id] = s
	return s, nil
}
