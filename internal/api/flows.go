package api

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Flows and their stage bindings at Authentik's paths. Requests are mapped
// onto the store by the blueprint models' own functions (blueprint.Apply*,
// Check*), so a flow means the same from YAML and from JSON.

// Flow is Authentik's FlowSerializer without the computed fields (stages,
// policies, cache_count, export_url).
type Flow struct {
	PK               uuid.UUID `json:"pk"`
	Slug             string    `json:"slug"`
	Name             string    `json:"name"`
	Title            string    `json:"title" doc:"shown above the flow; defaults to the name"`
	Designation      string    `json:"designation" enum:"authentication,authorization,invalidation,enrollment,unenrollment,recovery,stage_configuration"`
	Authentication   string    `json:"authentication" enum:"none,require_authenticated,require_unauthenticated,require_superuser,require_redirect,require_outpost"`
	DeniedAction     string    `json:"denied_action" enum:"message_continue,message,continue"`
	Layout           string    `json:"layout" enum:"stacked,content_left,content_right,sidebar_left,sidebar_right,sidebar_left_frame_background,sidebar_right_frame_background"`
	Background       string    `json:"background"`
	PolicyEngineMode string    `json:"policy_engine_mode" enum:"any,all"`
	version          int64
}

func (f Flow) Meta() Meta { return Meta{ID: f.PK, Name: f.Slug, Version: f.version} }

type FlowRequest struct {
	Slug             *string `json:"slug,omitempty"`
	Name             *string `json:"name,omitempty"`
	Title            *string `json:"title,omitempty"`
	Designation      *string `json:"designation,omitempty" enum:"authentication,authorization,invalidation,enrollment,unenrollment,recovery,stage_configuration"`
	Authentication   *string `json:"authentication,omitempty" enum:"none,require_authenticated,require_unauthenticated,require_superuser,require_redirect,require_outpost"`
	DeniedAction     *string `json:"denied_action,omitempty" enum:"message_continue,message,continue"`
	Layout           *string `json:"layout,omitempty" enum:"stacked,content_left,content_right,sidebar_left,sidebar_right,sidebar_left_frame_background,sidebar_right_frame_background"`
	Background       *string `json:"background,omitempty"`
	PolicyEngineMode *string `json:"policy_engine_mode,omitempty" enum:"any,all"`
}

func flowOut(f *store.Flow) Flow {
	return Flow{PK: f.ID, Slug: f.Slug, Name: f.Name, Title: f.Title, Designation: f.Designation,
		Authentication: f.Authentication, DeniedAction: f.DeniedAction, Layout: f.Layout, Background: f.Background,
		PolicyEngineMode: f.PolicyEngineMode, version: f.Version}
}

// FlowStageBinding places a stage in a flow (Authentik's
// FlowStageBindingSerializer without stage_obj).
type FlowStageBinding struct {
	PK                    uuid.UUID `json:"pk"`
	Target                uuid.UUID `json:"target" doc:"the flow"`
	Stage                 uuid.UUID `json:"stage"`
	Order                 int       `json:"order"`
	EvaluateOnPlan        bool      `json:"evaluate_on_plan" doc:"evaluate the binding's policies when the flow is planned"`
	ReEvaluatePolicies    bool      `json:"re_evaluate_policies" doc:"evaluate them again when the stage is reached"`
	PolicyEngineMode      string    `json:"policy_engine_mode" enum:"any,all"`
	InvalidResponseAction string    `json:"invalid_response_action" enum:"retry,restart,restart_with_context"`
	version               int64
}

func (b FlowStageBinding) Meta() Meta { return Meta{ID: b.PK, Version: b.version} }

type FlowStageBindingRequest struct {
	Target                *uuid.UUID `json:"target,omitempty"`
	Stage                 *uuid.UUID `json:"stage,omitempty"`
	Order                 *int       `json:"order,omitempty"`
	EvaluateOnPlan        *bool      `json:"evaluate_on_plan,omitempty"`
	ReEvaluatePolicies    *bool      `json:"re_evaluate_policies,omitempty"`
	PolicyEngineMode      *string    `json:"policy_engine_mode,omitempty" enum:"any,all"`
	InvalidResponseAction *string    `json:"invalid_response_action,omitempty" enum:"retry,restart,restart_with_context"`
}

func stageBindingOut(b *store.FlowStageBinding) FlowStageBinding {
	return FlowStageBinding{PK: b.ID, Target: b.FlowID, Stage: b.StageID, Order: b.Order, EvaluateOnPlan: b.EvaluateOnPlan,
		ReEvaluatePolicies: b.ReEvaluatePolicies, PolicyEngineMode: b.PolicyEngineMode,
		InvalidResponseAction: b.InvalidResponseAction, version: b.Version}
}

// values returns the fields a request gave (its pointer fields are
// omitempty) as blueprint values, for the blueprint models' mapping.
func values(in any) (blueprint.Values, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	v := blueprint.Values{}
	return v, json.Unmarshal(raw, &v)
}

// filterID reads a list filter that names an object.
func filterID(q Query, name string, required bool) (uuid.UUID, error) {
	s, ok := q.Filters[name]
	if !ok {
		if required {
			return uuid.Nil, store.Invalid(name, "this filter is required")
		}
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, store.Invalid(name, "must be an ID")
	}
	return id, nil
}

// pageOf orders a list the store returned whole by order (-order for
// descending) and cuts the requested page from it.
func pageOf[T any](items []T, q Query, order func(T) int) []T {
	sign := 1
	if q.Ordering == "-order" {
		sign = -1
	}
	slices.SortStableFunc(items, func(a, b T) int { return sign * (order(a) - order(b)) })
	p := q.Page.Normalize()
	lo := min(p.Offset(), len(items))
	return items[lo:min(lo+p.Size, len(items))]
}

// orderConflict names a duplicate binding's field as the API calls it:
// the store's column is "position".
func orderConflict(err error) error {
	var ce *store.ConflictError
	if errors.As(err, &ce) && ce.Field == "position" {
		return &store.ConflictError{Field: "order"}
	}
	return err
}

func (a *API) registerFlows() {
	Register(a, Resource[Flow, FlowRequest]{
		Path: "flows/instances/", Tag: "flows", Model: "authentik_flows.flow",
		Required: []string{"slug", "name", "designation"},
		Filters: []Param{{Name: "designation", Enum: []string{store.DesignationAuthentication, store.DesignationAuthorization,
			store.DesignationInvalidation, store.DesignationEnrollment, store.DesignationUnenrollment, store.DesignationRecovery,
			store.DesignationStageConfiguration}}},
		Ordering: []string{"slug", "name", "designation"},
		// Authentik addresses flows by slug: /flows/instances/<slug>/.
		Key: func(ctx context.Context, c *Caller, slug string) (uuid.UUID, error) {
			f, err := c.Scope.Flows().GetBySlug(ctx, slug)
			if err != nil {
				return uuid.Nil, err
			}
			return f.ID, nil
		},
		KeyName: "slug",
		List: func(ctx context.Context, c *Caller, q Query) ([]Flow, int, error) {
			fs, total, err := c.Scope.Flows().List(ctx, store.FlowQuery{Designation: q.Filters["designation"], Search: q.Search,
				Ordering: q.Ordering, Page: q.Page})
			out := make([]Flow, len(fs))
			for i, f := range fs {
				out[i] = flowOut(f)
			}
			return out, total, err
		},
		Get: func(ctx context.Context, c *Caller, id uuid.UUID) (Flow, error) {
			f, err := c.Scope.Flows().Get(ctx, id)
			if err != nil {
				return Flow{}, err
			}
			return flowOut(f), nil
		},
		Create: func(ctx context.Context, c *Caller, in *FlowRequest) (Flow, error) {
			v, err := values(in)
			if err != nil {
				return Flow{}, err
			}
			f := &store.Flow{}
			if err := blueprint.ApplyFlow(f, v); err != nil {
				return Flow{}, err
			}
			if err := c.Scope.Flows().Create(ctx, f); err != nil {
				return Flow{}, err
			}
			return flowOut(f), nil
		},
		Update: func(ctx context.Context, c *Caller, id uuid.UUID, version int64, in *FlowRequest) (Flow, error) {
			v, err := values(in)
			if err != nil {
				return Flow{}, err
			}
			f, err := c.Scope.Flows().Update(ctx, id, func(f *store.Flow) error {
				if err := checkVersion(version, f.Version); err != nil {
					return err
				}
				return blueprint.ApplyFlow(f, v)
			})
			if err != nil {
				return Flow{}, err
			}
			return flowOut(f), nil
		},
		Delete: func(ctx context.Context, c *Caller, id uuid.UUID) error { return c.Scope.Flows().Delete(ctx, id) },
	})
}

func (a *API) registerStageBindings() {
	Register(a, Resource[FlowStageBinding, FlowStageBindingRequest]{
		Path: "flows/bindings/", Tag: "flows", Model: "authentik_flows.flowstagebinding",
		Required: []string{"target", "stage", "order"}, Ordering: []string{"order"},
		Filters: []Param{{Name: "target", Description: "the flow's ID"}},
		List: func(ctx context.Context, c *Caller, q Query) ([]FlowStageBinding, int, error) {
			target, err := filterID(q, "target", false)
			if err != nil {
				return nil, 0, err
			}
			if target == uuid.Nil {
				// Every flow's bindings: one query, ordered and paged by the store.
				bs, total, err := c.Scope.FlowStageBindings().List(ctx, store.FlowStageBindingQuery{Ordering: q.Ordering, Page: q.Page})
				if err != nil {
					return nil, 0, err
				}
				out := make([]FlowStageBinding, len(bs))
				for i, b := range bs {
					out[i] = stageBindingOut(b)
				}
				return out, total, nil
			}
			bs, err := c.Scope.FlowStageBindings().ListForFlow(ctx, target)
			if err != nil {
				return nil, 0, err
			}
			out := make([]FlowStageBinding, len(bs))
			for i, b := range bs {
				out[i] = stageBindingOut(b)
			}
			return pageOf(out, q, func(b FlowStageBinding) int { return b.Order }), len(out), nil
		},
		Get: func(ctx context.Context, c *Caller, id uuid.UUID) (FlowStageBinding, error) {
			b, err := c.Scope.FlowStageBindings().Get(ctx, id)
			if err != nil {
				return FlowStageBinding{}, err
			}
			return stageBindingOut(b), nil
		},
		Create: func(ctx context.Context, c *Caller, in *FlowStageBindingRequest) (FlowStageBinding, error) {
			v, err := values(in)
			if err != nil {
				return FlowStageBinding{}, err
			}
			b := blueprint.NewStageBinding()
			if err := blueprint.ApplyStageBinding(b, v); err != nil {
				return FlowStageBinding{}, err
			}
			if err := blueprint.CheckStageBinding(ctx, c.Scope, b); err != nil {
				return FlowStageBinding{}, err
			}
			if err := c.Scope.FlowStageBindings().Create(ctx, b); err != nil {
				return FlowStageBinding{}, orderConflict(err)
			}
			return stageBindingOut(b), nil
		},
		Update: func(ctx context.Context, c *Caller, id uuid.UUID, version int64, in *FlowStageBindingRequest) (FlowStageBinding, error) {
			v, err := values(in)
			if err != nil {
				return FlowStageBinding{}, err
			}
			b, err := c.Scope.FlowStageBindings().Update(ctx, id, func(b *store.FlowStageBinding) error {
				if err := checkVersion(version, b.Version); err != nil {
					return err
				}
				if err := blueprint.ApplyStageBinding(b, v); err != nil {
					return err
				}
				return blueprint.CheckStageBinding(ctx, c.Scope, b)
			})
			if err != nil {
				return FlowStageBinding{}, orderConflict(err)
			}
			return stageBindingOut(b), nil
		},
		Delete: func(ctx context.Context, c *Caller, id uuid.UUID) error {
			return c.Scope.FlowStageBindings().Delete(ctx, id)
		},
	})
}
